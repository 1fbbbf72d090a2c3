// Upstream -> browser frames wait in one process-wide outbox while an
// upstream read is being parsed, then go out one run per session (corked when
// it holds more than one frame): a read that carries a burst of
// response.audio.delta frames (Voice Live streams them faster than real time)
// costs one write instead of one per frame (a run larger than uWS's 16 KiB
// cork buffer goes out in corks that each fit it).
// The reader brackets each read with beforeRead/afterRead, so the flush
// happens right after the read, with no microtask per read (which measured +4k
// instructions per frame). A frame that arrives outside a read (ws drains the
// socket when it closes) is flushed before the close (flush()), or by a
// microtask. Flat parallel arrays that keep their storage between reads,
// module-level functions: nothing is allocated per frame or per read.

/** The part of a uWS socket the outbox uses. */
export interface OutboxClient {
  cork(cb: () => void): unknown;
  send(message: Buffer, isBinary: boolean): number;
}

/** Whoever owns a session: told about a run that did not go out cleanly, and asked to shed. */
export interface OutboxOwner<S> {
  afterSends(s: S, dropped: boolean): void;
  shed(): void;
}

/** A session as the outbox sees it (relay/session.ts). */
export interface OutboxSession {
  readonly client: OutboxClient | null;
  readonly finished: boolean;
  readonly relay: OutboxOwner<this>;
}

/**
 * uWS's cork buffer (LoopData::CORK_BUFFER_SIZE). A corked run that outgrows
 * it does not fail: uWS moves what is corked, and every frame after it, into
 * the socket's own backpressure string (zero-filled as it grows, copied, and
 * never given back until the socket closes), and send() reports backpressure.
 * So a session's run goes out in corks that each fit: one write each, nothing
 * kept. Measured with 8 echoes in flight per session (bench/instructions.mjs):
 * that spill was 2.3k instructions of memset and 2k of memcpy per frame.
 */
const CORK_BYTES = 16 * 1024;

/** uWS send() results. */
const SEND_SUCCESS = 1;
const SEND_DROPPED = 2;

const EMPTY = Buffer.alloc(0);
// Filled up to `queued` and emptied by overwriting, never by `length = 0`:
// V8 frees an array's storage when its length is set to 0, so the next push
// allocated it again, three arrays on every read (measured with the sampling
// heap profiler at 1000 sessions: about 40 % of the proxy's garbage). Their
// size is bounded by the most frames one read can carry.
const outSessions: (OutboxSession | null)[] = [];
const outData: Buffer[] = [];
const outBinary: boolean[] = [];
let queued = 0;
let flushQueued = false;
/** Inside a flush: a close decided meanwhile must not flush the outbox again. */
let flushing = false;
/** An owner whose budget was found spent during a flush: it sheds once the flush is done. */
let shedAfterFlush: OutboxOwner<OutboxSession> | null = null;
/** Inside an upstream read (reads never nest: one socket reads at a time). */
let inRead = false;
let runSession: OutboxSession;
let runStart = 0;
let runEnd = 0;
let runDropped = false;
let runClean = true;

/** Queue one frame for `s`'s browser; it goes out after the current read (or in a microtask). */
export function enqueue(s: OutboxSession, data: Buffer, isBinary: boolean): void {
  outSessions[queued] = s;
  outData[queued] = data;
  outBinary[queued] = isBinary;
  queued++;
  if (!inRead && !flushQueued) {
    flushQueued = true;
    queueMicrotask(flushOutbox);
  }
}

/** An upstream read starts: frames queued from here wait for afterRead. */
export function beforeRead(): void {
  inRead = true;
}

/** The read is parsed: send what it produced. */
export function afterRead(): void {
  inRead = false;
  if (queued > 0) flushOutbox();
}

/** Send what is queued now (before a close goes out behind it); a no-op inside a flush. */
export function flush(): void {
  if (queued > 0 && !flushing) flushOutbox();
}

/** Shed now, or once the running flush is done (a shed closes sockets the flush may still be sending to). */
export function shedWhenSafe(owner: OutboxOwner<OutboxSession>): void {
  if (flushing) shedAfterFlush = owner;
  else owner.shed();
}

function sendRun(): void {
  const client = runSession.client!;
  for (let k = runStart; k < runEnd; k++) {
    const result = client.send(outData[k], outBinary[k]);
    if (result === SEND_SUCCESS) continue;
    runClean = false;
    if (result === SEND_DROPPED) {
      runDropped = true;
      return;
    }
  }
}

function flushOutbox(): void {
  flushQueued = false;
  const n = queued;
  if (n === 0) return;
  flushing = true;
  try {
    sendRuns(n);
  } finally {
    flushing = false;
    // Let go of what was sent (sessions that may close, assembled messages).
    for (let k = 0; k < queued; k++) {
      outSessions[k] = null;
      outData[k] = EMPTY;
    }
    queued = 0;
  }
  if (shedAfterFlush !== null) {
    const owner = shedAfterFlush;
    shedAfterFlush = null;
    owner.shed();
  }
}

function sendRuns(n: number): void {
  for (let i = 0; i < n;) {
    const s = outSessions[i]!;
    let j = i + 1;
    while (j < n && outSessions[j] === s) j++;
    // A session that closed meanwhile drops what was waiting for it.
    if (s.client !== null && !s.finished) sendSession(s, i, j);
    i = j;
  }
}

/**
 * Frames i..j-1, all for `s`: in corks that fit uWS's cork buffer, stopping
 * at a drop. A single frame goes without a cork of ours: uWS's send corks and
 * uncorks by itself when it can (WebSocket::send), so cork() would only add a
 * call from native code back into JavaScript, on the commonest run there is
 * (bench/uws-send.mjs: 1,307-1,467 instructions per send against 2,084-2,090).
 */
function sendSession(s: OutboxSession, i: number, j: number): void {
  runSession = s;
  runDropped = false;
  runClean = true;
  if (j - i === 1) {
    runStart = i;
    runEnd = j;
    sendRun();
  } else {
    sendCorked(s, i, j);
  }
  // SUCCESS for every send means nothing is buffered: skip the native buffered-amount call.
  if (!runClean) s.relay.afterSends(s, runDropped);
}

/** Frames i..j-1 of a run of several, in corks that each fit uWS's cork buffer. */
function sendCorked(s: OutboxSession, i: number, j: number): void {
  for (let start = i; start < j && !runDropped;) {
    let end = start + 1;
    let bytes = framedSize(outData[start].length);
    while (end < j) {
      const next = framedSize(outData[end].length);
      if (bytes + next >= CORK_BYTES) break;
      bytes += next;
      end++;
    }
    runStart = start;
    runEnd = end;
    s.client!.cork(sendRun);
    start = end;
  }
}

/** A server frame's size on the wire: payload and an unmasked header. */
function framedSize(len: number): number {
  return len + (len < 126 ? 2 : len < 65536 ? 4 : 10);
}
