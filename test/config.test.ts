import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, loadConfig, loadDemoConfig, loadSimulatorConfig, readEnv } from '../src/config';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };

t.test('defaults', async (t) => {
  const c = loadConfig(BASE);
  t.equal(c.port, 8080);
  t.equal(c.apiVersion, '2026-07-15');
  t.equal(c.upstreamOrigin, 'wss://my-res.services.ai.azure.com');
  t.equal(c.maxMessageBytes, 1024 * 1024);
  t.same(c.allowedOrigins, ['http://localhost:3000']);
  t.equal(c.allowNoOrigin, false);
  t.ok(c.workers >= 1, 'WORKERS defaults to one per core');
  t.ok(Object.isFrozen(c));
  t.ok(c.allowedApiVersions.includes('2025-10-01'));
});

t.test('AZURE_VOICE_LIVE_ENDPOINT overrides the host, https becomes wss', async (t) => {
  t.equal(
    loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'https://x.cognitiveservices.azure.com/' }).upstreamOrigin,
    'wss://x.cognitiveservices.azure.com',
  );
  t.equal(loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'http://127.0.0.1:9000' }).upstreamOrigin, 'ws://127.0.0.1:9000');
  t.equal(loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'wss://h.example' }).upstreamOrigin, 'wss://h.example');
});

t.test('values are parsed and validated', async (t) => {
  const c = loadConfig({
    ...BASE,
    ALLOWED_ORIGINS: 'https://a.example, *',
    ALLOW_ANONYMOUS_WILDCARD: 'true',
    ALLOW_NO_ORIGIN: 'yes',
    LOG_PRETTY: '0',
    API_VERSION: '2025-05-01-preview',
    ALLOWED_API_VERSIONS: '2025-10-01',
    WORKERS: '0',
    PENDING_MAX_BYTES: '1024',
    MAX_MESSAGE_BYTES: '4096',
  });
  t.equal(c.allowAnyOrigin, true);
  t.same(c.allowedOrigins, ['https://a.example']);
  t.equal(c.allowNoOrigin, true);
  t.equal(c.logPretty, false);
  t.same(c.allowedApiVersions, ['2025-05-01-preview', '2025-10-01'], 'API_VERSION is always allowed');
  t.ok(c.workers >= 1, 'WORKERS=0 means one per core');
  t.equal(c.pendingMaxBytes, 4096, 'the pending budget always fits one maximal message');
});

t.test('every error names its variable', async (t) => {
  const bad: Array<[Record<string, string>, string]> = [
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ ALLOW_NO_ORIGIN: 'maybe' }, 'ALLOW_NO_ORIGIN'],
    [{ AZURE_AI_FOUNDRY_RESOURCE: 'bad name!' }, 'AZURE_AI_FOUNDRY_RESOURCE'],
    [{ API_VERSION: 'latest' }, 'API_VERSION'],
    [{ ALLOWED_API_VERSIONS: 'x' }, 'ALLOWED_API_VERSIONS'],
    [{ ALLOWED_ORIGINS: 'ftp://a' }, 'ALLOWED_ORIGINS'],
    [{ ALLOWED_ORIGINS: 'not a url' }, 'ALLOWED_ORIGINS'],
    [{ ALLOWED_ORIGINS: 'https://a.example/path' }, 'ALLOWED_ORIGINS'],
    [{ AZURE_VOICE_LIVE_ENDPOINT: 'ftp://x' }, 'AZURE_VOICE_LIVE_ENDPOINT'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ MAX_MESSAGE_BYTES: '1' }, 'MAX_MESSAGE_BYTES'],
  ];
  for (const [env, name] of bad) {
    let caught: unknown;
    try {
      loadConfig({ ...BASE, ...env });
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof ConfigError, `${name}: a ConfigError`);
    t.equal((caught as ConfigError).variable, name);
    t.match((caught as ConfigError).message, new RegExp(`^${name}: expected `));
  }
  t.throws(() => loadConfig({}), { message: /^AZURE_AI_FOUNDRY_RESOURCE: expected / }, 'no upstream at all');
});

t.test('.env is read when present, and the real environment wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, '.env');
  writeFileSync(file, 'PORT=9000\nLOG_LEVEL=debug\n# comment\n');
  const env = readEnv(file, { LOG_LEVEL: 'warn' });
  t.equal(env.PORT, '9000');
  t.equal(env.LOG_LEVEL, 'warn');
  t.same(readEnv(join(dir, 'missing'), { A: '1' }), { A: '1' });
});

