// The listening line's account of the configuration: upstream credential
// mode, CLIENT_AUTH, origins, API version, workers; never a secret.
import t from 'tap';
import { loadConfig, startSummary } from '../src/config';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res', WORKERS: '1' };
const SECRET = 'k'.repeat(40);

t.test('the credential mode is the one the proxy uses for a session with no token of its own', async (t) => {
  t.equal(startSummary(loadConfig({ ...BASE, AZURE_SPEECH_KEY: SECRET })).upstreamCredential, 'key');
  t.equal(startSummary(loadConfig(BASE)).upstreamCredential, 'keyless');
  const token = loadConfig({
    ...BASE,
    AZURE_SPEECH_KEY: SECRET,
    CLIENT_AUTH: 'token',
    TOKEN_JWKS_URL: 'https://login.example/keys',
    TOKEN_ISSUER: 'https://login.example/',
    TOKEN_AUDIENCE: 'https://ai.azure.com',
  });
  t.equal(startSummary(token).upstreamCredential, 'client-token', 'CLIENT_AUTH=token: every session forwards its own');
});

t.test('every field, and no secret', async (t) => {
  const cfg = loadConfig({
    ...BASE,
    AZURE_SPEECH_KEY: SECRET,
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: 's'.repeat(48),
    METRICS_TOKEN: 'm'.repeat(40),
    REDIS_URL: 'redis://:hunter2hunter2@127.0.0.1:6379',
    ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    API_VERSION: '2025-10-01',
    WORKERS: '3',
  });
  const s = startSummary(cfg);
  t.same(s, {
    upstream: 'wss://my-res.services.ai.azure.com',
    upstreamCredential: 'key',
    clientAuth: 'ticket',
    allowedOrigins: 'https://a.example,https://b.example',
    apiVersion: '2025-10-01',
    workers: 3,
    maxConnections: 1000,
  });
  t.notMatch(JSON.stringify(s), /kkkk|ssss|mmmm|hunter2/);
  const any = loadConfig({
    ...BASE,
    ALLOWED_ORIGINS: '*,https://a.example',
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: 's'.repeat(48),
  });
  t.equal(startSummary(any).allowedOrigins, '*');
});
