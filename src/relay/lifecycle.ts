// A session's life: the upstream connect, its outcome, and the close of both
// legs, whoever starts it. Who ended a session is set once (Session.endedBy);
// the upstream leg's state moves one way (session.ts UpstreamState); close
// codes cross the legs through close-codes.ts. Both legs are done when the
// browser's socket is closed and the upstream's 'close' has come (or it never
// started): then the session is finished, once.
import type { WebSocket as ClientSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { Errors, type ProxyError } from '../errors';
import { CLOSE_ABNORMAL, CLOSE_NORMAL } from '../constants';
import { UpstreamSocket } from '../upstream/socket';
import { checkUpstreamBuffer, account, releaseHeld } from './accounting';
import { clampReason, clientCodeFor, isSendableCode, upstreamCodeFor, uwsFailure } from './close-codes';
import type { Relay } from './relay';
import { Session, UpstreamState, type ClientUserData } from './session';
import type { UpstreamTarget } from '../upstream/target';

/** A validated browser connection becomes session `id`; its upstream connect starts now unless told otherwise. */
export function open(
  r: Relay,
  id: number,
  client: ClientSocket<ClientUserData>,
  target: UpstreamTarget,
  ip: string,
  log: Logger,
  connectNow: boolean,
): Session {
  const s = new Session(r, id, ip, target, log, client, Date.now());
  r.sessions.add(s);
  if (connectNow) connect(r, s, '');
  return s;
}

/** Open the upstream leg; `authorization` (the proxy's own token) is added to the target's headers. */
export function connect(r: Relay, s: Session, authorization: string): void {
  const headers = authorization === '' ? s.target.headers : { ...s.target.headers, authorization };
  const opts = { headers, maxPayload: r.opts.upstreamMaxPayload, reads: r.outbox };
  s.upstream = new UpstreamSocket(s.target.url, s, r, opts);
  s.connectStartedAt = performance.now();
  s.connectTimer = setTimeout(onConnectTimeout, r.opts.upstreamConnectTimeoutMs, s);
}

export function upstreamOpened(r: Relay, s: Session, up: UpstreamSocket<Session>): void {
  if (s.connectTimer !== null) clearTimeout(s.connectTimer);
  s.connectTimer = null;
  s.upstreamState = UpstreamState.Open;
  const ms = performance.now() - s.connectStartedAt;
  s.upstreamConnectMs = Math.round(ms);
  r.metrics.upstreamConnectsOk++;
  r.metrics.upstreamConnectSeconds.observe(ms / 1000);
  s.log.debug(s.line({ upstreamConnectMs: s.upstreamConnectMs }), 'upstream open');
  // Frames the browser sent while we connected go first, in order.
  const pending = s.pending;
  // Metered as they are sent (what never reaches the service is never counted).
  for (let i = 0; i < pending.length; i++) {
    const binary = s.pendingBinary[i];
    if (up.sendFrame(pending[i], binary) && !binary) r.meter.clientFrame(s, pending[i]);
  }
  s.pending = [];
  s.pendingBinary = [];
  s.pendingBytes = 0;
  if (pending.length > 0) {
    account(r, s);
    checkUpstreamBuffer(r, s, up);
  }
}

export function upstreamRefused(r: Relay, s: Session, status: number): void {
  if (s.upstreamFailure !== null) return;
  if (status === 401) {
    s.upstreamFailure = Errors.UPSTREAM_UNAUTHORIZED;
    r.metrics.upstreamConnectsUnauthorized++;
  } else if (status === 403) {
    s.upstreamFailure = Errors.UPSTREAM_FORBIDDEN;
    r.metrics.upstreamConnectsForbidden++;
  } else {
    s.upstreamFailure = Errors.UPSTREAM_UNAVAILABLE;
    r.metrics.upstreamConnectsError++;
  }
  s.log.warn(s.line({ upstreamStatus: status }), 'upstream refused the handshake');
}

function onConnectTimeout(s: Session): void {
  s.connectTimer = null;
  if (s.upstreamState !== UpstreamState.Connecting || s.upstream === null) return;
  s.upstreamFailure ??= Errors.UPSTREAM_TIMEOUT;
  s.relay.metrics.upstreamConnectsTimeout++;
  s.upstream.terminate();
}

export function upstreamClosed(r: Relay, s: Session, code: number, reason: Buffer): void {
  // ws can deliver the last frames and the close in one turn (socketOnClose
  // drains the socket, then emits close): send them before the close frame.
  r.outbox.flush();
  const opened = s.upstreamState !== UpstreamState.Connecting;
  s.upstreamState = UpstreamState.Closed;
  s.upstreamCloseCode = code;
  if (s.connectTimer !== null) clearTimeout(s.connectTimer);
  s.connectTimer = null;
  const client = s.client;
  if (client !== null) {
    if (!opened) {
      const err = s.upstreamFailure ?? Errors.UPSTREAM_UNAVAILABLE;
      s.error ??= err;
      // A refusal was counted when it was seen; count only failures without one.
      if (s.upstreamFailure === null) r.metrics.upstreamConnectsError++;
      s.endedBy('proxy');
      s.log.warn(s.line({ error: err.code }), 'upstream connect failed');
      r.closer.end(client, err.closeCode, err.message);
    } else if (code === CLOSE_ABNORMAL) {
      s.endedBy('upstream');
      s.error ??= Errors.UPSTREAM_LOST;
      r.closer.end(client, Errors.UPSTREAM_LOST.closeCode, Errors.UPSTREAM_LOST.message);
    } else {
      s.endedBy('upstream');
      r.closer.end(client, clientCodeFor(code), reason.toString());
    }
  }
  maybeFinish(r, s);
}

/** uWS `close`: the browser leg is gone (whoever started it); the socket is dead from here. */
export function clientClosed(r: Relay, s: Session, code: number, reason: string): void {
  s.client = null;
  const protocolError = uwsFailure(code, reason);
  if (protocolError !== undefined) {
    // uWS fails the connection without a close frame, so the browser sees
    // 1006; the upstream at least learns the real cause.
    s.error ??= protocolError;
    code = protocolError.closeCode;
    reason = protocolError.message;
  }
  s.clientCloseCode = code;
  s.endedBy('client');
  s.pending.length = 0;
  s.pendingBinary.length = 0;
  releaseHeld(r, s);
  stopUpstream(s, upstreamCodeFor(code), reason);
  maybeFinish(r, s);
}

/** A decision of the proxy's own: close both legs with `err`. */
export function fail(r: Relay, s: Session, err: ProxyError): void {
  r.outbox.flush();
  s.endedBy('proxy');
  s.error ??= err;
  stopUpstream(s, isSendableCode(err.closeCode) ? err.closeCode : CLOSE_NORMAL, err.message);
  if (s.client !== null) r.closer.end(s.client, err.closeCode, err.message);
}

/** Called once per leg's end; the session finishes when both are done. */
export function maybeFinish(r: Relay, s: Session): void {
  if (s.finished || s.client !== null || (s.upstream !== null && s.upstreamState !== UpstreamState.Closed)) return;
  s.finished = true;
  releaseHeld(r, s);
  if (s.connectTimer !== null) clearTimeout(s.connectTimer);
  r.sessions.delete(s);
  if (s.closedBy === 'client') r.metrics.closesClient++;
  else if (s.closedBy === 'upstream') r.metrics.closesUpstream++;
  else r.metrics.closesProxy++;
  r.meter.finish(s, Date.now() - s.openedAt);
  r.onFinished(s);
}

/**
 * Ends the upstream leg: aborts a connect (nothing may be left behind for a
 * session that ends), or sends the close frame once.
 */
function stopUpstream(s: Session, code: number, reason: string): void {
  const up = s.upstream;
  if (up === null) return;
  if (s.upstreamState === UpstreamState.Connecting) {
    up.terminate();
  } else if (s.upstreamState === UpstreamState.Open) {
    s.upstreamState = UpstreamState.Closing;
    // A paused socket would never read the peer's close frame and would sit in
    // ws's 30 s close timeout; what arrives now is dropped (the client is gone).
    if (up.isPaused) up.resume();
    if (code === 0) up.close();
    else up.close(code, clampReason(reason));
  }
}

/**
 * Closes browser sockets corked, through slots on one object per thread: cork()
 * runs its callback synchronously, so no closure is made per close.
 */
export class CorkedEnd {
  private socket: ClientSocket<ClientUserData> | null = null;
  private code = 0;
  private reason = '';
  private readonly endBound: () => void;

  constructor() {
    this.endBound = this.endNow.bind(this);
  }

  /** end() runs the uWS close handler synchronously; cork packs the close frame. */
  end(client: ClientSocket<ClientUserData>, code: number, reason: string): void {
    this.socket = client;
    this.code = code;
    this.reason = clampReason(reason);
    client.cork(this.endBound);
  }

  private endNow(): void {
    const socket = this.socket!;
    this.socket = null;
    socket.end(this.code, this.reason);
  }
}
