// What a browser's unfinished fragmented message costs, measured: uWS
// assembles it in its own buffer before the proxy's message handler runs, so
// the proxy can neither see nor charge it. What bounds it: its size
// (2 x MAX_MESSAGE_BYTES, past which uWS cuts the connection) and its time
// (IDLE_TIMEOUT_MS counts complete messages only: pings do not extend it).
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
