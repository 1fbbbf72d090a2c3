// Placeholders from .env.example and the docs are refused, naming the
// variable: a copied template must not start against wss://your-resource-name...
import t from 'tap';
import { loadConfig, SCHEMA } from '../src/config';

t.test("every row's placeholder (`example`) is refused where it would be used", async (t) => {
  const rows = SCHEMA.filter((s) => s.example !== undefined);
  t.ok(rows.length > 0);
  for (const s of rows) {
    t.throws(
      () => loadConfig({ [s.name]: s.example }),
      {
        variable: s.name,
        message: new RegExp(`^${s.name}: expected your own value in place of .env.example's placeholder`),
      },
      s.name,
    );
  }
});

t.test('the resource placeholder: named through its alias too; harmless when the endpoint replaces it', async (t) => {
  t.throws(() => loadConfig({ FOUNDRY_RESOURCE_NAME: 'your-resource-name' }), {
    variable: 'FOUNDRY_RESOURCE_NAME',
    message: /^FOUNDRY_RESOURCE_NAME: expected your own value/,
  });
  const cfg = loadConfig({
    AZURE_AI_FOUNDRY_RESOURCE: 'your-resource-name',
    AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
  });
  t.equal(cfg.upstreamOrigin, 'ws://127.0.0.1:9', 'the demo and a custom domain still start from a copied .env');
  t.equal(
    loadConfig({ AZURE_AI_FOUNDRY_RESOURCE: 'your-resource' }).upstreamOrigin,
    'wss://your-resource.services.ai.azure.com',
  );
});

t.test('a <placeholder> copied from the docs is refused, naming the variable; a secret is not quoted', async (t) => {
  const base = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };
  t.throws(
    () =>
      loadConfig({
        ...base,
        CLIENT_AUTH: 'token',
        TOKEN_JWKS_URL: 'https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys',
        TOKEN_ISSUER: 'https://login.microsoftonline.com/abc/v2.0',
        TOKEN_AUDIENCE: 'https://ai.azure.com',
      }),
    {
      variable: 'TOKEN_JWKS_URL',
      message: /^TOKEN_JWKS_URL: expected a real value in place of the placeholder <tenant>/,
    },
  );
  let message = '';
  try {
    loadConfig({ ...base, REDIS_URL: 'rediss://:<access key>@cache-x.redis.cache.windows.net:6380' });
  } catch (e) {
    message = (e as Error).message;
  }
  t.match(
    message,
    /^REDIS_URL: expected a real value in place of a <placeholder> from the docs, got "\(value not shown\)"$/,
  );
  t.notMatch(message, /access key|cache-x/);
  t.equal(
    loadConfig({ ...base, TOKEN_AUDIENCE: 'a<b' }).tokenAudiences[0],
    'a<b',
    'a lone < is a value, not a placeholder',
  );
});
