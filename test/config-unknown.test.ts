// Variables that look like ours but are not: reported with the name they most
// likely meant, fatal with STRICT_CONFIG (on by default in production).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkUnknownVariables, ConfigError, loadConfig, SCHEMA, UnknownVariableError } from '../src/config';
import { editDistance, ourPrefixes, PLATFORM_NAMES, PLATFORM_PREFIXES, unknownVariables } from '../src/config/unknown';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };

function guesses(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(unknownVariables(env).map((u) => [u.variable, u.didYouMean]));
}

t.test('near misses name the variable they most likely meant', async (t) => {
  t.same(
    guesses({
      ALLOWED_ORIGIN: 'http://localhost:5173',
      AZURE_SPEECH_KY: 'secret-key-value',
      WORKER: '2',
      MAX_CONECTIONS: '50',
      UPGRADE_RATE_LIMIT_MAX_REQEUSTS: '5',
      port: '9000',
      Allowed_Origins: 'https://a.example',
      FOUNDRY_API_KY: 'k',
      SIMULATOR_PROT: '1',
    }),
    {
      ALLOWED_ORIGIN: 'ALLOWED_ORIGINS',
      AZURE_SPEECH_KY: 'AZURE_SPEECH_KEY',
      WORKER: 'WORKERS',
      MAX_CONECTIONS: 'MAX_CONNECTIONS',
      UPGRADE_RATE_LIMIT_MAX_REQEUSTS: 'UPGRADE_RATE_LIMIT_MAX_REQUESTS',
      port: 'PORT',
      Allowed_Origins: 'ALLOWED_ORIGINS',
      FOUNDRY_API_KY: 'FOUNDRY_API_KEY',
      SIMULATOR_PROT: 'SIMULATOR_PORT',
    },
  );
});

t.test('names under our prefixes are reported with the nearest name under the same prefix', async (t) => {
  t.same(
    guesses({
      AZURE_VOICE_LIVE_KEY: 'k',
      AZURE_SPEECH_REGION: 'westeurope',
      RATE_LIMIT_BURST: '10',
      FLEET_REDIS_URL: 'redis://x',
      TICKET_TTL_S: '60',
      TOKEN_ISSUERS_URL: 'x',
      LOG_FORMAT: 'pretty',
    }),
    {
      AZURE_VOICE_LIVE_KEY: 'AZURE_VOICE_LIVE_ENDPOINT',
      AZURE_SPEECH_REGION: 'AZURE_SPEECH_KEY',
      RATE_LIMIT_BURST: 'RATE_LIMIT_MAX_KEYS',
      FLEET_REDIS_URL: 'REDIS_URL',
      TICKET_TTL_S: 'TICKET_MAX_TTL_S',
      TOKEN_ISSUERS_URL: 'TOKEN_ISSUER',
      LOG_FORMAT: 'LOG_PRETTY',
    },
  );
});

t.test('the prefixes come from the schema: words two or more names share', async (t) => {
  const prefixes = ourPrefixes();
  for (const p of ['AZURE_', 'RATE_LIMIT_', 'UPGRADE_RATE_LIMIT_', 'MAX_', 'FLEET_', 'TICKET_', 'TOKEN_', 'FOUNDRY_'])
    t.ok(prefixes.includes(p), `${p} is ours`);
  for (const p of ['REDIS_', 'METRICS_', 'API_', 'DEFAULT_']) t.notOk(prefixes.includes(p), `${p} (one name) is not`);
  t.same(ourPrefixes(['A_B_C', 'A_B_D', 'A_E', 'F_G']).sort(), ['A_', 'A_B_']);
});

t.test('what the platform, Node, npm and Azure libraries set is never reported', async (t) => {
  const platform: Record<string, string> = {
    // A node image, a shell, `npm start`
    PATH: '/usr/bin',
    HOME: '/home/node',
    HOSTNAME: 'abc123',
    TERM: 'xterm',
    LANG: 'C.UTF-8',
    PWD: '/app',
    SHLVL: '1',
    DEBUG: '',
    NODE_ENV: 'production',
    NODE_OPTIONS: '--max-semi-space-size=2',
    NODE_VERSION: '22.11.0',
    YARN_VERSION: '1.22.22',
    npm_lifecycle_event: 'start',
    npm_package_version: '1.0.0',
    npm_config_cache: '/root/.npm',
    // @azure/identity: workload identity, service principal, managed identity
    AZURE_CLIENT_ID: 'id',
    AZURE_CLIENT_SECRET: 's',
    AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem',
    AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
    AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
    AZURE_TENANT_ID: 't',
    AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential',
    AZURE_LOG_LEVEL: 'warning',
    IDENTITY_ENDPOINT: 'http://localhost:42356/msi/token',
    IDENTITY_HEADER: 'h',
    MSI_ENDPOINT: 'http://x',
    // Container Apps, App Service, Kubernetes service links, telemetry
    CONTAINER_APP_NAME: 'voice',
    CONTAINER_APP_REVISION: 'voice--1',
    CONTAINER_APP_PORT: '8080',
    WEBSITE_SITE_NAME: 'voice',
    APPSETTING_PORT: '8080',
    KUBERNETES_SERVICE_HOST: '10.0.0.1',
    KUBERNETES_PORT_443_TCP_ADDR: '10.0.0.1',
    REDIS_SERVICE_HOST: '10.0.0.2',
    REDIS_PORT: 'tcp://10.0.0.2:6379',
    REDIS_PORT_6379_TCP: 'tcp://10.0.0.2:6379',
    MAX_SERVICE_HOST: '10.0.0.3',
    FLEET_PORT_80_TCP_PROTO: 'tcp',
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
    OTEL_SERVICE_NAME: 'voice-live-proxy',
  };
  for (const name of PLATFORM_NAMES) platform[name] = 'x';
  t.same(unknownVariables(platform), []);
});

