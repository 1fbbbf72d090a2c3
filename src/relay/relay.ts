// The per-connection bridge (docs/contract.md §3): frames in one side, out the other,
// unchanged. A frame's path: uWS `message` -> clientMessage -> writeFrame (or
// the pending queue while the upstream connects); an upstream read ->
// upstream-reader.ts -> frame-parser.ts -> upstreamMessage -> outbox.ts -> uWS
// send, corked. Nothing here parses JSON.
import type { WebSocket as ClientSocket } from 'uWebSockets.js';
import type { IncomingMessage, ClientRequest } from 'node:http';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { Errors, type ProxyError } from '../errors';
import type { UpstreamTarget } from '../upstream/target';
import { CLOSE_ABNORMAL, CLOSE_NO_STATUS, CLOSE_NORMAL } from '../constants';
import { clampReason, isSendableCode, upstreamCodeFor } from './close-codes';
import type { RelayMetrics } from './relay-metrics';
import { Session, type ClientUserData } from './session';
import { writeFrame } from './frame-writer';
import { toKiB, type BufferBudget } from './buffer-budget';
import { UpstreamSocket } from './upstream-socket';
import { enqueue, flush, shedWhenSafe } from './outbox';
import { dropReads, takeReads } from './upstream-reader';

export interface RelayOptions {
  readonly pendingMaxFrames: number;
  readonly pendingMaxBytes: number;
  readonly clientHighWaterBytes: number;
  readonly upstreamMaxBufferedBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamMaxPayload: number;
}

/** ws's OPEN readyState. */
const OPEN = 1;

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
 * the per-session bound already counts it. Charging it too made the budget
 * test shed readers that pausing had kept within the budget.
 */
const ASSEMBLY_SLACK_BYTES = 64 * 1024;

/** Reasons uWS gives its close handler when it fails a connection itself. */
const UWS_FAILURES: ReadonlyMap<string, ProxyError> = new Map([
  ['Received invalid UTF-8', Errors.INVALID_UTF8],
  ['Received too big message', Errors.MESSAGE_TOO_BIG],
]);

// Scratch slots for a corked close: cork() runs its callback synchronously.
let corkSocket: ClientSocket<ClientUserData>;
let corkCode = 0;
let corkReason = '';
function endCorked(): void {
  corkSocket.end(corkCode, corkReason);
}

export class Relay {
  readonly sessions = new Set<Session>();
  /** Coarse clock, advanced by the sweeper: cheaper than Date.now() per frame. */
  now = Date.now();
  private nextId = 1;

  constructor(
    readonly opts: RelayOptions,
    readonly metrics: RelayMetrics,
    readonly budget: BufferBudget,
    private readonly onFinished: (s: Session) => void,
  ) {}

  /**
   * Called from the uWS `open` handler for a validated request. With
   * connectNow false the caller calls connect() later (the proxy's own token
   * is being fetched); the browser's frames queue as for any connect.
   */
  open(
    client: ClientSocket<ClientUserData>,
    target: UpstreamTarget,
    ip: string,
    log: Logger,
    connectNow = true,
  ): Session {
    const s = new Session(this, this.nextId++, ip, target, log, client, Date.now());
    this.sessions.add(s);
    if (connectNow) this.connect(s);
    return s;
  }

  /** Open the upstream leg; `authorization` (the proxy's own token) is added to the target's headers. */
  connect(s: Session, authorization = ''): void {
    const headers = authorization === '' ? s.target.headers : { ...s.target.headers, authorization };
    const up = new UpstreamSocket(s.target.url, s, { headers, maxPayload: this.opts.upstreamMaxPayload });
    s.upstream = up;
    s.connectStartedAt = performance.now();
    up.on('open', onUpstreamOpen);
    up.on('close', onUpstreamClose);
    up.on('error', onUpstreamError);
    up.on('unexpected-response', onUpstreamUnexpectedResponse);
    up.on('pong', onUpstreamPong);
    s.connectTimer = setTimeout(onConnectTimeout, this.opts.upstreamConnectTimeoutMs, s);
  }

