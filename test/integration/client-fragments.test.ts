// What a browser's unfinished fragmented message costs, measured: uWS
// assembles it in its own buffer before the proxy's message handler runs, so
// the proxy can neither see nor charge it. What bounds it: its size
// (2 x MAX_MESSAGE_BYTES, past which uWS cuts the connection) and its time
// (CLIENT_IDLE_TIMEOUT_MS and IDLE_TIMEOUT_MS count complete messages only: pings do not
// extend them).
// docs/security.md "What a hostile session can hold at most" uses both.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';

const MIB = 1024 * 1024;

t.test('ten sessions each hold an unfinished 2 MiB message and ping: bounded by the idle limit', async (t) => {
  const h = await startHarness(t, { IDLE_TIMEOUT_MS: '2000', BUFFER_BUDGET_BYTES: String(256 * MIB) });
  const clients = [];
  for (let i = 0; i < 10; i++) {
    const c = h.client();
    await c.waitFor('session.created');
    clients.push(c);
  }
  global.gc?.();
  const before = process.memoryUsage().rss;
  const opened = Date.now();
  // Just under maxPayloadLength (2 x MAX_MESSAGE_BYTES): uWS reserves the whole frame up front.
  const first = Buffer.alloc(2 * MIB - 1024, 7);
  for (const c of clients) c.ws.send(first, { binary: true, fin: false });
  const timers = clients.map((c) => setInterval(() => c.ws.readyState === 1 && c.ws.ping(), 200));
  t.teardown(() => timers.forEach(clearInterval));
  await until(() => process.memoryUsage().rss - before > 10 * MIB, 'uWS to take the fragments', 5_000).catch(() => {});
  const grew = (process.memoryUsage().rss - before) / MIB;
  t.comment(
    `RSS +${grew.toFixed(1)} MiB for 10 unfinished messages; budget charged ${h.proxy.relay.budget.heldKiB} KiB`,
  );
  t.equal(h.proxy.relay.budget.heldKiB, 0, 'not charged: uWS holds it, the proxy never sees it');

  const closes = await Promise.all(clients.map((c) => c.closed));
  const lasted = Date.now() - opened;
  for (const close of closes) t.same(close, { code: 1000, reason: 'Idle timeout' });
  t.ok(lasted < 2000 + 6000, `all closed by the idle limit despite pings (${lasted} ms)`);
});

t.test('a fragmented message past 2 x MAX_MESSAGE_BYTES ends the connection', async (t) => {
  const h = await startHarness(t, { MAX_MESSAGE_BYTES: String(64 * 1024) });
  const c = h.client();
  await c.waitFor('session.created');
  const part = Buffer.alloc(48 * 1024, 1);
  for (let i = 0; i < 3; i++) c.ws.send(part, { binary: true, fin: false });
  const closed = await c.closed;
  t.not(closed.code, 1000, `closed ${closed.code}`);
  await until(() => h.proxy.relay.sessions.size === 0, 'the session to end');
});

t.test('an unfinished message is ended by CLIENT_IDLE_TIMEOUT_MS: 1000 client_idle, pings or not', async (t) => {
  // A message in fragments blocks every other data message on the socket (RFC 6455 5.4), so the
  // browser's frame count cannot move while it is unfinished: the client-idle rule bounds it in time.
  const h = await startHarness(t, { CLIENT_IDLE_TIMEOUT_MS: '1500', IDLE_TIMEOUT_MS: '600000' });
  const c = h.client();
  await c.waitFor('session.created');
  const opened = Date.now();
  c.ws.send(Buffer.alloc(256 * 1024, 3), { binary: true, fin: false });
  const timer = setInterval(() => c.ws.readyState === 1 && c.ws.ping(), 200);
  t.teardown(() => clearInterval(timer));
  const closed = await c.closed;
  t.same(closed, { code: 1000, reason: 'Client idle timeout' });
  // The sweep's coarse clock starts the count at the session's open, a little before `opened`.
  t.ok(Date.now() - opened >= 1000, 'not long before the bound');
  await until(() => h.proxy.relay.sessions.size === 0, 'the session to end');
});