t.test('every variable of ours is known, and the check never holds a value', async (t) => {
  const env: Record<string, string> = {};
  for (const s of SCHEMA) {
    env[s.name] = 'v';
    if (s.alias !== undefined) env[s.alias] = 'v';
  }
  t.same(unknownVariables(env), []);
  const found = unknownVariables({ AZURE_SPEECH_KY: 'the-secret-key' });
  t.notMatch(JSON.stringify(found), /the-secret-key/, 'the value is not kept');
});

t.test('edit distance counts a swap of neighbours as one', async (t) => {
  t.equal(editDistance('PORT', 'PORT'), 0);
  t.equal(editDistance('PROT', 'PORT'), 1);
  t.equal(editDistance('ALLOWED_ORIGIN', 'ALLOWED_ORIGINS'), 1);
  t.equal(editDistance('ALLOW_ORIGINS', 'ALLOWED_ORIGINS'), 2);
  t.equal(editDistance('', 'ABC'), 3);
  t.equal(editDistance('SOME_OTHER_THING', 'UPGRADE_RATE_LIMIT', 2), 3, 'beyond the bound: bound + 1');
  t.equal(editDistance('ALLOW_ORIGINS', 'ALLOWED_ORIGINS', 2), 2, 'within the bound: exact');
  t.equal(editDistance('ABCD', 'BADC', 2), 2, 'two swaps');
  t.same(guesses({ HOME: '/root', HOTS: 'x' }), { HOTS: 'HOST' }, 'short names: one edit, not two');
  t.same(guesses({ ALLOW_ORIGINS: 'x' }), { ALLOW_ORIGINS: 'ALLOWED_ORIGINS' }, 'long names: two edits');
});

t.test('STRICT_CONFIG: on in production by default, either way when set', async (t) => {
  t.equal(loadConfig(BASE).strictConfig, false, 'off by default');
  t.equal(loadConfig({ ...BASE, NODE_ENV: 'production' }).strictConfig, true, 'on with NODE_ENV=production');
  t.equal(loadConfig({ ...BASE, NODE_ENV: 'development' }).strictConfig, false);
  t.equal(loadConfig({ ...BASE, NODE_ENV: 'production', STRICT_CONFIG: 'false' }).strictConfig, false);
  t.equal(loadConfig({ ...BASE, STRICT_CONFIG: 'true' }).strictConfig, true);
  t.throws(() => loadConfig({ ...BASE, STRICT_CONFIG: 'maybe' }), /^STRICT_CONFIG: expected true or false/);
});

t.test('strict: one start-up error naming every variable and its likely name, no value', async (t) => {
  const env = { ...BASE, ALLOWED_ORIGIN: 'http://localhost:5173', AZURE_SPEECH_KY: 'the-secret-key' };
  t.equal(checkUnknownVariables(env, false).length, 2, 'not strict: returned, to be logged');
  let err: unknown;
  try {
    checkUnknownVariables(env, true);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof UnknownVariableError && err instanceof ConfigError, 'a ConfigError: exit 1 like the others');
  const e = err as UnknownVariableError;
  t.equal(e.variable, 'ALLOWED_ORIGIN');
  t.equal(
    e.message,
    'ALLOWED_ORIGIN (did you mean ALLOWED_ORIGINS?), AZURE_SPEECH_KY (did you mean AZURE_SPEECH_KEY?): ' +
      'not variables voice-live-proxy reads. Rename or remove; STRICT_CONFIG=false starts anyway, with a warning',
  );
  t.notMatch(e.message, /the-secret-key|localhost:5173/);
  t.same(checkUnknownVariables(BASE, true), [], 'nothing unknown: nothing thrown');
});

t.test('docs/configuration.md names the prefixes and the platform names the code uses', async (t) => {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'configuration.md'), 'utf8');
  const section = doc.slice(doc.indexOf('**Unknown variables.**'), doc.indexOf('**Secrets**'));
  const all = ourPrefixes();
  const shortest = all.filter((p) => !all.some((q) => q !== p && p.startsWith(q)));
  const named = [...section.matchAll(/`([A-Za-z0-9]+_)`/g)].map((m) => m[1]);
  t.same(
    named.filter((n) => !PLATFORM_PREFIXES.includes(n)).sort(),
    [...shortest].sort(),
    'our prefixes, the shortest of each family',
  );
  for (const n of [...PLATFORM_NAMES, ...PLATFORM_PREFIXES]) t.ok(section.includes(`\`${n}\``), `${n} is listed`);
});