  clientMessage(s: Session, message: ArrayBuffer, isBinary: boolean): void {
    const size = message.byteLength;
    s.lastFrameAt = this.now;
    s.clientAlive = true;
    const up = s.upstream;
    if (s.upstreamOpen && up !== null) {
      // CLOSING: ws has sent or received a close frame; no data may follow it.
      if (up.readyState !== OPEN) return;
      countIn(this.metrics, s, size);
      // writeFrame copies the payload out of the uWS buffer, which is neutered when we return.
      // A plain Uint8Array view: Buffer.from's argument dispatch is not needed to read it.
      writeFrame(up.tcp, new Uint8Array(message), isBinary);
      this.checkUpstreamBuffer(s, up);
      return;
    }
    if (s.upstreamDone) return;
    if (s.pending.length >= this.opts.pendingMaxFrames || s.pendingBytes + size > this.opts.pendingMaxBytes) {
      this.metrics.pendingOverflows++;
      this.fail(s, Errors.PENDING_OVERFLOW);
      return;
    }
    countIn(this.metrics, s, size);
    // Must outlive this callback: copy out of the uWS buffer.
    s.pending.push(Buffer.from(new Uint8Array(message)));
    s.pendingBinary.push(isBinary);
    s.pendingBytes += size;
    this.account(s);
  }

  /** Charge the budget for what `s` holds now; shed when that spends it. */
  account(s: Session): void {
    const assembly = s.heldAssembly > ASSEMBLY_SLACK_BYTES ? s.heldAssembly - ASSEMBLY_SLACK_BYTES : 0;
    const kib = toKiB(s.heldClient + s.heldUpstream + s.pendingBytes + assembly);
    const delta = kib - s.heldKiB;
    if (delta === 0) return;
    s.heldKiB = kib;
    if (this.budget.add(delta) > this.budget.limitKiB && delta > 0) shedWhenSafe(this);
  }

  /**
   * uWS keeps a socket's backpressure in a std::string that never gives its
   * capacity back: after a drain the bytes are gone but the allocation stays
   * until the socket closes (measured: 1000 readers that once held 74 MiB in
   * all kept the process 240 MiB above it). So a session is charged for the
   * largest buffer it has had toward its browser, rounded up to a power of
   * two as the string grows, until it closes; a shed frees exactly that.
   */
  noteClientBuffer(s: Session, buffered: number): void {
    if (buffered <= s.heldClient) return;
    s.heldClient = 2 ** Math.ceil(Math.log2(buffered));
    this.account(s);
  }

  /**
   * What the upstream parser holds for a message that spans reads changed
   * (once per read at most). Beyond ASSEMBLY_SLACK_BYTES it is charged like
   * bytes held for a slow browser, and a spent budget sheds the sessions
   * holding the most; but it does not pause this session's reads when the
   * budget is short: a message is only let go of once it is read to its end,
   * so pausing its readers would hold the memory longer, not free it.
   */
  noteAssembly(s: Session, bytes: number): void {
    s.heldAssembly = bytes;
    this.account(s);
  }

  /** Re-read the upstream socket's write buffer (the sweeper's job: a drain there raises no event we listen to). */
  refreshHeld(s: Session): void {
    const up = s.upstream;
    if (up !== null && s.upstreamOpen && !s.upstreamDone) this.noteUpstreamBuffer(s, up);
  }

