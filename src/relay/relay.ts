// The per-connection bridge (docs/contract.md §3): frames in one side, out the
// other, unchanged. A frame's path: uWS `message` -> clientMessage ->
// UpstreamSocket.sendFrame (or the pending queue while the upstream connects);
// an upstream read -> upstream/reader.ts -> upstream/frame-parser.ts ->
// upstreamMessage -> outbox.ts -> uWS send, corked. Nothing here parses JSON.
// This file holds the two hot paths and the relay's state; a session's life
// is in lifecycle.ts, flow control in flow.ts, the buffer budget in
// accounting.ts. The upstream reaches the relay only through UpstreamEvents.
import type { WebSocket as ClientSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { Errors, type ProxyError } from '../errors';
import type { UpstreamTarget } from '../upstream/target';
import type { UpstreamEvents, UpstreamSocket } from '../upstream/socket';
import type { RelayMetrics } from './relay-metrics';
import type { BufferBudget } from './buffer-budget';
import type { Outbox, OutboxOwner } from './outbox';
import type { Meter } from '../usage/meter';
import { UpstreamState, type ClientUserData, type Session } from './session';
import { account, noteAssembly, noteUpstreamBuffer, checkUpstreamBuffer, shed } from './accounting';
import { afterSends, clientDrain } from './flow';
import {
  CorkedEnd,
  clientClosed,
  connect,
  fail,
  maybeFinish,
  open,
  upstreamClosed,
  upstreamOpened,
  upstreamRefused,
} from './lifecycle';

export interface RelayOptions {
  readonly pendingMaxFrames: number;
  readonly pendingMaxBytes: number;
  readonly clientHighWaterBytes: number;
  readonly upstreamMaxBufferedBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamMaxPayload: number;
}

export class Relay implements UpstreamEvents<Session>, OutboxOwner<Session> {
  readonly sessions = new Set<Session>();
  /** Coarse clock, advanced by the sweeper: cheaper than Date.now() per frame. */
  now = Date.now();
  /** Closes browser sockets corked (lifecycle.ts): one per relay, so one per thread. */
  readonly closer = new CorkedEnd();
  private nextId = 1;

  constructor(
    readonly opts: RelayOptions,
    readonly metrics: RelayMetrics,
    readonly budget: BufferBudget,
    /** This thread's outbox: upstream frames wait there during a read; it also brackets the reads. */
    readonly outbox: Outbox,
    readonly onFinished: (s: Session) => void,
    /** Counts each session's usage from the frames relayed (usage/meter.ts). */
    readonly meter: Meter<Session>,
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
    return open(this, this.nextId++, client, target, ip, log, connectNow);
  }

  /** Open the upstream leg; `authorization` (the proxy's own token) is added to the target's headers. */
  connect(s: Session, authorization = ''): void {
    connect(this, s, authorization);
  }

  /** uWS `message`: a browser frame, sent upstream now or queued until the upstream opens. */
  clientMessage(s: Session, message: ArrayBuffer, isBinary: boolean): void {
    const size = message.byteLength;
    s.lastFrameAt = this.now;
    s.clientAlive = true;
    const state = s.upstreamState;
    if (state === UpstreamState.Open) {
      const up = s.upstream!;
      // sendFrame copies the payload out of the uWS buffer, which is neutered when we return.
      // A plain Uint8Array view: Buffer.from's argument dispatch is not needed to read it.
      // False: a close frame went out or came in, and no data may follow it.
      const view = new Uint8Array(message);
      if (!up.sendFrame(view, isBinary)) return;
      countIn(this.metrics, s, size);
      // Binary frames are not Voice Live events: no usage in them.
      if (!isBinary) this.meter.clientFrame(s, view);
      checkUpstreamBuffer(this, s, up);
      return;
    }
    if (state !== UpstreamState.Connecting) return;
    if (s.pending.length >= this.opts.pendingMaxFrames || s.pendingBytes + size > this.opts.pendingMaxBytes) {
      this.metrics.pendingOverflows++;
      fail(this, s, Errors.PENDING_OVERFLOW);
      return;
    }
    countIn(this.metrics, s, size);
    // Must outlive this callback: copy out of the uWS buffer.
    s.pending.push(Buffer.from(new Uint8Array(message)));
    s.pendingBinary.push(isBinary);
    s.pendingBytes += size;
    account(this, s);
  }

  /** An upstream message for the browser: it goes out after the read (outbox.ts). */
  upstreamMessage(s: Session, data: Buffer, isBinary: boolean): void {
    if (s.client === null) return;
    s.framesOut++;
    s.bytesOut += data.length;
    s.lastFrameAt = this.now;
    this.metrics.framesUpstreamToClient++;
    this.metrics.bytesUpstreamToClient += data.length;
    if (!isBinary) this.meter.upstreamFrame(s, data);
    this.outbox.enqueue(s, data, isBinary);
  }

  /** After a run of sends to one browser that did not all succeed (outbox.ts). */
  afterSends(s: Session, dropped: boolean): void {
    afterSends(this, s, dropped);
  }

  /** uWS `drain`. */
  clientDrain(s: Session): void {
    clientDrain(this, s);
  }

  /** uWS `close`: the browser leg is gone (whoever started it); the socket is dead from here. */
  clientClosed(s: Session, code: number, reason: string): void {
    clientClosed(this, s, code, reason);
  }

  /** A decision of the proxy's own: close both legs with `err`. */
  fail(s: Session, err: ProxyError): void {
    fail(this, s, err);
  }

  /** Called once per leg's end; the session finishes when both are done. */
  maybeFinish(s: Session): void {
    maybeFinish(this, s);
  }

  /** Charge the budget for what `s` holds now; shed when that spends it. */
  account(s: Session): void {
    account(this, s);
  }

  /** The budget is spent: close the sessions of this thread holding the most. */
  shed(): void {
    shed(this);
  }

  /** Re-read the upstream socket's write buffer (the sweeper's job: a drain there raises no event we listen to). */
  refreshHeld(s: Session): void {
    const up = s.upstream;
    const state = s.upstreamState;
    if (up !== null && (state === UpstreamState.Open || state === UpstreamState.Closing))
      noteUpstreamBuffer(this, s, up);
  }

  // --- UpstreamEvents: what the upstream leg (upstream/socket.ts) reports ---

  upstreamOpened(s: Session, up: UpstreamSocket<Session>): void {
    upstreamOpened(this, s, up);
  }

  upstreamPong(s: Session): void {
    s.upstreamAlive = true;
  }

  upstreamError(s: Session, err: Error): void {
    // Always followed by 'close'; the error text can name hosts, so it stays in logs.
    s.log.debug(s.line({ err: err.message }), 'upstream socket error');
  }

  upstreamRefused(s: Session, status: number): void {
    upstreamRefused(this, s, status);
  }

  upstreamClosed(s: Session, code: number, reason: Buffer): void {
    upstreamClosed(this, s, code, reason);
  }

  upstreamHeld(s: Session, bytes: number): void {
    noteAssembly(this, s, bytes);
  }
}

/** A browser frame accepted for the upstream (sent now, or queued until it opens). */
function countIn(m: RelayMetrics, s: Session, size: number): void {
  s.framesIn++;
  s.bytesIn += size;
  m.framesClientToUpstream++;
  m.bytesClientToUpstream += size;
}
