// Upstream -> browser frames wait in one process-wide outbox while an
// upstream read is being parsed, then go out corked, one run per session: a
// read that carries a burst of response.audio.delta frames (Voice Live streams
// them faster than real time) costs one send call instead of one per frame.
// The reader brackets each read with beforeRead/afterRead, so the flush
// happens right after the read, with no microtask per read (which measured +4k
// instructions per frame). A frame that arrives outside a read (ws drains the
// socket when it closes) is flushed before the close (flush()), or by a
// microtask. Flat parallel arrays, module-level functions: nothing is
// allocated per frame.

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

/** uWS send() results. */
const SEND_SUCCESS = 1;
const SEND_DROPPED = 2;

const outSessions: OutboxSession[] = [];
const outData: Buffer[] = [];
const outBinary: boolean[] = [];
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
  outSessions.push(s);
  outData.push(data);
  outBinary.push(isBinary);
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
  if (outSessions.length > 0) flushOutbox();
}

/** Send what is queued now (before a close goes out behind it); a no-op inside a flush. */
export function flush(): void {
  if (outSessions.length > 0 && !flushing) flushOutbox();
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
  const n = outSessions.length;
  if (n === 0) return;
  flushing = true;
  try {
    sendRuns(n);
  } finally {
    flushing = false;
    outSessions.length = 0;
    outData.length = 0;
    outBinary.length = 0;
  }
  if (shedAfterFlush !== null) {
    const owner = shedAfterFlush;
    shedAfterFlush = null;
    owner.shed();
  }
}

function sendRuns(n: number): void {
  for (let i = 0; i < n;) {
    const s = outSessions[i];
    let j = i + 1;
    while (j < n && outSessions[j] === s) j++;
    // A session that closed meanwhile drops what was waiting for it.
    if (s.client !== null && !s.finished) {
      runSession = s;
      runStart = i;
      runEnd = j;
      runDropped = false;
      runClean = true;
      s.client.cork(sendRun);
      // SUCCESS for every send means nothing is buffered: skip the native buffered-amount call.
      if (!runClean) s.relay.afterSends(s, runDropped);
    }
    i = j;
  }
}