  /**
   * The budget is spent: close the sessions of this thread that hold the
   * most (1013) until it is not. Every thread sees the same total, so each
   * sheds its own largest; the sort runs only when the budget is spent.
   */
  shed(): void {
    const budget = this.budget;
    if (budget.heldKiB <= budget.limitKiB) return;
    const list: Session[] = [];
    for (const s of this.sessions) if (s.heldKiB > 0 && s.client !== null) list.push(s);
    if (list.length === 0) return;
    list.sort(byHeldDesc);
    const heldBefore = budget.heldKiB;
    let shed = 0;
    for (let i = 0; i < list.length && budget.heldKiB > budget.limitKiB; i++) {
      shed++;
      this.metrics.bufferBudgetSheds++;
      this.fail(list[i], Errors.BUFFER_BUDGET);
    }
    list[0].log.warn(
      { heldBytes: heldBefore * 1024, budgetBytes: budget.limitBytes, sessionsShed: shed },
      'buffer budget spent: shedding the sessions holding the most',
    );
  }

  private noteUpstreamBuffer(s: Session, up: UpstreamSocket): number {
    const buffered = up.bufferedAmount;
    const held = buffered > UPSTREAM_SLACK_BYTES ? buffered : 0;
    if (held !== s.heldUpstream) {
      s.heldUpstream = held;
      this.account(s);
    }
    return buffered;
  }

  /** Past the bound toward a slow upstream: close rather than buffer more. */
  private checkUpstreamBuffer(s: Session, up: UpstreamSocket): void {
    if (this.noteUpstreamBuffer(s, up) > this.opts.upstreamMaxBufferedBytes && s.client !== null) {
      this.metrics.slowUpstreamCloses++;
      this.fail(s, Errors.SLOW_UPSTREAM);
    }
  }

  /** uWS `drain`: the browser caught up; resume reading the upstream below half the mark. */
  clientDrain(s: Session): void {
    if (!s.paused || s.client === null) return;
    if (s.client.getBufferedAmount() <= this.opts.clientHighWaterBytes / 2) {
      s.paused = false;
      // A pong may sit unread in the paused socket: do not let the next
      // keepalive round mistake that for a dead upstream.
      s.upstreamAlive = true;
      s.upstream?.resume();
    }
  }

  /** uWS `close`: the browser leg is gone (whoever started it); the socket is dead from here. */
  clientClosed(s: Session, code: number, reason: string): void {
    s.client = null;
    const protocolError = code === CLOSE_ABNORMAL ? UWS_FAILURES.get(reason) : undefined;
    if (protocolError !== undefined) {
      // uWS fails the connection without a close frame (RFC 6455 7.1.7), so the
      // browser sees 1006; the upstream at least learns the real cause.
      s.error ??= protocolError;
      code = protocolError.closeCode;
      reason = protocolError.message;
    }
    s.clientCloseCode = code;
    if (s.closedBy === '') s.closedBy = 'client';
    s.pending.length = 0;
    s.pendingBinary.length = 0;
    releaseHeld(s);
    const up = s.upstream;
    if (up !== null && !s.upstreamDone) {
      if (!s.upstreamOpen) {
        // Abort the connect: nothing may be left behind for a client that left.
        up.terminate();
      } else {
        closeUpstream(up, upstreamCodeFor(code), reason);
      }
    }
    this.maybeFinish(s);
  }

  /** A decision of the proxy's own: close both legs with `err`. */
  fail(s: Session, err: ProxyError): void {
    flush();
    if (s.closedBy === '') s.closedBy = 'proxy';
    s.error ??= err;
    const up = s.upstream;
    if (up !== null && !s.upstreamDone) {
      if (s.upstreamOpen) closeUpstream(up, isSendableCode(err.closeCode) ? err.closeCode : CLOSE_NORMAL, err.message);
      else up.terminate();
    }
    if (s.client !== null) endClient(s.client, err.closeCode, err.message);
  }

  /** Number of frames relayed per session keeps this O(1); called once per leg. */
  maybeFinish(s: Session): void {
    if (s.finished || s.client !== null || (s.upstream !== null && !s.upstreamDone)) return;
    s.finished = true;
    releaseHeld(s);
    if (s.connectTimer !== null) clearTimeout(s.connectTimer);
    this.sessions.delete(s);
    if (s.closedBy === 'client') this.metrics.closesClient++;
    else if (s.closedBy === 'upstream') this.metrics.closesUpstream++;
    else this.metrics.closesProxy++;
    this.onFinished(s);
  }

