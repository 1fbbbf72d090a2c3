// Flow control toward the browser (src/relay/flow.ts) over real sockets: a
// browser that does not read builds backpressure in uWS; past the high-water
// mark its upstream stops being read, and it is charged for uWS's buffer at
// its largest (a power of two); once the browser reads again, the drain below
// half the mark resumes the upstream and every frame arrives, in order.
import t from 'tap';
import { UpstreamState } from '../../src/relay/session';
import { socketOf } from '../../src/upstream/ws-adapter';
import { until } from '../helpers/wait';
import { startRelay } from '../helpers/relay-harness';

const FRAME = 64 * 1024;
/** A bound on the frames sent to reach the mark (1 GiB): the loop stops at the pause. */
const MAX_FRAMES = 16 * 1024;

t.test('past the high-water mark the upstream pauses; the drain resumes it', async (t) => {
  const h = await startRelay(t, { relay: { clientHighWaterBytes: 256 * 1024 } });
  const { browser, s } = await h.connect();
  const up = await h.upstream.nextConnection();
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  // The browser stops reading: what uWS cannot write waits in its buffer.
  socketOf(browser.ws)!.pause();
  // Until the kernel's buffers are full and uWS holds the rest: then the session pauses.
  let sent = 0;
  while (!s.paused && sent < MAX_FRAMES) {
    up.ws.send(Buffer.alloc(FRAME, sent & 0xff));
    sent++;
    if (up.ws.bufferedAmount > 2 * 1024 * 1024) await new Promise((r) => setImmediate(r));
  }
  await until(() => s.paused, 'the session to pause');
  t.ok(s.upstream!.isPaused, 'the upstream socket is not read');
  t.ok(h.metrics.backpressurePauses >= 1);
  t.ok(s.pausedAt > 0);
  t.equal(Math.log2(s.heldClient) % 1, 0, 'the browser buffer is charged at a power of two');
  t.ok(s.heldClient > 256 * 1024, 'past the mark');
  t.ok(h.budget.heldKiB >= s.heldClient / 1024, 'and charged to the budget');
  socketOf(browser.ws)!.resume();
  await until(() => browser.messages.length === sent, 'every frame to arrive', 60_000);
  t.notOk(s.paused, 'resumed');
  t.notOk(s.upstream!.isPaused, 'the upstream is read again');
  t.ok(s.upstreamAlive, 'a pong left unread while paused is not taken for a dead upstream');
  t.same(
    browser.messages.map((m) => m.data[0]),
    Array.from({ length: sent }, (_, i) => i & 0xff),
    'in order',
  );
  const charged = s.heldClient;
  t.ok(charged > 0, 'the largest buffer stays charged while the session lives');
  browser.ws.close(1000);
  await h.finishedOf(s);
  t.equal(h.budget.heldKiB, 0, 'released when it ends');
});
