// Flow control toward the browser: when uWS holds more for a browser than the
// high-water mark (or anything at all while the buffer budget is short), the
// session stops reading its upstream, so the rest waits in the upstream's TCP
// window rather than in our memory; the browser's drain resumes it below half
// the mark. A paused session that stays paused past SLOW_PEER_TIMEOUT_MS is
// closed by the sweeper, and so is one whose send backlog has not moved for
// that long, however small: uWS holds bytes only once the kernel's send queue
// is full, so a backlog that never drains means a browser that reads nothing
// (a real-time client that far behind is gone).
import { Errors } from '../errors';
import { noteClientBuffer } from './accounting';
import type { Relay } from './relay';
import type { Session } from './session';

/** After a run of sends to one browser that did not all succeed (outbox.ts): apply backpressure. */
export function afterSends(r: Relay, s: Session, dropped: boolean): void {
  const client = s.client;
  if (client === null) return;
  if (dropped) {
    // Only reachable if a single read's frames exceed the uWS backpressure budget.
    r.metrics.slowClientCloses++;
    r.fail(s, Errors.SLOW_CLIENT);
    return;
  }
  const buffered = client.getBufferedAmount();
  noteClientBuffer(r, s, buffered);
  if (buffered === 0) s.backlogAt = 0;
  else if (s.backlogAt === 0) s.backlogAt = r.now;
  if (s.paused || s.client === null) return;
  if (buffered > r.opts.clientHighWaterBytes) {
    r.metrics.backpressurePauses++;
    pause(s, r.now);
  } else if (buffered > 0 && r.budget.short) {
    // The budget is short: a browser that is behind at all waits with the
    // rest in the upstream's TCP window rather than in our memory.
    r.metrics.bufferBudgetPauses++;
    pause(s, r.now);
  }
}

/** uWS `drain`: the browser caught up; resume reading the upstream below half the mark. */
export function clientDrain(r: Relay, s: Session): void {
  if (s.client === null) return;
  // uWS wrote some out: the browser reads. The clock restarts, or stops when nothing waits.
  if (s.backlogAt !== 0) s.backlogAt = s.client.getBufferedAmount() > 0 ? r.now : 0;
  if (!s.paused) return;
  if (s.client.getBufferedAmount() <= r.opts.clientHighWaterBytes / 2) {
    s.paused = false;
    // A pong may sit unread in the paused socket: do not let the next
    // keepalive round mistake that for a dead upstream.
    s.upstreamAlive = true;
    s.upstream?.resume();
  }
}

function pause(s: Session, now: number): void {
  s.paused = true;
  s.pausedAt = now;
  s.upstream?.pause();
}