  // --- upstream events, reached through module-level listeners below ---

  upstreamOpened(s: Session, up: UpstreamSocket): void {
    if (s.connectTimer !== null) clearTimeout(s.connectTimer);
    s.connectTimer = null;
    s.upstreamOpen = true;
    const ms = performance.now() - s.connectStartedAt;
    const seconds = ms / 1000;
    s.upstreamConnectMs = Math.round(ms);
    this.metrics.upstreamConnectsOk++;
    this.metrics.upstreamConnectSeconds.observe(seconds);
    s.log.debug(s.line({ upstreamConnectMs: s.upstreamConnectMs }), 'upstream open');
    // Frames the browser sent while we connected go first, in order.
    const pending = s.pending;
    for (let i = 0; i < pending.length; i++) writeFrame(up.tcp, pending[i], s.pendingBinary[i]);
    s.pending = [];
    s.pendingBinary = [];
    s.pendingBytes = 0;
    if (pending.length > 0) {
      this.account(s);
      this.checkUpstreamBuffer(s, up);
    }
    // From here the upstream's frames come through upstream-reader.ts, not ws's 'message'.
    takeReads(up, up, this.opts.upstreamMaxPayload);
  }

  upstreamMessage(s: Session, data: Buffer, isBinary: boolean): void {
    if (s.client === null) return;
    s.framesOut++;
    s.bytesOut += data.length;
    s.lastFrameAt = this.now;
    this.metrics.framesUpstreamToClient++;
    this.metrics.bytesUpstreamToClient += data.length;
    enqueue(s, data, isBinary);
  }

  /** After a corked run of sends to one browser that did not all succeed: apply backpressure (outbox.ts). */
  afterSends(s: Session, dropped: boolean): void {
    const client = s.client;
    if (client === null) return;
    if (dropped) {
      // Only reachable if a single read's frames exceed the uWS backpressure budget.
      this.metrics.slowClientCloses++;
      this.fail(s, Errors.SLOW_CLIENT);
      return;
    }
    const buffered = client.getBufferedAmount();
    this.noteClientBuffer(s, buffered);
    if (s.paused || s.client === null) return;
    if (buffered > this.opts.clientHighWaterBytes) {
      this.metrics.backpressurePauses++;
      pause(s, this.now);
    } else if (buffered > 0 && this.budget.short) {
      // The budget is short: a browser that is behind at all waits with the
      // rest in the upstream's TCP window rather than in our memory.
      this.metrics.bufferBudgetPauses++;
      pause(s, this.now);
    }
  }

  upstreamClosed(s: Session, code: number, reason: Buffer): void {
    // ws can deliver the last frames and the close in one turn (socketOnClose
    // drains the socket, then emits close): send them before the close frame.
    flush();
    s.upstreamDone = true;
    s.upstreamCloseCode = code;
    if (s.connectTimer !== null) clearTimeout(s.connectTimer);
    s.connectTimer = null;
    const client = s.client;
    if (client !== null) {
      if (!s.upstreamOpen) {
        const err = s.upstreamFailure ?? Errors.UPSTREAM_UNAVAILABLE;
        s.error ??= err;
        // A refusal was counted when it was seen; count only failures without one.
        if (s.upstreamFailure === null) this.metrics.upstreamConnectsError++;
        if (s.closedBy === '') s.closedBy = 'proxy';
        s.log.warn(s.line({ error: err.code }), 'upstream connect failed');
        endClient(client, err.closeCode, err.message);
      } else if (code === CLOSE_ABNORMAL) {
        if (s.closedBy === '') s.closedBy = 'upstream';
        s.error ??= Errors.UPSTREAM_LOST;
        endClient(client, Errors.UPSTREAM_LOST.closeCode, Errors.UPSTREAM_LOST.message);
      } else {
        if (s.closedBy === '') s.closedBy = 'upstream';
        // 1005: the upstream sent no status, so neither do we.
        endClient(client, code === CLOSE_NO_STATUS ? 0 : code, reason.toString());
      }
    }
    this.maybeFinish(s);
  }