t.test('a rejected endpoint never echoes credentials or a query', async (t) => {
  let caught: unknown;
  try {
    loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'https://user:s3cret@host.example/?api-key=abc123' });
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof ConfigError);
  const msg = (caught as Error).message;
  t.notMatch(msg, /s3cret|abc123|user/);
  t.match(
    msg,
    /^AZURE_VOICE_LIVE_ENDPOINT: expected an origin .* got "https:\/\/host\.example\/ \(credentials\/query not shown\)"$/,
  );
});

t.test('the successor proxy names are aliases; both set and different refuses, naming both', async (t) => {
  const c = loadConfig({
    FOUNDRY_RESOURCE_NAME: 'their-res',
    FOUNDRY_API_KEY: 'k1',
    FOUNDRY_AGENT_NAME: 'bot',
    FOUNDRY_PROJECT_NAME: 'proj',
  });
  t.equal(c.upstreamOrigin, 'wss://their-res.services.ai.azure.com');
  t.equal(c.azureSpeechKey, 'k1');
  t.equal(c.agentName, 'bot');
  t.equal(c.agentProjectName, 'proj');
  t.equal(
    loadConfig({ ...BASE, AZURE_SPEECH_KEY: 'same', FOUNDRY_API_KEY: 'same' }).azureSpeechKey,
    'same',
    'equal values are fine',
  );
  const pairs: Array<[string, string]> = [
    ['AZURE_AI_FOUNDRY_RESOURCE', 'FOUNDRY_RESOURCE_NAME'],
    ['AZURE_SPEECH_KEY', 'FOUNDRY_API_KEY'],
    ['AGENT_NAME', 'FOUNDRY_AGENT_NAME'],
    ['AGENT_PROJECT_NAME', 'FOUNDRY_PROJECT_NAME'],
  ];
  for (const [ours, theirs] of pairs) {
    const env = { ...BASE, AGENT_NAME: 'a', AGENT_PROJECT_NAME: 'p', [ours]: 'secret-one', [theirs]: 'secret-two' };
    t.throws(
      () => loadConfig(env),
      { message: `${ours} and ${theirs} are both set, to different values: set only one` },
      ours,
    );
    try {
      loadConfig(env);
    } catch (e) {
      t.notMatch((e as Error).message, /secret-/, 'values are not printed');
    }
  }
});

t.test('agent defaults and the WebRTC version are validated', async (t) => {
  const bad: Array<[Record<string, string>, string]> = [
    [{ AGENT_NAME: 'bot' }, 'AGENT_PROJECT_NAME'],
    [{ AGENT_VERSION: '2' }, 'AGENT_NAME'],
    [{ AGENT_NAME: 'a b', AGENT_PROJECT_NAME: 'p' }, 'AGENT_NAME'],
    [{ AGENT_NAME: 'a', AGENT_PROJECT_NAME: 'p&x' }, 'AGENT_PROJECT_NAME'],
    [{ AGENT_NAME: 'a', AGENT_PROJECT_NAME: 'p', AGENT_VERSION: 'v 1' }, 'AGENT_VERSION'],
    [{ WEBRTC_API_VERSION: '2025-10-01' }, 'WEBRTC_API_VERSION'],
    [{ WEBRTC_API_VERSION: 'latest' }, 'WEBRTC_API_VERSION'],
  ];
  for (const [env, variable] of bad) {
    t.throws(() => loadConfig({ ...BASE, ...env }), { message: new RegExp(`^${variable}: expected `) }, variable);
  }
  const c = loadConfig(BASE);
  t.same(c.allowedApiVersions, [
    '2026-07-15',
    '2026-04-10',
    '2025-10-01',
    '2026-06-01-preview',
    '2026-01-01-preview',
    '2025-05-01-preview',
    'v1',
  ]);
  t.equal(c.webrtcApiVersion, '2026-01-01-preview');
  t.equal(c.agentName, '');
});

