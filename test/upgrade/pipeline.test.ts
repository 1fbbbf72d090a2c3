// The admission pipeline over real sockets, without Redis: a synchronous
// upgrade when no async step is configured, each refusal's answer (status,
// code, Retry-After) counted once under its outcome, draining re-checked after
// the caller's wait, and the slot and the subject's place given back exactly
// once whichever way an attempt ends.
import t from 'tap';
import { mintTicket } from '../../src/auth/mint-ticket';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server';
import { until } from '../helpers/wait';
import { codeOf, sendUpgrade, startUpgradeServer, upgradeOnce } from '../helpers/upgrade-server';

const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';
const ORIGIN = 'http://localhost:3000';
const now = (): number => Math.floor(Date.now() / 1000);

let jwks: JwksServer;
t.before(async () => {
  jwks = await startJwksServer();
});
t.teardown(() => jwks.close());

const ticket = (sub: string): Promise<string> => mintTicket({ sub, secret: SECRET, origin: ORIGIN });

t.test('no async step configured: the 101 is given inside the upgrade handler call', async (t) => {
  const s = await startUpgradeServer(t);
  const a = await upgradeOnce(s.port, { keep: true });
  t.equal(a.status, 101);
  t.same(s.events, ['open', 'handler returned'], 'open ran before the handler returned');
  t.equal(s.px.metrics.upgradesAccepted, 1);
  t.equal(s.px.gate.counter.active, 1, 'the session holds its slot');
  a.socket.destroy();
  await until(() => s.events.includes('close'), 'closed');
  t.equal(s.px.gate.counter.active, 0, 'given back on close');
});

t.test('with CLIENT_AUTH the upgrade is deferred and corked after the verification', async (t) => {
  const s = await startUpgradeServer(t, { CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET });
  const a = await upgradeOnce(s.port, { query: `ticket=${await ticket('u1')}` });
  t.equal(a.status, 101);
  t.same(s.events.slice(0, 2), ['handler returned', 'open']);
  t.equal(s.px.metrics.upgradesAccepted, 1);
});

t.test('gate refusals: status, code, Retry-After and outcome; no slot kept', async (t) => {
  const s = await startUpgradeServer(t, {
    MAX_CONNECTIONS: '2',
    MAX_CONNECTIONS_PER_IP: '1',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '5',
    UPGRADE_RATE_LIMIT_WINDOW_MS: '60000',
  });
  const m = s.px.metrics;
  const origin = await upgradeOnce(s.port, { origin: 'https://evil.example', localAddress: '127.0.0.9' });
  t.same([origin.status, codeOf(origin), origin.headers['retry-after']], [403, 'origin_not_allowed', undefined]);
  t.equal(m.upgradesOrigin, 1);

  const first = await upgradeOnce(s.port, { keep: true, localAddress: '127.0.0.1' });
  t.equal(first.status, 101);
  const sameIp = await upgradeOnce(s.port, { localAddress: '127.0.0.1' });
  t.same([sameIp.status, codeOf(sameIp), sameIp.headers['retry-after']], [503, 'ip_at_capacity', '5']);
  t.equal(m.upgradesIpCapacity, 1);
  const second = await upgradeOnce(s.port, { keep: true, localAddress: '127.0.0.2' });
  t.equal(second.status, 101);
  const full = await upgradeOnce(s.port, { localAddress: '127.0.0.3' });
  t.same([full.status, codeOf(full), full.headers['retry-after']], [503, 'at_capacity', '5']);
  t.equal(m.upgradesCapacity, 1);
  t.equal(s.px.gate.counter.active, 2, 'only the two admitted sessions hold a slot');

  // 127.0.0.1 has spent two of its five tokens.
  for (let i = 0; i < 3; i++) await upgradeOnce(s.port, { localAddress: '127.0.0.1' });
  const rate = await upgradeOnce(s.port, { localAddress: '127.0.0.1' });
  t.same([rate.status, codeOf(rate)], [429, 'rate_limited']);
  t.ok(Number(rate.headers['retry-after']) >= 1, "the limiter's computed Retry-After");
  t.equal(m.upgradesRate, 1);

  s.px.gate.draining = true;
  const draining = await upgradeOnce(s.port, { localAddress: '127.0.0.4' });
  t.same([draining.status, codeOf(draining), draining.headers['retry-after']], [503, 'draining', '5']);
  t.equal(m.upgradesDraining, 1);
  t.match(await s.logLine('upgrade refused'), { level: 'debug', ip: '127.0.0.9', outcome: 'origin' });
  t.equal(m.upgradesAccepted, 2);
  first.socket.destroy();
  second.socket.destroy();
  await until(() => s.px.gate.counter.active === 0, 'both slots given back');
});

