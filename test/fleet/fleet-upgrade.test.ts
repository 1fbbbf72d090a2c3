// The upgrade handler with REDIS_URL: the fleet's round trip before the 101,
// refusals from the errors table, leases given back on close and when the
// client leaves while Redis decides, and Redis down in closed mode.
import t from 'tap';
import Redis from 'ioredis';
import { startHarness } from '../helpers/harness';
import { connect } from 'node:net';
import { once } from 'node:events';
import { upgradeRequest } from '../helpers/raw-upgrade';
import { redisMissing, startRedis } from '../helpers/redis-server';
import { until } from '../helpers/wait';
import { mintTicket } from '../../src/auth/mint-ticket';

const skip = redisMissing();

t.test('FLEET_MAX_SESSIONS: the next upgrade is refused 503, a close frees the place at once', { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await startHarness(t, { REDIS_URL: redis.url, FLEET_MAX_SESSIONS: '2', FLEET_KEY_PREFIX: 'up1' });
  await h.logLine('fleet: redis up');
  const a = h.client();
  const b = h.client();
  await Promise.all([a.opened, b.opened]);
  const c = h.client();
  const refused = await c.refused;
  t.equal(refused.status, 503);
  t.equal(refused.headers['retry-after'], '5');
  t.match(JSON.parse(refused.body), { error: { code: 'fleet_at_capacity', message: 'Service at capacity' } });
  t.equal(h.proxy.gate.counter.active, 2, 'the refused upgrade gave its local slot back');

  const metrics = await (await h.http('/metrics')).text();
  t.match(metrics, /voice_live_proxy_upgrades_total\{outcome="fleet_capacity"\} 1\n/);
  t.match(metrics, /voice_live_proxy_fleet_redis_up 1\n/);
  t.match(metrics, /voice_live_proxy_fleet_leases 2\n/);

  await a.close();
  const d = h.client();
  await d.opened;
  t.pass("a closed session's place is free at once");
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  t.equal(await admin.zcard('up1:{fleet}:fleet'), 2, 'Redis counts the two live sessions');
});

t.test('a client that leaves while Redis decides gives back its slot and its lease', { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await startHarness(t, {
    REDIS_URL: redis.url,
    FLEET_MAX_SESSIONS: '5',
    FLEET_REDIS_TIMEOUT_MS: '5000',
    FLEET_KEY_PREFIX: 'up2',
  });
  await h.logLine('fleet: redis up');
  redis.pause();
  const sock = connect({ host: '127.0.0.1', port: h.proxy.port });
  await once(sock, 'connect');
  sock.write(upgradeRequest(h.proxy.port));
  await until(() => h.proxy.gate.counter.active === 1, 'the pending upgrade holds a local slot');
  sock.resetAndDestroy();
  await h.logLine('client left before admission was decided');
  redis.resume();
  await until(() => h.proxy.gate.counter.active === 0, 'slot given back');
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  let n = -1;
  for (let i = 0; i < 200 && n !== 0; i++) {
    n = await admin.zcard('up2:{fleet}:fleet');
    if (n !== 0) await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(n, 0, 'no lease left in Redis');
  t.equal(h.proxy.metrics.fleetLeases, 0, 'none held locally');
  t.equal(h.proxy.metrics.upgradesAccepted, 0, 'never counted as accepted');
});

t.test(
  'FLEET_ON_REDIS_DOWN=closed: Redis away -> 503 fleet_unavailable, and back without a restart',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const h = await startHarness(t, {
      REDIS_URL: redis.url,
      FLEET_ON_REDIS_DOWN: 'closed',
      FLEET_REDIS_TIMEOUT_MS: '200',
      FLEET_KEY_PREFIX: 'up3',
    });
    await h.logLine('fleet: redis up');
    await redis.stop();
    const refused = await h.client().refused;
    t.equal(refused.status, 503);
    t.match(JSON.parse(refused.body), {
      error: { code: 'fleet_unavailable', message: 'Service temporarily unavailable' },
    });
    await h.logLine('fleet: redis unavailable, refusing new sessions');
    const metrics = await (await h.http('/metrics')).text();
    t.match(metrics, /voice_live_proxy_fleet_redis_up 0\n/);
    t.match(metrics, /voice_live_proxy_upgrades_total\{outcome="fleet_unavailable"\} 1\n/);
    t.match(metrics, /voice_live_proxy_fleet_redis_state_changes_total\{to="down"\} 1\n/);
    await redis.start();
    await until(() => h.logs.filter((l) => l.includes('fleet: redis up')).length === 2, 'redis back', 15_000);
    await h.client().opened;
    t.pass('admitted again');
  },
);

t.test('a ticket spent on one replica is refused on another: 401 auth_replayed', { skip }, async (t) => {
  const redis = await startRedis(t);
  const secret = 'fleet-ticket-secret-0123456789-abcdefgh';
  const env = { REDIS_URL: redis.url, FLEET_KEY_PREFIX: 'up4', CLIENT_AUTH: 'ticket', TICKET_SECRET: secret };
  const a = await startHarness(t, env);
  const b = await startHarness(t, env);
  await Promise.all([a.logLine('fleet: redis up'), b.logLine('fleet: redis up')]);
  const ticket = await mintTicket({ sub: 'carol', secret });
  const first = a.client(`ticket=${ticket}`);
  t.equal((await first.nextJson()).type, 'session.created', 'replica A admits the ticket');
  const replay = await b.client(`ticket=${ticket}`).refused;
  t.equal(replay.status, 401);
  t.match(JSON.parse(replay.body), { error: { code: 'auth_replayed' } });
  t.match(replay.headers['www-authenticate'], /error="invalid_token"/);
  t.notOk(replay.body.includes(ticket), 'the ticket is not echoed');
  t.equal(b.proxy.metrics.authReplayed, 1, 'counted on the replica that refused');
  t.equal(b.proxy.gate.counter.active, 0, 'the refused upgrade gave its slot back');
  t.match(await (await b.http('/metrics')).text(), /auth_verifications_total\{outcome="replayed"\} 1\n/);
  const fresh = b.client(`ticket=${await mintTicket({ sub: 'carol', secret })}`);
  await fresh.opened;
  t.pass('a fresh ticket is admitted by replica B');
});

t.test('without REDIS_URL the fleet is absent: no fleet metrics', async (t) => {
  const h = await startHarness(t);
  await h.client().opened;
  const metrics = await (await h.http('/metrics')).text();
  t.notMatch(metrics, /fleet_redis_up/);
  t.match(metrics, /voice_live_proxy_upgrades_total\{outcome="accepted"\} 1\n/);
});
