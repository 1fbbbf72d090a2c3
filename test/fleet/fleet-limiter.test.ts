// The fleet's decisions against a real redis-server: several limiters (each
// its own connection, as replicas are) deciding concurrently, leases that
// expire when their holder dies, and Redis going away, hanging and coming back.
import t from 'tap';
import type { Test } from 'tap';
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import { createLogger } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import { FleetLimiter, type FleetOptions, type FleetVerdict } from '../../src/fleet/fleet-limiter';
import { createFleetRedis } from '../../src/fleet/redis-client';
import { fleetStep } from '../../src/upgrade/fleet-step';
import { countRefusal, type Refusal } from '../../src/upgrade/refusal';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/wait';

const skip = redisMissing();
const PREFIX = 'test:{fleet}:';

interface Replica {
  fleet: FleetLimiter;
  metrics: Metrics;
  logs: string[];
}

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

async function replica(t: Test, redis: RedisServer, opts: Partial<FleetOptions>, timeoutMs = 1000): Promise<Replica> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') logs.push(l);
      cb();
    },
  });
  const metrics = new Metrics();
  const fleet = new FleetLimiter(
    { ...BASE, ...opts },
    createFleetRedis(redis.url, timeoutMs),
    createLogger({ level: 'info', pretty: false, destination }),
    metrics,
  );
  t.teardown(() => fleet.close());
  await until(() => fleet.up, 'redis up');
  return { fleet, metrics, logs };
}

async function admin(t: Test, redis: RedisServer): Promise<Redis> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  t.teardown(() => r.disconnect());
  return r;
}

function count(verdicts: string[], v: string): number {
  return verdicts.filter((x) => x === v).length;
}

t.test('N concurrent acquires over three replicas against a budget of K admit exactly K', { skip }, async (t) => {
  const redis = await startRedis(t);
  const reps = await Promise.all([0, 1, 2].map(() => replica(t, redis, { maxSessions: 25 })));
  const decisions = await Promise.all(
    Array.from({ length: 90 }, (_, i) => reps[i % 3].fleet.acquire({ ipKey: `10.0.0.${i}` })),
  );
  const verdicts = decisions.map((d) => d.verdict);
  t.equal(count(verdicts, 'ok'), 25, 'exactly the fleet cap');
  t.equal(count(verdicts, 'fleet'), 65, 'the rest: fleet full');
  t.equal(await (await admin(t, redis)).zcard(`${PREFIX}fleet`), 25, 'Redis counts 25 leases');
  t.equal(
    reps.reduce((n, r) => n + r.metrics.fleetLeases, 0),
    25,
    'leases held across the replicas',
  );
  // A release frees its place at once.
  const held = decisions.find((d) => d.lease !== null)!;
  const owner = reps.find((r) => r.fleet.leases.has(held.lease!.id))!;
  owner.fleet.release(held.lease!);
  owner.fleet.release(held.lease!); // idempotent
  t.equal((await reps[0].fleet.acquire({ ipKey: 'x' })).verdict, 'ok', 'a released place is taken again');
  t.equal((await reps[1].fleet.acquire({ ipKey: 'y' })).verdict, 'fleet');
});

t.test('a ticket is claimed once across the fleet, kept until it expires', { skip }, async (t) => {
  const redis = await startRedis(t);
  const reps = await Promise.all([0, 1, 2].map(() => replica(t, redis, { rateBurst: 1, rateWindowMs: 86_400_000 })));
  const untilS = Math.floor(Date.now() / 1000) + 90;
  const ticket = { id: 'aGFzaGVkLWp0aS0wMDAwMDE', untilS };
  // The bucket refuses first: a rate-limited upgrade does not spend the ticket.
  await reps[0].fleet.acquire({ ipKey: '10.4.0.1' });
  t.equal((await reps[1].fleet.acquire({ ipKey: '10.4.0.1', ticket })).verdict, 'rate');
  const decisions = await Promise.all(
    Array.from({ length: 30 }, (_, i) => reps[i % 3].fleet.acquire({ ipKey: `10.4.1.${i}`, ticket })),
  );
  const verdicts = decisions.map((d) => d.verdict);
  t.equal(count(verdicts, 'ok'), 1, 'one replica admits it');
  t.equal(count(verdicts, 'replayed'), 29, 'every other attempt, on any replica, is a replay');
  t.ok(
    decisions.every((d) => (d.verdict === 'ok') === (d.lease !== null)),
    'only the admitted one holds a lease',
  );
  const ttl = await (await admin(t, redis)).pttl(`${PREFIX}jti:${ticket.id}`);
  t.ok(ttl > 80_000 && ttl <= 90_000, `kept until the ticket expires (${ttl} ms)`);
  t.equal((await reps[2].fleet.acquire({ ipKey: '10.4.2.1' })).verdict, 'ok', 'no ticket, no claim');
  const other = { id: 'aGFzaGVkLWp0aS0wMDAwMDI', untilS };
  t.equal((await reps[2].fleet.acquire({ ipKey: '10.4.2.2', ticket: other })).verdict, 'ok', 'another ticket');
  const m = new Metrics();
  const r = fleetStep({ verdict: 'replayed', retryAfter: 0 })!;
  countRefusal(m, r);
  t.same([r.error.code, r.error.status, r.retryAfter], ['auth_replayed', 401, 0]);
  t.same([m.authReplayed, m.upgradesUnauthorized], [1, 1], 'counted as a replay and an unauthorized upgrade');
});