t.test('caller refusals: 401 without Retry-After, 503 with it; subject cap 429 with it', async (t) => {
  const s = await startUpgradeServer(t, {
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
    // Nothing listens there: keys cannot be fetched, which is the proxy's trouble, not the caller's.
    TICKET_JWKS_URL: 'http://127.0.0.1:9/keys',
    MAX_SESSIONS_PER_SUBJECT: '1',
  });
  const m = s.px.metrics;
  const missing = await upgradeOnce(s.port);
  t.same([missing.status, codeOf(missing), missing.headers['retry-after']], [401, 'auth_missing', undefined]);
  t.match(missing.headers['www-authenticate'], /^Bearer realm=/);
  const invalid = await upgradeOnce(s.port, { query: 'ticket=a.b.c' });
  t.same([invalid.status, codeOf(invalid), invalid.headers['retry-after']], [401, 'auth_invalid', undefined]);
  const rs = await jwks.sign('RS256', { sub: 'x', aud: 'voice-live-proxy', exp: now() + 60 });
  const unavailable = await upgradeOnce(s.port, { query: `ticket=${rs}` });
  t.same([unavailable.status, codeOf(unavailable), unavailable.headers['retry-after']], [503, 'auth_unavailable', '5']);
  t.equal(m.upgradesUnauthorized, 3, 'every caller refusal counted as unauthorized');
  t.match(await s.logLine('caller refused'), { level: 'info', ip: '127.0.0.1', reason: 'missing' });

  const holder = await upgradeOnce(s.port, { query: `ticket=${await ticket('alice')}`, keep: true });
  t.equal(holder.status, 101);
  const capped = await upgradeOnce(s.port, { query: `ticket=${await ticket('alice')}` });
  t.same([capped.status, codeOf(capped), capped.headers['retry-after']], [429, 'subject_at_capacity', '5']);
  t.equal(m.upgradesSubjectCapacity, 1);
  t.match(await s.logLine('subject at capacity'), { level: 'info', subject: 'alice' });
  t.equal(s.px.gate.counter.active, 1, "the capped attempt's slot was given back");

  holder.socket.destroy();
  await until(() => s.px.gate.counter.active === 0, 'slot given back on close');
  const again = await upgradeOnce(s.port, { query: `ticket=${await ticket('alice')}` });
  t.equal(again.status, 101, "the subject's place was given back on close");
});

t.test('draining is checked after the caller verification: 503 draining, nothing kept', async (t) => {
  const keys = await startJwksServer();
  t.teardown(() => keys.close());
  keys.hold = true;
  const s = await startUpgradeServer(t, {
    CLIENT_AUTH: 'ticket',
    TICKET_JWKS_URL: keys.url,
    MAX_SESSIONS_PER_SUBJECT: '1',
    // The same ticket is presented again below to see what was kept: reusable on purpose.
    TICKET_REQUIRE_JTI: 'false',
  });
  const rs = await keys.sign('RS256', { sub: 'late', aud: 'voice-live-proxy', exp: now() + 60 });
  const fetched = keys.nextFetch();
  const pending = sendUpgrade(s.port, { query: `ticket=${rs}` });
  await fetched;
  t.equal(s.px.gate.counter.active, 1, 'the waiting attempt holds a slot');
  s.px.gate.draining = true;
  keys.release();
  const a = await pending.answer;
  pending.socket.destroy();
  t.same([a.status, codeOf(a), a.headers['retry-after']], [503, 'draining', '5']);
  const m = s.px.metrics;
  t.same([m.upgradesDraining, m.upgradesAccepted, m.upgradesUnauthorized], [1, 0, 0], 'counted as draining');
  t.equal(m.authOk, 1, 'the verification itself succeeded');
  t.equal(s.px.gate.counter.active, 0, 'slot given back');
  t.match(await s.logLine('upgrade refused'), { ip: '127.0.0.1', outcome: 'draining' });

  s.px.gate.draining = false;
  const again = await upgradeOnce(s.port, { query: `ticket=${rs}` });
  t.equal(again.status, 101, "the subject's place was never taken");
});

t.test('a client gone during the caller verification: slot given back once, no subject place taken', async (t) => {
  const keys = await startJwksServer();
  t.teardown(() => keys.close());
  const s = await startUpgradeServer(t, {
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
    TICKET_JWKS_URL: keys.url,
    MAX_SESSIONS_PER_SUBJECT: '1',
    // The same ticket is presented again below to see what was kept: reusable on purpose.
    TICKET_REQUIRE_JTI: 'false',
  });
  const m = s.px.metrics;
  // Another session holds a slot throughout: a second give-back would take it.
  const other = await upgradeOnce(s.port, { query: `ticket=${await ticket('other')}`, keep: true });
  t.equal(other.status, 101);

  keys.hold = true;
  const rs = await keys.sign('RS256', { sub: 'leaver', aud: 'voice-live-proxy', exp: now() + 60 });
  const fetched = keys.nextFetch();
  const pending = sendUpgrade(s.port, { query: `ticket=${rs}` });
  pending.answer.catch(() => {});
  await fetched;
  t.equal(s.px.gate.counter.active, 2, 'the waiting attempt holds a slot');
  pending.socket.resetAndDestroy();
  t.match(await s.logLine('client left before admission was decided'), { ip: '127.0.0.1' });
  t.equal(s.px.gate.counter.active, 1, 'given back when the client left');
  keys.release();
  await until(() => m.authOk === 2, 'the verification finished');
  t.equal(s.px.gate.counter.active, 1, 'not given back a second time');
  t.same([m.upgradesAccepted, m.upgradesUnauthorized, m.upgradesDraining], [1, 0, 0], 'never counted');

  const again = await upgradeOnce(s.port, { query: `ticket=${rs}` });
  t.equal(again.status, 101, "the leaver's subject place was never taken");
  other.socket.destroy();
  await until(() => s.px.gate.counter.active === 0, 'all given back');
});