  upstreamRefused(s: Session, status: number): void {
    if (s.upstreamFailure !== null) return;
    if (status === 401) {
      s.upstreamFailure = Errors.UPSTREAM_UNAUTHORIZED;
      this.metrics.upstreamConnectsUnauthorized++;
    } else if (status === 403) {
      s.upstreamFailure = Errors.UPSTREAM_FORBIDDEN;
      this.metrics.upstreamConnectsForbidden++;
    } else {
      s.upstreamFailure = Errors.UPSTREAM_UNAVAILABLE;
      this.metrics.upstreamConnectsError++;
    }
    s.log.warn(s.line({ upstreamStatus: status }), 'upstream refused the handshake');
  }

  connectTimedOut(s: Session): void {
    s.connectTimer = null;
    if (s.upstreamOpen || s.upstreamDone || s.upstream === null) return;
    s.upstreamFailure ??= Errors.UPSTREAM_TIMEOUT;
    this.metrics.upstreamConnectsTimeout++;
    s.upstream.terminate();
  }
}

function pause(s: Session, now: number): void {
  s.paused = true;
  s.pausedAt = now;
  s.upstream?.pause();
}

/** The session holds nothing for anyone any more: give its share of the budget back. */
function releaseHeld(s: Session): void {
  s.pendingBytes = 0;
  s.heldClient = 0;
  s.heldUpstream = 0;
  s.heldAssembly = 0;
  if (s.upstream !== null) dropReads(s.upstream);
  s.relay.account(s);
}

function byHeldDesc(a: Session, b: Session): number {
  return b.heldKiB - a.heldKiB;
}

/** A browser frame accepted for the upstream (sent now, or queued until it opens). */
function countIn(m: RelayMetrics, s: Session, size: number): void {
  s.framesIn++;
  s.bytesIn += size;
  m.framesClientToUpstream++;
  m.bytesClientToUpstream += size;
}

function endClient(client: ClientSocket<ClientUserData>, code: number, reason: string): void {
  corkSocket = client;
  corkCode = code;
  corkReason = clampReason(reason);
  // end() runs the uWS close handler synchronously; cork packs the close frame.
  client.cork(endCorked);
}

function closeUpstream(up: UpstreamSocket, code: number, reason: string): void {
  // A paused socket would never read the peer's close frame and would sit in
  // ws's 30 s close timeout; what arrives now is dropped (the client is gone).
  if (up.isPaused) up.resume();
  if (code === 0) up.close();
  else up.close(code, clampReason(reason));
}

// ws types its listeners' `this` as the base class; every upstream socket is ours.
type Up = WebSocket;
function onUpstreamOpen(this: Up): void {
  const up = this as UpstreamSocket;
  up.session.relay.upstreamOpened(up.session, up);
}
function onUpstreamClose(this: Up, code: number, reason: Buffer): void {
  const up = this as UpstreamSocket;
  up.session.relay.upstreamClosed(up.session, code, reason);
}
function onUpstreamError(this: Up, err: Error): void {
  // Always followed by 'close'; the error text can name hosts, so it stays in logs.
  const s = (this as UpstreamSocket).session;
  s.log.debug(s.line({ err: err.message }), 'upstream socket error');
}
function onUpstreamUnexpectedResponse(this: Up, req: ClientRequest, res: IncomingMessage): void {
  const up = this as UpstreamSocket;
  up.session.relay.upstreamRefused(up.session, res.statusCode ?? 0);
  res.resume();
  req.destroy();
  up.terminate();
}
function onUpstreamPong(this: Up): void {
  (this as UpstreamSocket).session.upstreamAlive = true;
}
function onConnectTimeout(s: Session): void {
  s.relay.connectTimedOut(s);
}