t.test('per-IP and per-subject caps and the token bucket hold across replicas', { skip }, async (t) => {
  const redis = await startRedis(t);
  const reps = await Promise.all(
    [0, 1, 2].map(() =>
      replica(t, redis, {
        maxPerIp: 3,
        maxPerSubject: 2,
        rateBurst: 10,
        rateWindowMs: 86_400_000,
      }),
    ),
  );
  const ip = await Promise.all(Array.from({ length: 9 }, (_, i) => reps[i % 3].fleet.acquire({ ipKey: '10.1.1.1' })));
  t.equal(
    count(
      ip.map((d) => d.verdict),
      'ok',
    ),
    3,
    'per-IP cap',
  );
  t.equal(
    count(
      ip.map((d) => d.verdict),
      'ip',
    ),
    6,
  );
  const sub = await Promise.all(
    Array.from({ length: 6 }, (_, i) => reps[i % 3].fleet.acquire({ ipKey: `10.2.0.${i}`, subject: 'alice' })),
  );
  t.equal(
    count(
      sub.map((d) => d.verdict),
      'ok',
    ),
    2,
    'per-subject cap',
  );
  t.equal(
    count(
      sub.map((d) => d.verdict),
      'subject',
    ),
    4,
  );
  t.equal(
    (await reps[0].fleet.acquire({ ipKey: '10.3.0.1', subject: 'bob' })).verdict,
    'ok',
    'another subject is its own',
  );
  // The bucket: 10 tokens for 10.9.9.9, whichever replica is asked (per-IP cap 3 reached first
  // for sessions, so release each one at once as a closing client would).
  const rate = await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const d = await reps[i % 3].fleet.acquire({ ipKey: '10.9.9.9' });
      if (d.lease !== null) reps[i % 3].fleet.release(d.lease);
      return d;
    }),
  );
  const limited = rate.filter((d) => d.verdict === 'rate');
  t.equal(limited.length, 30 - rate.filter((d) => d.verdict !== 'rate').length);
  t.equal(rate.filter((d) => d.verdict !== 'rate').length, 10, 'one burst for the fleet');
  t.ok(
    limited.every((d) => d.retryAfter >= 1),
    'Retry-After in whole seconds',
  );
  const m = new Metrics();
  const refused = (verdict: FleetVerdict, retryAfter: number): Refusal | null => {
    const r = fleetStep({ verdict, retryAfter });
    if (r !== null) countRefusal(m, r);
    return r;
  };
  t.same([refused('rate', 7)!.error.code, refused('rate', 7)!.retryAfter], ['rate_limited', 7]);
  t.equal(refused('ok', 0), null);
  t.equal(refused('ip', 0)!.error.code, 'ip_at_capacity');
  t.equal(refused('subject', 0)!.error.code, 'subject_at_capacity');
  t.equal(refused('fleet', 0)!.error.code, 'fleet_at_capacity');
  t.equal(refused('unavailable', 0)!.error.code, 'fleet_unavailable');
  t.equal(
    m.upgradesRate +
      m.upgradesIpCapacity +
      m.upgradesSubjectCapacity +
      m.upgradesFleetCapacity +
      m.upgradesFleetUnavailable,
    6,
  );
});

