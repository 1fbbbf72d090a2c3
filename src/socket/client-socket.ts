// The browser socket's handlers, one behaviour for every socket path
// (docs/contract.md §1). Each is a module-level function reaching its state
// through the ProxyContext and the socket's user data: nothing is allocated
// per connection beyond the user data, nor per message.
import type { WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { uws } from '../uws';
import { Errors, errorEvent } from '../errors';
import { UPSTREAM_MAX_PAYLOAD, type ProxyContext } from '../proxy-context';
import type { ClientUserData } from '../relay/session';
import { releaseSlots } from '../upgrade/slots';
import { upgrade } from '../upgrade/upgrade-handler';
import { connectAsServer } from '../upstream/keyless-connect';
import { callerKey } from '../usage/quotas';

type ClientSocket = WebSocket<ClientUserData>;

/** Built once per server; the arrows only hand the context to the module-level handlers. */
export function clientSocketBehavior(px: ProxyContext): WebSocketBehavior<ClientUserData> {
  const cfg = px.cfg;
  return {
    compression: uws().DISABLED,
    // uWS cuts a connection without a close frame when a message exceeds its
    // limit; a budget of twice MAX_MESSAGE_BYTES lets us answer 1009 properly
    // for anything up to that, and still bounds what one socket can buffer.
    maxPayloadLength: 2 * cfg.maxMessageBytes,
    // Room for the high-water mark plus one maximal upstream frame and one
    // socket read in flight after pause(): send() must never have to drop.
    maxBackpressure: cfg.clientHighWaterBytes + UPSTREAM_MAX_PAYLOAD + 256 * 1024,
    closeOnBackpressureLimit: false,
    // Liveness is the sweeper's job (one timer for all sockets).
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, context) => upgrade(px, res, req, context),
    open: (ws) => open(px, ws),
    message: (ws, message, isBinary) => onMessage(px, ws, message, isBinary),
    drain: (ws) => onDrain(px, ws),
    pong: onPong,
    close: (ws, code, message) => onClose(px, ws, code, message),
  };
}

/** A request error found before the upgrade is reported now, as an `error` event and its close code. */
function open(px: ProxyContext, ws: ClientSocket): void {
  const ud = ws.getUserData();
  if (ud.requestError !== null || ud.target === null) {
    const err = ud.requestError ?? Errors.INVALID_PARAMETER;
    px.log.info({ ip: ud.ip, error: err.code }, 'request refused after upgrade');
    ws.send(errorEvent(err), false);
    ws.end(err.closeCode, err.message);
    return;
  }
  const keyless = ud.target.credential === 'identity';
  const s = px.relay.open(ws, ud.target, ud.ip, px.log, !keyless);
  ud.session = s;
  if (keyless) connectAsServer(px, s);
  s.subject = ud.subject;
  px.quotas?.sessionOpened(s, callerKey(ud.subject, ud.ipKey));
  s.log.info(
    s.line({
      origin: ud.origin,
      clientRequestId: ud.clientRequestId,
      transport: ud.target.transport,
      apiVersion: ud.target.apiVersion,
      subject: ud.subject,
    }),
    'session open',
  );
  px.telemetry.trackEvent('session_open', { mode: ud.target.mode, model: ud.target.label });
}

function onMessage(px: ProxyContext, ws: ClientSocket, message: ArrayBuffer, isBinary: boolean): void {
  const s = ws.getUserData().session;
  if (s === null) return;
  if (message.byteLength > px.cfg.maxMessageBytes) px.relay.fail(s, Errors.MESSAGE_TOO_BIG);
  else px.relay.clientMessage(s, message, isBinary);
}

function onDrain(px: ProxyContext, ws: ClientSocket): void {
  const s = ws.getUserData().session;
  if (s !== null) px.relay.clientDrain(s);
}

function onPong(ws: ClientSocket): void {
  const s = ws.getUserData().session;
  if (s !== null) s.clientAlive = true;
}

/** The socket is gone from here on: only its user data is read. */
function onClose(px: ProxyContext, ws: ClientSocket, code: number, message: ArrayBuffer): void {
  const ud = ws.getUserData();
  releaseSlots(px, ud);
  if (ud.session !== null) px.relay.clientClosed(ud.session, code, Buffer.from(message).toString());
}
