// MAX_SESSIONS_PER_SUBJECT with REDIS_URL while the fleet cannot decide
// (docs/contract.md §6): in FLEET_ON_REDIS_DOWN=open mode the replica's own
// subject cap stands in, whether Redis hangs, is stopped, or never answered
// since start; and while Redis answers, the local count does not make the cap
// any stricter than the fleet's.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import { redisMissing, startRedis } from '../helpers/redis-server';
import type { TestClient } from '../helpers/client';
import { mintTicket } from '../../src/auth/mint-ticket';

const skip = redisMissing();
const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

function proxy(t: Test, url: string, prefix: string): Promise<Harness> {
  return startHarness(t, {
    REDIS_URL: url,
    FLEET_ON_REDIS_DOWN: 'open',
    FLEET_REDIS_TIMEOUT_MS: '200',
    FLEET_KEY_PREFIX: prefix,
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
    MAX_SESSIONS_PER_SUBJECT: '2',
  });
}

async function session(h: Harness, sub: string): Promise<TestClient> {
  return h.client(`ticket=${await mintTicket({ sub, secret: SECRET })}`);
}

/** 'opened', or the refusal's status and code; whichever comes first. */
async function outcome(c: TestClient): Promise<string> {
  return Promise.race([
    c.opened.then(() => 'opened'),
    c.refused.then((r) => `${r.status} ${(JSON.parse(r.body) as { error: { code: string } }).error.code}`),
  ]);
}

t.test('Redis paused: the third session for one subject is refused 429 on this replica', { skip }, async (t) => {
  const redis = await startRedis(t);
  const h = await proxy(t, redis.url, 'sd1');
  await h.logLine('fleet: redis up');
  t.equal(await outcome(await session(h, 'alice')), 'opened', 'first, decided by Redis');
  t.equal(await outcome(await session(h, 'alice')), 'opened', 'second: the local count does not double it');
  redis.pause();
  t.teardown(() => redis.resume());
  t.equal(await outcome(await session(h, 'alice')), '429 subject_at_capacity', 'third, while Redis hangs');
  t.equal(await outcome(await session(h, 'alice')), '429 subject_at_capacity', 'fourth, decided locally');
  t.equal(await outcome(await session(h, 'bob')), 'opened', 'another subject is admitted (open mode)');
  t.ok(h.proxy.metrics.fleetLocalAdmits >= 1, 'admitted on local limits, counted');
  t.equal(h.proxy.metrics.upgradesSubjectCapacity, 2);
});

t.test('Redis stopped before start (never answered): the local subject cap holds', { skip }, async (t) => {
  const redis = await startRedis(t);
  await redis.stop();
  const h = await proxy(t, redis.url, 'sd2');
  const got: string[] = [];
  for (let i = 0; i < 4; i++) got.push(await outcome(await session(h, 'carol')));
  t.same(got, ['opened', 'opened', '429 subject_at_capacity', '429 subject_at_capacity']);
  t.equal(h.proxy.metrics.fleetRedisUp, 0, 'Redis never answered');
});

t.test('Redis up, two replicas: the cap is fleet-wide and not stricter than the fleet', { skip }, async (t) => {
  const redis = await startRedis(t);
  const a = await proxy(t, redis.url, 'sd3');
  const b = await proxy(t, redis.url, 'sd3');
  await Promise.all([a.logLine('fleet: redis up'), b.logLine('fleet: redis up')]);
  t.equal(await outcome(await session(a, 'dave')), 'opened');
  t.equal(await outcome(await session(b, 'dave')), 'opened');
  t.equal(await outcome(await session(a, 'dave')), '429 subject_at_capacity', 'the fleet counts both replicas');
  const first = await session(a, 'erin');
  t.equal(await outcome(first), 'opened');
  t.equal(await outcome(await session(a, 'erin')), 'opened', 'two on one replica, as the cap allows');
  await first.close();
  t.equal(await outcome(await session(a, 'erin')), 'opened', 'a closed session gives its place back');
});
