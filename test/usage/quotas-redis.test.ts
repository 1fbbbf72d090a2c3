// Quotas across replicas against a real redis-server: each replica is a
// FleetLimiter (its own connection) and a Quotas sink; the sessions are real
// relay sessions. What the meter would report is told to the sinks directly.
import t from 'tap';
import type { Test } from 'tap';
import pino from 'pino';
import Redis from 'ioredis';
import { FleetLimiter, type FleetOptions } from '../../src/fleet/fleet-limiter';
import { FleetDayStore } from '../../src/fleet/fleet-day-store';
import { createFleetRedis } from '../../src/fleet/redis-client';
import { Metrics } from '../../src/observability/metrics';
import { Quotas } from '../../src/usage/quotas';
import { emptyUsage } from '../../src/usage/usage-sink';
import { startRelay } from '../helpers/relay-harness';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/wait';

const skip = redisMissing();
const PREFIX = 'test:{fleet}:';
const MINUTE = 60_000;

const BASE: FleetOptions = {
  prefix: PREFIX,
  leaseMs: 60_000,
  onRedisDown: 'open',
  rateBurst: 0,
  rateWindowMs: 60_000,
  maxSessions: 0,
  maxPerIp: 0,
  maxPerSubject: 0,
};

interface Replica {
  fleet: FleetLimiter;
  quotas: Quotas;
  metrics: Metrics;
}

async function replica(
  t: Test,
  redis: RedisServer,
  o: { audioMs?: number; tokens?: number; flushMs?: number; onRedisDown?: 'open' | 'closed' } = {},
): Promise<Replica> {
  const metrics = new Metrics();
  const log = pino({ level: 'silent' });
  const fleet = new FleetLimiter(
    { ...BASE, onRedisDown: o.onRedisDown ?? 'open' },
    createFleetRedis(redis.url, 1000),
    log,
    metrics,
  );
  const quotas = new Quotas(
    { limits: { audioMs: o.audioMs ?? MINUTE, tokens: o.tokens ?? 0 }, graceMs: 2000, flushMs: o.flushMs ?? 200 },
    new FleetDayStore(fleet),
    log,
    metrics,
  );
  t.teardown(async () => {
    await quotas.close();
    await fleet.close();
  });
  await until(() => fleet.up, 'redis up');
  return { fleet, quotas, metrics };
}

function admin(t: Test, redis: RedisServer): Redis {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  t.teardown(() => r.disconnect());
  return r;
}

/** The caller's audio in Redis over the window (every hour's bucket summed). */
async function audioInRedis(r: Redis, caller: string): Promise<number> {
  const h = await r.hgetall(`${PREFIX}use:${caller}`);
  return Object.entries(h)
    .filter(([f]) => f.startsWith('a:'))
    .reduce((n, [, v]) => n + Number(v), 0);
}

/** Polls Redis until the caller's audio is `want` (a flush is due within its interval), or 3 s passed. */
async function settled(r: Redis, caller: string, want: number): Promise<number> {
  const deadline = Date.now() + 3000;
  let got = await audioInRedis(r, caller);
  while (got !== want && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 50));
    got = await audioInRedis(r, caller);
  }
  return got;
}

const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