t.test('the simulator and the demo read their settings here too', async (t) => {
  t.same(loadSimulatorConfig({}), { port: 8090, host: '127.0.0.1', requireCredential: true, tls: undefined });
  t.same(loadSimulatorConfig({ SIMULATOR_TLS_CERT: 'c.pem', SIMULATOR_TLS_KEY: 'k.pem' }).tls, {
    certFile: 'c.pem',
    keyFile: 'k.pem',
  });
  t.throws(() => loadSimulatorConfig({ SIMULATOR_TLS_CERT: 'c.pem' }), { message: /^SIMULATOR_TLS_KEY: expected / });
  t.throws(() => loadSimulatorConfig({ SIMULATOR_TLS_KEY: 'k.pem' }), { message: /^SIMULATOR_TLS_CERT: expected / });
  t.same(loadSimulatorConfig({ SIMULATOR_PORT: '0', SIMULATOR_HOST: '::1', SIMULATOR_REQUIRE_CREDENTIAL: 'false' }), {
    port: 0,
    host: '::1',
    requireCredential: false,
    tls: undefined,
  });
  t.throws(() => loadSimulatorConfig({ SIMULATOR_PORT: '65536' }), { message: /^SIMULATOR_PORT: expected / });
  t.throws(() => loadSimulatorConfig({ SIMULATOR_REQUIRE_CREDENTIAL: 'maybe' }), {
    message: /^SIMULATOR_REQUIRE_CREDENTIAL: /,
  });
  t.same(
    loadDemoConfig({}),
    { port: 8080, simulator: { port: 0, host: '127.0.0.1', requireCredential: true, tls: undefined } },
    "the demo's simulator takes any free port",
  );
  t.equal(loadDemoConfig({ PORT: '0' }).port, 0);
  t.throws(() => loadDemoConfig({ PORT: 'http' }), { message: /^PORT: expected / });
});

t.test('TRUST_PROXY and ALLOWED_ORIGINS are parsed here, once', async (t) => {
  t.same(loadConfig(BASE).trustProxy.mode, 'none');
  t.same(loadConfig({ ...BASE, TRUST_PROXY: '2' }).trustProxy.hops, 2);
  t.throws(() => loadConfig({ ...BASE, TRUST_PROXY: '10.0.0.0/33' }), { message: /^TRUST_PROXY: expected / });
  t.same(
    loadConfig({ ...BASE, ALLOWED_ORIGINS: 'https://App.Example.com:443,*', ALLOW_ANONYMOUS_WILDCARD: 'true' })
      .allowedOrigins,
    ['https://app.example.com'],
  );
  for (const bad of ['not a url', 'file:///etc/passwd', 'data:text/html,x', 'null']) {
    t.throws(() => loadConfig({ ...BASE, ALLOWED_ORIGINS: bad }), { message: /^ALLOWED_ORIGINS: expected / }, bad);
  }
});
t.test('fleet settings: off by default, validated, the password never quoted', async (t) => {
  const d = loadConfig(BASE);
  t.equal(d.redisUrl, '');
  t.equal(d.fleetMaxSessions, 0);
  t.equal(d.fleetLeaseMs, 15_000);
  t.equal(d.fleetOnRedisDown, 'open');
  t.equal(d.fleetRedisTimeoutMs, 500);
  t.equal(d.fleetKeyPrefix, 'vlp:{fleet}:');
  const c = loadConfig({
    ...BASE,
    REDIS_URL: 'rediss://:k3y@cache.redis.cache.windows.net:6380',
    FLEET_MAX_SESSIONS: '500',
    FLEET_ON_REDIS_DOWN: 'Closed',
    FLEET_KEY_PREFIX: 'prod-eu',
  });
  t.equal(c.redisUrl, 'rediss://:k3y@cache.redis.cache.windows.net:6380');
  t.equal(c.fleetMaxSessions, 500);
  t.equal(c.fleetOnRedisDown, 'closed');
  t.equal(c.fleetKeyPrefix, 'prod-eu:{fleet}:');
  for (const [name, value] of [
    ['REDIS_URL', 'http://:pw-secret@cache:6379'],
    ['REDIS_URL', 'not a url pw-secret'],
    ['REDIS_URL', 'redis://:pw-secret@cache:6379/some/path'],
    ['FLEET_ON_REDIS_DOWN', 'maybe'],
    ['FLEET_LEASE_MS', '10'],
    ['FLEET_KEY_PREFIX', 'a b'],
    ['FLEET_REDIS_TIMEOUT_MS', '0'],
  ]) {
    const err = t.throws(() => loadConfig({ ...BASE, [name]: value })) as ConfigError;
    t.ok(err instanceof ConfigError, name);
    t.match(err.message, new RegExp(`^${name}:`));
    t.notMatch(err.message, /pw-secret/, `${name}: password not shown`);
  }
});