t.test(
  'leases are renewed while held, and expire within FLEET_LEASE_MS when their replica dies',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const leaseMs = 1200;
    const a = await replica(t, redis, { maxSessions: 2, leaseMs });
    const b = await replica(t, redis, { maxSessions: 2, leaseMs });
    t.equal((await a.fleet.acquire({ ipKey: 'a1' })).verdict, 'ok');
    t.equal((await b.fleet.acquire({ ipKey: 'b1' })).verdict, 'ok');
    // Twice the lease: renewal (every leaseMs / 3) keeps both alive.
    await new Promise((r) => setTimeout(r, leaseMs * 2));
    t.equal((await b.fleet.acquire({ ipKey: 'b2' })).verdict, 'fleet', 'renewed leases still count');
    // A dies without a word: its lease stops being renewed and runs out.
    a.fleet.abort();
    const died = Date.now();
    let verdict = 'fleet';
    while (verdict !== 'ok' && Date.now() - died < leaseMs * 4) {
      await new Promise((r) => setTimeout(r, 50));
      verdict = (await b.fleet.acquire({ ipKey: 'b3' })).verdict;
    }
    t.equal(verdict, 'ok', "the dead replica's place is free again");
    t.ok(Date.now() - died <= leaseMs + 600, `freed within the lease (${Date.now() - died} ms)`);
  },
);

t.test(
  'Redis stopped and restarted: open mode decides locally, says so once, and re-asserts its leases',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const open = await replica(t, redis, { maxSessions: 3, leaseMs: 1500 });
    const closed = await replica(t, redis, { maxSessions: 3, leaseMs: 1500, onRedisDown: 'closed' });
    t.equal((await open.fleet.acquire({ ipKey: 'o1' })).verdict, 'ok');
    await redis.stop();
    const whileDown = await Promise.all([1, 2, 3, 4].map((i) => open.fleet.acquire({ ipKey: `d${i}` })));
    t.same(
      whileDown.map((d) => d.verdict),
      ['ok', 'ok', 'ok', 'ok'],
      'open: admitted on local limits',
    );
    t.equal(open.metrics.fleetLocalAdmits, 4, 'counted');
    t.equal(open.metrics.fleetRedisUp, 0);
    t.equal((await closed.fleet.acquire({ ipKey: 'c1' })).verdict, 'unavailable', 'closed: refused');
    t.equal(
      open.logs.filter((l) => l.includes('fleet: redis unavailable')).length,
      1,
      'one log line for the state change',
    );
    t.equal(open.metrics.fleetRedisDowns, 1);
    t.ok(open.metrics.fleetRedisErrors >= 1);

    await redis.start();
    await until(() => open.fleet.up && closed.fleet.up, 'both replicas see redis back', 15_000);
    t.equal(open.logs.filter((l) => l.includes('fleet: redis up')).length, 2, 'one line when it came back');
    // The restarted Redis was empty: the renewal put every live session back.
    await until(() => open.fleet.leases.size === 5, 'leases kept');
    const r = await admin(t, redis);
    let n = 0;
    for (let i = 0; i < 100 && n !== 5; i++) {
      n = await r.zcard(`${PREFIX}fleet`);
      if (n !== 5) await new Promise((res) => setTimeout(res, 50));
    }
    t.equal(n, 5, 'all five sessions counted again (over the cap: they exist)');
    t.equal((await closed.fleet.acquire({ ipKey: 'c2' })).verdict, 'fleet', 'shared limits again');
  },
);

t.test('a hung Redis: every call bounded by the timeout, never a hang, back when it resumes', { skip }, async (t) => {
  const redis = await startRedis(t);
  const rep = await replica(t, redis, { maxSessions: 10, onRedisDown: 'closed' }, 150);
  redis.pause();
  t.teardown(() => redis.resume());
  const started = Date.now();
  const d = await rep.fleet.acquire({ ipKey: 'h1' });
  t.equal(d.verdict, 'unavailable');
  t.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`);
  const fast = Date.now();
  t.equal((await rep.fleet.acquire({ ipKey: 'h2' })).verdict, 'unavailable');
  t.ok(Date.now() - fast < 50, 'while down, no Redis call is waited for');
  redis.resume();
  await until(() => rep.fleet.up, 'redis back', 20_000);
  t.equal((await rep.fleet.acquire({ ipKey: 'h3' })).verdict, 'ok');
});
