// What each session holds for its slow peers, charged to the process buffer
// budget (buffer-budget.ts; docs/decisions/0007-buffer-budget.md): uWS's
// buffer toward the browser at its largest, the queue kept while the upstream
// connects, the upstream socket's write buffer, and an upstream message that
// spans reads beyond one read's worth. A session touches the shared total
// only when what it holds changes by a KiB; a spent budget sheds the sessions
// of this thread that hold the most (1013).
import { Errors } from '../errors';
import { toKiB } from './buffer-budget';
import type { Relay } from './relay';
import type { Session } from './session';
import type { UpstreamSocket } from '../upstream/socket';

/**
 * Bytes in an upstream socket's write buffer that are not charged to the
 * budget: a write the kernel has not yet taken (the stream's own high-water
 * mark). Anything above is a slow upstream and counts.
 */
const UPSTREAM_SLACK_BYTES = 16 * 1024;

/**
 * What the upstream parser holds for a message that spans reads is charged
 * beyond this: one read's worth, the frame a read cut, which every reader
 * holds between two reads (and a stalled one for as long as it is paused);
 * the per-session bound already counts it, and charging it too would shed
 * readers that pausing keeps within the budget (docs/decisions/0007-buffer-budget.md).
 */
const ASSEMBLY_SLACK_BYTES = 64 * 1024;

/** Charge the budget for what `s` holds now; shed when that spends it. */
export function account(r: Relay, s: Session): void {
  const assembly = s.heldAssembly > ASSEMBLY_SLACK_BYTES ? s.heldAssembly - ASSEMBLY_SLACK_BYTES : 0;
  const kib = toKiB(s.heldClient + s.heldUpstream + s.pendingBytes + assembly);
  const delta = kib - s.heldKiB;
  if (delta === 0) return;
  s.heldKiB = kib;
  if (r.budget.add(delta) > r.budget.limitKiB && delta > 0) r.outbox.shedWhenSafe(r);
}

/**
 * uWS keeps a socket's backpressure in a std::string that never gives its
 * capacity back: after a drain the bytes are gone but the allocation stays
 * until the socket closes (docs/decisions/0007-buffer-budget.md). So a
 * session is charged for the largest buffer it has had toward its browser,
 * rounded up to a power of two as the string grows, until it closes; a shed
 * frees exactly that.
 */
export function noteClientBuffer(r: Relay, s: Session, buffered: number): void {
  if (buffered <= s.heldClient) return;
  s.heldClient = 2 ** Math.ceil(Math.log2(buffered));
  account(r, s);
}

/**
 * What the upstream parser holds for a message that spans reads changed
 * (once per read at most). Beyond ASSEMBLY_SLACK_BYTES it is charged like
 * bytes held for a slow browser, and a spent budget sheds the sessions
 * holding the most; but it does not pause this session's reads when the
 * budget is short: a message is only let go of once it is read to its end,
 * so pausing its readers would hold the memory longer, not free it.
 */
export function noteAssembly(r: Relay, s: Session, bytes: number): void {
  s.heldAssembly = bytes;
  account(r, s);
}

/** Re-reads the upstream socket's write buffer; returns it. */
export function noteUpstreamBuffer(r: Relay, s: Session, up: UpstreamSocket<Session>): number {
  const buffered = up.bufferedAmount;
  const held = buffered > UPSTREAM_SLACK_BYTES ? buffered : 0;
  if (held !== s.heldUpstream) {
    s.heldUpstream = held;
    account(r, s);
  }
  return buffered;
}

/** Past the bound toward a slow upstream: close rather than buffer more. */
export function checkUpstreamBuffer(r: Relay, s: Session, up: UpstreamSocket<Session>): void {
  if (noteUpstreamBuffer(r, s, up) > r.opts.upstreamMaxBufferedBytes && s.client !== null) {
    r.metrics.slowUpstreamCloses++;
    r.fail(s, Errors.SLOW_UPSTREAM);
  }
}

/** The session holds nothing for anyone any more: give its share of the budget back. */
export function releaseHeld(r: Relay, s: Session): void {
  s.pendingBytes = 0;
  s.heldClient = 0;
  s.heldUpstream = 0;
  s.heldAssembly = 0;
  if (s.upstream !== null) s.upstream.dropReads();
  account(r, s);
}

/**
 * The budget is spent: close the sessions of this thread that hold the
 * most (1013) until it is not. Every thread sees the same total, so each
 * sheds its own largest; the sort runs only when the budget is spent.
 */
export function shed(r: Relay): void {
  const budget = r.budget;
  if (budget.heldKiB <= budget.limitKiB) return;
  const list: Session[] = [];
  for (const s of r.sessions) if (s.heldKiB > 0 && s.client !== null) list.push(s);
  if (list.length === 0) return;
  list.sort(byHeldDesc);
  const heldBefore = budget.heldKiB;
  let count = 0;
  for (let i = 0; i < list.length && budget.heldKiB > budget.limitKiB; i++) {
    count++;
    r.metrics.bufferBudgetSheds++;
    r.fail(list[i], Errors.BUFFER_BUDGET);
  }
  list[0].log.warn(
    { heldBytes: heldBefore * 1024, budgetBytes: budget.limitBytes, sessionsShed: count },
    'buffer budget spent: shedding the sessions holding the most',
  );
}

function byHeldDesc(a: Session, b: Session): number {
  return b.heldKiB - a.heldKiB;
}
