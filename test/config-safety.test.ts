// Internet-safe configuration: the settings that would let anyone
// spend the operator's credential refuse to start, and the defaults bound
// what one client can hold.
import t from 'tap';
import { loadConfig } from '../src/config';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };

t.test('ALLOWED_ORIGINS=* with a server key and no caller authentication refuses to start', async (t) => {
  const wild = { ...BASE, ALLOWED_ORIGINS: '*', AZURE_SPEECH_KEY: 'sk-secret-key-value' };
  t.throws(() => loadConfig(wild), {
    variable: 'ALLOWED_ORIGINS',
    message: /^ALLOWED_ORIGINS: .*ALLOW_ANONYMOUS_WILDCARD=true/,
  });
  try {
    loadConfig(wild);
  } catch (err) {
    t.notMatch((err as Error).message, /sk-secret-key-value/, 'the key is never quoted');
  }
  t.throws(() => loadConfig({ ...wild, CLIENT_AUTH: 'NONE' }), /^ALLOWED_ORIGINS: /, 'CLIENT_AUTH=none spelled out');
  t.ok(loadConfig({ ...wild, ALLOW_ANONYMOUS_WILDCARD: 'true' }).allowAnyOrigin, 'the explicit override');
  t.ok(
    loadConfig({ ...wild, CLIENT_AUTH: 'ticket', TICKET_SECRET: 'a-ticket-secret-of-at-least-32-bytes' })
      .allowAnyOrigin,
    'callers prove who they are',
  );
  t.throws(
    () => loadConfig({ ...BASE, ALLOWED_ORIGINS: '*' }),
    /^ALLOWED_ORIGINS: .*proxy's own identity/,
    "no server key: the proxy's own identity (keyless) is spent instead",
  );
  t.throws(() => loadConfig({ ...wild, ALLOW_ANONYMOUS_WILDCARD: 'maybe' }), /^ALLOW_ANONYMOUS_WILDCARD: /);
});

t.test('internet-safe defaults, and how they are loosened', async (t) => {
  const c = loadConfig(BASE);
  t.equal(c.maxConnectionsPerIp, 10);
  t.equal(c.maxSessionMs, 2 * 3_600_000);
  t.equal(c.idleTimeoutMs, 10 * 60_000);
  t.equal(c.upgradeRateLimitMaxRequests, 20);
  t.equal(c.upgradeRateLimitWindowMs, 60_000);
  t.ok(c.upgradeRateLimitMaxRequests < c.rateLimitMaxRequests, 'a smaller upgrade burst than HTTP routes get');
  t.same(c.ipv6PrefixLimits, [
    { bits: 56, factor: 4 },
    { bits: 48, factor: 16 },
    { bits: 32, factor: 64 },
  ]);
  t.same(
    [...loadConfig({ ...BASE, TRUST_PROXY: '1' }).trustProxy.peerV4].length > 0,
    true,
    'a hop count gets the private peer ranges',
  );
  const loose = loadConfig({
    ...BASE,
    MAX_CONNECTIONS_PER_IP: '0',
    MAX_SESSION_MS: '0',
    IDLE_TIMEOUT_MS: '0',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000',
    IPV6_PREFIX_LIMITS: 'off',
  });
  t.equal(loose.maxConnectionsPerIp, 0);
  t.equal(loose.maxSessionMs, 0);
  t.equal(loose.idleTimeoutMs, 0);
  t.equal(loose.upgradeRateLimitMaxRequests, 1000);
  t.same(loose.ipv6PrefixLimits, []);
  t.same(loadConfig({ ...BASE, IPV6_PREFIX_LIMITS: '48:10, 60:2' }).ipv6PrefixLimits, [
    { bits: 60, factor: 2 },
    { bits: 48, factor: 10 },
  ]);
  for (const bad of ['64:2', '15:2', '56:0', '56', '56:2,56:3', 'x']) {
    t.throws(() => loadConfig({ ...BASE, IPV6_PREFIX_LIMITS: bad }), /^IPV6_PREFIX_LIMITS: /, bad);
  }
  t.throws(() => loadConfig({ ...BASE, UPGRADE_RATE_LIMIT_MAX_REQUESTS: '0' }), /^UPGRADE_RATE_LIMIT_MAX_REQUESTS: /);
});

t.test('METRICS_TOKEN must be of real length; its value is never quoted', async (t) => {
  t.throws(() => loadConfig({ ...BASE, METRICS_TOKEN: 'short-secret' }), {
    variable: 'METRICS_TOKEN',
    message: /at least 32 characters.*got "12 characters"/,
  });
  try {
    loadConfig({ ...BASE, METRICS_TOKEN: 'short-secret' });
  } catch (err) {
    t.notMatch((err as Error).message, /short-secret/);
  }
  t.equal(loadConfig({ ...BASE, METRICS_TOKEN: 'x'.repeat(32) }).metricsToken, 'x'.repeat(32));
});
