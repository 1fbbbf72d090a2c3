// The pipeline's last step, the fleet (REDIS_URL), over real sockets and a
// real redis-server: a fleet refusal's answer and count, draining re-checked
// after the fleet's wait, and the slot, the subject's place and the lease
// given back exactly once when the client leaves during that wait.
import t from 'tap';
import Redis from 'ioredis';
import { mintTicket } from '../../src/auth/mint-ticket';
import { redisMissing, startRedis } from '../helpers/redis-server';
import { until } from '../helpers/wait';
import { codeOf, sendUpgrade, startUpgradeServer, upgradeOnce } from '../helpers/upgrade-server';

const skip = redisMissing();
const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';
const ticket = (sub: string): Promise<string> => mintTicket({ sub, secret: SECRET });

/** Sessions Redis counts, once it shows `want` (a release is sent without being awaited), or the last count. */
async function sessionsIn(url: string, key: string, want: number): Promise<number> {
  const admin = new Redis(url);
  try {
    let n = await admin.zcard(key);
    for (let i = 0; i < 200 && n !== want; i++) {
      await new Promise((r) => setTimeout(r, 25));
      n = await admin.zcard(key);
    }
    return n;
  } finally {
    admin.disconnect();
  }
}

t.test('a fleet refusal: 503 with its Retry-After, counted once, its slot given back', { skip }, async (t) => {
  const redis = await startRedis(t);
  const s = await startUpgradeServer(t, { REDIS_URL: redis.url, FLEET_MAX_SESSIONS: '1', FLEET_KEY_PREFIX: 'pf1' });
  await until(() => s.px.fleet!.up, 'redis up');
  const held = await upgradeOnce(s.port, { keep: true });
  t.equal(held.status, 101);
  t.same(s.events.slice(0, 2), ['handler returned', 'open'], 'deferred until Redis answered');
  const refused = await upgradeOnce(s.port, { localAddress: '127.0.0.2' });
  t.same([refused.status, codeOf(refused), refused.headers['retry-after']], [503, 'fleet_at_capacity', '5']);
  t.match(await s.logLine('upgrade refused by the fleet'), { level: 'debug', ip: '127.0.0.2', outcome: 'fleet' });
  const m = s.px.metrics;
  t.same([m.upgradesFleetCapacity, m.upgradesAccepted, m.fleetLeases], [1, 1, 1]);
  t.equal(s.px.gate.counter.active, 1, "the refused attempt's slot was given back");
  held.socket.destroy();
  await until(() => m.fleetLeases === 0, 'the lease given back on close');
  t.equal(s.px.gate.counter.active, 0);
  t.equal(await sessionsIn(redis.url, 'pf1:{fleet}:fleet', 0), 0, 'Redis counts no session');
});

t.test('draining is checked after the fleet decision: 503 draining, the lease given back', { skip }, async (t) => {
  const redis = await startRedis(t);
  const s = await startUpgradeServer(t, {
    REDIS_URL: redis.url,
    FLEET_MAX_SESSIONS: '5',
    FLEET_REDIS_TIMEOUT_MS: '5000',
    FLEET_KEY_PREFIX: 'pf2',
  });
  await until(() => s.px.fleet!.up, 'redis up');
  redis.pause();
  const pending = sendUpgrade(s.port);
  await until(() => s.px.gate.counter.active === 1, 'the waiting attempt holds a slot');
  s.px.gate.draining = true;
  redis.resume();
  const a = await pending.answer;
  pending.socket.destroy();
  t.same([a.status, codeOf(a), a.headers['retry-after']], [503, 'draining', '5']);
  const m = s.px.metrics;
  t.same([m.upgradesDraining, m.upgradesAccepted], [1, 0], 'counted as draining');
  t.equal(s.px.gate.counter.active, 0, 'slot given back');
  await until(() => m.fleetLeases === 0, 'lease given back');
  t.equal(await sessionsIn(redis.url, 'pf2:{fleet}:fleet', 0), 0, 'no lease left in Redis');
});

t.test(
  'a client gone during the fleet wait, after the caller step: slot, subject and lease given back once',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const s = await startUpgradeServer(t, {
      REDIS_URL: redis.url,
      CLIENT_AUTH: 'ticket',
      TICKET_SECRET: SECRET,
      MAX_SESSIONS_PER_SUBJECT: '1',
      FLEET_MAX_SESSIONS: '5',
      FLEET_REDIS_TIMEOUT_MS: '5000',
      FLEET_KEY_PREFIX: 'pf3',
    });
    await until(() => s.px.fleet!.up, 'redis up');
    const m = s.px.metrics;
    // Another session holds a slot throughout: a second give-back would take it.
    const other = await upgradeOnce(s.port, { query: `ticket=${await ticket('other')}`, keep: true });
    t.equal(other.status, 101);

    redis.pause();
    const pending = sendUpgrade(s.port, { query: `ticket=${await ticket('leaver')}` });
    pending.answer.catch(() => {});
    await until(() => m.authOk === 2, 'the caller was verified; the fleet is asked');
    t.equal(s.px.gate.counter.active, 2, 'the waiting attempt holds a slot');
    pending.socket.resetAndDestroy();
    await s.logLine('client left before admission was decided');
    t.equal(s.px.gate.counter.active, 1, 'given back when the client left');
    redis.resume();
    await until(() => m.fleetLeases === 1, "the late lease given back; the other session's kept");
    t.equal(s.px.gate.counter.active, 1, 'not given back a second time');
    t.same([m.upgradesAccepted, m.upgradesDraining, m.upgradesFleetCapacity], [1, 0, 0], 'never counted');

    // The fleet counts subjects (MAX_SESSIONS_PER_SUBJECT=1): the leaver's place is free once
    // Redis has the late lease back (its release is a round trip after the local count drops).
    t.equal(await sessionsIn(redis.url, 'pf3:{fleet}:fleet', 1), 1, "Redis holds the other session's lease alone");
    const again = await upgradeOnce(s.port, { query: `ticket=${await ticket('leaver')}`, keep: true });
    t.equal(again.status, 101);
    t.equal(await sessionsIn(redis.url, 'pf3:{fleet}:fleet', 2), 2, 'Redis counts the two live sessions');
    other.socket.destroy();
    again.socket.destroy();
    await until(() => m.fleetLeases === 0 && s.px.gate.counter.active === 0, 'all given back on close');
  },
);
