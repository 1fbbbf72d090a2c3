// Every touch of `ws`'s private fields, and nowhere else. The upstream leg
// keeps ws for the handshake, its writes (pings, pongs, the close handshake)
// and its close bookkeeping, but reads the socket itself (reader.ts; see
// docs/decisions/0001-own-upstream-frame-parser.md). Handing ws's Receiver
// the frames we parsed needs its socket and its Receiver, which ws 8 keeps in
// `_socket` and `_receiver` (lib/websocket.js). ws is pinned exactly in
// package.json for this, and test/upstream/ws-adapter.test.ts fails when a
// release changes these fields or what they do.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type WebSocket from 'ws';

/** What of ws's internals the handover needs (ws 8: lib/websocket.js). */
interface WsInternals {
  /** null until ws has a socket. */
  _socket: Socket | null;
  /** ws's Receiver, a Writable whose events ('conclude', 'ping', 'pong', 'error') drive ws's close path. */
  _receiver: Writable;
}

/** The TCP (or TLS) socket under `ws`: null until ws has one. */
export function socketOf(ws: WebSocket): Socket | null {
  return (ws as unknown as WsInternals)._socket;
}

/**
 * Called from ws's 'open' (emitted right after ws attached its 'data'
 * listener): ws's Receiver gets no more reads; the caller reads the socket.
 */
export function takeSocket(ws: WebSocket): Socket {
  const socket = (ws as unknown as WsInternals)._socket!;
  socket.removeAllListeners('data');
  return socket;
}

/** A close frame from the upstream: ws's Receiver would emit this and end. */
export function emitClose(ws: WebSocket, code: number, reason: Buffer): void {
  const receiver = (ws as unknown as WsInternals)._receiver;
  receiver.emit('conclude', code, reason);
  receiver.end();
}

/** A ping or a pong: ws answers pings and emits both, as when its Receiver parses them. */
export function emitControl(ws: WebSocket, event: 'ping' | 'pong', data: Buffer): void {
  (ws as unknown as WsInternals)._receiver.emit(event, data);
}

/**
 * A malformed frame: what ws does when its Receiver fails, in the same
 * order: a close frame with `closeCode`, the socket ended once it is out,
 * 'error' (carrying `code`), then 'close' with 1006.
 */
export function failReceiver(ws: WebSocket, closeCode: number, message: string, code: string): void {
  const err = new RangeError(message) as RangeError & { code: string };
  err.code = code;
  // close() first: the Receiver's error listener would send a close frame without a status.
  ws.close(closeCode);
  (ws as unknown as WsInternals)._receiver.destroy(err);
}
