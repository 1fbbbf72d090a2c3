// Upstream -> browser frames wait in one outbox per thread while an upstream
// read is being parsed, then go out one run per session (corked when it holds
// more than one frame): a read that carries a burst of response.audio.delta
// frames (Voice Live streams them faster than real time) costs one write
// instead of one per frame (a run larger than uWS's 16 KiB cork buffer goes
// out in corks that each fit it). See docs/decisions/0002-outbox-corking.md.
// The reader brackets each read with beforeRead/afterRead, so the flush
// happens right after the read, with no microtask per read. A frame that
// arrives outside a read (ws drains the socket when it closes) is flushed
// before the close (flush()), or by a microtask. Flat parallel arrays that keep
// their storage between reads, and cork callbacks bound once: nothing is
// allocated per frame or per read.

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
 * kept (the cost of that spill: docs/decisions/0002-outbox-corking.md).
 */
const CORK_BYTES = 16 * 1024;

/** uWS send() results. */
const SEND_SUCCESS = 1;
const SEND_DROPPED = 2;

const EMPTY = Buffer.alloc(0);

export class Outbox {
  // Filled up to `queued` and emptied by overwriting, never by `length = 0`:
  // V8 frees an array's storage when its length is set to 0, so the next push
  // would allocate it again, three arrays on every read. Their size is
  // bounded by the most frames one read can carry.
  private readonly outSessions: (OutboxSession | null)[] = [];
  private readonly outData: Buffer[] = [];
  private readonly outBinary: boolean[] = [];
  private queued = 0;
  private flushQueued = false;
  /** Inside a flush: a close decided meanwhile must not flush the outbox again. */
  private flushing = false;
  /** An owner whose budget was found spent during a flush: it sheds once the flush is done. */
  private shedAfterFlush: OutboxOwner<OutboxSession> | null = null;
  /** Inside an upstream read (reads never nest: one socket reads at a time). */
  private inRead = false;
  // The run being sent: cork() runs its callback synchronously.
  private runSession: OutboxSession | null = null;
  private runStart = 0;
  private runEnd = 0;
  private runDropped = false;
  private runClean = true;
  /** Bound once: handed to cork() and queueMicrotask() without a closure per call. */
  private readonly sendRunBound: () => void;
  private readonly flushBound: () => void;

  constructor() {
    this.sendRunBound = this.sendRun.bind(this);
    this.flushBound = this.flushOutbox.bind(this);
  }

  /** Queue one frame for `s`'s browser; it goes out after the current read (or in a microtask). */
  enqueue(s: OutboxSession, data: Buffer, isBinary: boolean): void {
    const n = this.queued;
    this.outSessions[n] = s;
    this.outData[n] = data;
    this.outBinary[n] = isBinary;
    this.queued = n + 1;
    if (!this.inRead && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushBound);
    }
  }

  /** An upstream read starts: frames queued from here wait for afterRead. */
  beforeRead(): void {
    this.inRead = true;
  }

  /** The read is parsed: send what it produced. */
  afterRead(): void {
    this.inRead = false;
    if (this.queued > 0) this.flushOutbox();
  }

  /** Send what is queued now (before a close goes out behind it); a no-op inside a flush. */
  flush(): void {
    if (this.queued > 0 && !this.flushing) this.flushOutbox();
  }

  /** Shed now, or once the running flush is done (a shed closes sockets the flush may still be sending to). */
  shedWhenSafe(owner: OutboxOwner<OutboxSession>): void {
    if (this.flushing) this.shedAfterFlush = owner;
    else owner.shed();
  }

  private sendRun(): void {
    const client = this.runSession!.client!;
    const outData = this.outData;
    const outBinary = this.outBinary;
    for (let k = this.runStart; k < this.runEnd; k++) {
      const result = client.send(outData[k], outBinary[k]);
      if (result === SEND_SUCCESS) continue;
      this.runClean = false;
      if (result === SEND_DROPPED) {
        this.runDropped = true;
        return;
      }
    }
  }

  private flushOutbox(): void {
    this.flushQueued = false;
    const n = this.queued;
    if (n === 0) return;
    this.flushing = true;
    try {
      this.sendRuns(n);
    } finally {
      this.flushing = false;
      // Let go of what was sent (sessions that may close, assembled messages).
      for (let k = 0; k < this.queued; k++) {
        this.outSessions[k] = null;
        this.outData[k] = EMPTY;
      }
      this.queued = 0;
      this.runSession = null;
    }
    if (this.shedAfterFlush !== null) {
      const owner = this.shedAfterFlush;
      this.shedAfterFlush = null;
      owner.shed();
    }
  }

  private sendRuns(n: number): void {
    const outSessions = this.outSessions;
    for (let i = 0; i < n;) {
      const s = outSessions[i]!;
      let j = i + 1;
      while (j < n && outSessions[j] === s) j++;
      // A session that closed meanwhile drops what was waiting for it.
      if (s.client !== null && !s.finished) this.sendSession(s, i, j);
      i = j;
    }
  }

  /**
   * Frames i..j-1, all for `s`: in corks that fit uWS's cork buffer, stopping
   * at a drop. A single frame goes without a cork of ours: uWS's send corks
   * and uncorks by itself when it can (WebSocket::send), so cork() would only
   * add a call from native code back into JavaScript, on the commonest run
   * there is (docs/decisions/0002-outbox-corking.md).
   */
  private sendSession(s: OutboxSession, i: number, j: number): void {
    this.runSession = s;
    this.runDropped = false;
    this.runClean = true;
    if (j - i === 1) {
      this.runStart = i;
      this.runEnd = j;
      this.sendRun();
    } else {
      this.sendCorked(s, i, j);
    }
    // SUCCESS for every send means nothing is buffered: skip the native buffered-amount call.
    if (!this.runClean) s.relay.afterSends(s, this.runDropped);
  }

  /** Frames i..j-1 of a run of several, in corks that each fit uWS's cork buffer. */
  private sendCorked(s: OutboxSession, i: number, j: number): void {
    const outData = this.outData;
    for (let start = i; start < j && !this.runDropped;) {
      let end = start + 1;
      let bytes = framedSize(outData[start].length);
      while (end < j) {
        const next = framedSize(outData[end].length);
        if (bytes + next >= CORK_BYTES) break;
        bytes += next;
        end++;
      }
      this.runStart = start;
      this.runEnd = end;
      s.client!.cork(this.sendRunBound);
      start = end;
    }
  }
}

/** A server frame's size on the wire: payload and an unmasked header. */
function framedSize(len: number): number {
  return len + (len < 126 ? 2 : len < 65536 ? 4 : 10);
}