t.test(
  'two replicas streaming for one caller stop together at the quota, within one early flush',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const h = await startRelay(t);
    const a = await replica(t, redis);
    const b = await replica(t, redis);
    const one = await h.connect();
    const two = await h.connect();
    a.quotas.sessionOpened(one.s, 'sub:erin');
    b.quotas.sessionOpened(two.s, 'sub:erin');
    // Both stream 100 ms of audio every millisecond or so: about 100 times faster than real time.
    let sent = 0;
    for (let i = 0; i < 5000 && (one.s.client !== null || two.s.client !== null); i++) {
      if (one.s.client !== null) {
        a.quotas.audioAdded(one.s, 100);
        sent += 100;
      }
      if (two.s.client !== null) {
        b.quotas.audioAdded(two.s, 100);
        sent += 100;
      }
      await pause();
    }
    t.equal((await one.browser.closed).code, 1008, 'the session on replica A is closed');
    t.equal((await two.browser.closed).code, 1008, 'the session on replica B is closed');
    await h.finishedOf(one.s);
    await h.finishedOf(two.s);
    a.quotas.sessionFinished(one.s, emptyUsage());
    b.quotas.sessionFinished(two.s, emptyUsage());
    const r = admin(t, redis);
    await until(() => sent > 0, 'sent');
    let total = 0;
    await until(() => total === sent, 'every use flushed', 5000).catch(() => undefined);
    for (let i = 0; i < 50 && total !== sent; i++) {
      total = await audioInRedis(r, 'sub:erin');
      await new Promise((res) => setTimeout(res, 50));
    }
    t.equal(total, sent, 'Redis holds exactly what the two replicas counted');
    // One early flush is 1/50 of the quota (1.2 s); each replica may be one behind the other.
    t.ok(sent >= MINUTE, `stopped at the quota or after (${sent} ms)`);
    t.ok(sent <= MINUTE + 2 * (MINUTE / 50) + 400, `not past it by more than two early flushes (${sent} ms)`);

    const [wa, wb] = await Promise.all([a.quotas.checkShared('sub:erin'), b.quotas.checkShared('sub:erin')]);
    t.ok(wa >= 1 && Math.abs(wa - wb) <= 1, `refused on both replicas with the same Retry-After (${wa}, ${wb})`);
    const [ua, ub] = await Promise.all([a.quotas.read('sub:erin'), b.quotas.read('sub:erin')]);
    t.equal(ua!.audioMs, ub!.audioMs, 'the day reads the same from either replica');
    t.equal(ua!.audioMs, sent);
    t.equal(await a.quotas.checkShared('sub:frank'), 0, 'another caller is admitted');
  },
);

t.test('usage survives a replica being killed, less at most one flush', { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await startRelay(t);
  const a = await replica(t, redis, { flushMs: 100 });
  const b = await replica(t, redis, { flushMs: 100 });
  const { s } = await h.connect();
  a.quotas.sessionOpened(s, 'ip:2001:db8:1:2::/64');
  a.quotas.audioAdded(s, 20_000);
  const r = admin(t, redis);
  t.equal(await settled(r, 'ip:2001:db8:1:2::/64', 20_000), 20_000, 'flushed within the interval');
  // Killed: no last flush, the connection dropped.
  a.quotas.audioAdded(s, 700);
  a.quotas.abort();
  a.fleet.abort();
  const u = await b.quotas.read('ip:2001:db8:1:2::/64');
  t.equal(u!.audioMs, 20_000, 'the other replica reads what was flushed; only the last interval is lost');
});

t.test('Redis down: FLEET_ON_REDIS_DOWN decides the check', { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await startRelay(t);
  const open = await replica(t, redis, { onRedisDown: 'open' });
  const closed = await replica(t, redis, { onRedisDown: 'closed' });
  const { s } = await h.connect();
  open.quotas.sessionOpened(s, 'sub:gina');
  await redis.stop();
  t.equal(await closed.quotas.checkShared('sub:hana'), -1, 'closed: refused (503 fleet_unavailable)');
  t.equal(await open.quotas.checkShared('sub:hana'), 0, 'open: admitted on what this replica knows');
  t.notOk(open.fleet.up, 'the failed read turned the fleet down');
  // Open: the live session is still held to the quota by this replica's own count.
  open.quotas.audioAdded(s, MINUTE);
  await until(() => s.client === null, 'closed on the local count');
  t.ok((await open.quotas.checkShared('sub:gina')) > 0, 'and its next upgrade refused');
  await redis.start();
  await until(() => open.fleet.up, 'redis back', 15_000);
  t.equal(
    await settled(admin(t, redis), 'sub:gina', MINUTE),
    MINUTE,
    'what was counted while Redis was away is added once it is back',
  );
});

t.test("a session starts from the fleet's totals its upgrade check read", { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await startRelay(t);
  const a = await replica(t, redis);
  const b = await replica(t, redis, { flushMs: 100 });
  const first = await h.connect();
  b.quotas.sessionOpened(first.s, 'sub:ivan');
  b.quotas.audioAdded(first.s, 59_000);
  t.equal(await settled(admin(t, redis), 'sub:ivan', 59_000), 59_000, "B's use is in Redis");
  t.equal(await a.quotas.checkShared('sub:ivan'), 0, 'under the minute: admitted on A');
  const { browser, s } = await h.connect();
  a.quotas.sessionOpened(s, 'sub:ivan');
  a.quotas.audioAdded(s, 1_000); // far below one early flush (1.2 s): only the seed can tell
  t.equal((await browser.closed).code, 1008, 'closed at the first frame that reaches the minute');
});
