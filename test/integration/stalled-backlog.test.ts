// A browser that reads nothing is closed as too slow after SLOW_PEER_TIMEOUT_MS
// even when its backlog stays below the high-water mark: otherwise what uWS
// and the kernel's send queue hold for it stays until the idle limit.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';

const MB = 1024 * 1024;

t.test('a stalled reader below the high-water mark is closed 1008 slow_client within the bound', async (t) => {
  const h = await startHarness(t, {
    // Far above what the burst leaves in uWS: the session is never paused.
    CLIENT_HIGH_WATER_BYTES: String(64 * MB),
    BUFFER_BUDGET_BYTES: String(4096 * MB),
    SLOW_PEER_TIMEOUT_MS: '1000',
  });
  const stalled = h.client('', { discard: true });
  await until(() => stalled.bytesReceived > 0, 'session.created');
  stalled.ws.pause();
  const started = Date.now();
  stalled.send(JSON.stringify({ type: 'simulator.burst', bytes: 24 * MB, frameBytes: 64 * 1024 }));
  const session = [...h.proxy.relay.sessions][0];
  t.ok(session, 'the session is open');
  // Bytes wait in uWS only once the kernel's send queue is full.
  await until(() => session.client === null || session.client.getBufferedAmount() > 0, 'a backlog in uWS', 20_000);
  t.equal(session.paused, false, 'never paused: the paused-too-long rule does not apply');
  await until(() => h.proxy.metrics.slowClientCloses === 1, 'the slow client close', 15_000);
  const waited = Date.now() - started;
  t.ok(waited < 10_000, `closed ${waited} ms after the burst began`);
  const line = await h.logLine('session closed');
  t.equal(line.clientCloseCode, 1008);
  t.equal(h.proxy.relay.sessions.size, 0);
});

t.test('a reader that keeps reading is not closed', async (t) => {
  const h = await startHarness(t, {
    CLIENT_HIGH_WATER_BYTES: String(64 * MB),
    BUFFER_BUDGET_BYTES: String(4096 * MB),
    SLOW_PEER_TIMEOUT_MS: '3000',
  });
  const reader = h.client('', { discard: true });
  await until(() => reader.bytesReceived > 0, 'session.created');
  const before = reader.bytesReceived;
  reader.send(JSON.stringify({ type: 'simulator.burst', bytes: 64 * MB, frameBytes: 64 * 1024 }));
  await until(() => reader.bytesReceived - before >= 64 * MB, 'the whole burst', 30_000);
  t.equal(h.proxy.metrics.slowClientCloses, 0);
  t.equal(h.proxy.relay.sessions.size, 1);
});
