// The upstream read path, server -> browser. ws keeps the handshake, the
// writes (pings, pongs, the close handshake) and its close bookkeeping; the
// reads are ours:
//
// - The socket under ws is created here (ws's createConnection option) with
//   net/tls `onread`: every read lands in one buffer per thread instead of a
//   fresh 64 KiB allocation per read. Those allocations were the budget test's
//   RSS overshoot (about 64 MiB per thread that V8 frees late and the budget
//   could not count) and a share of the per-frame cost.
// - Until the upgrade, a read is copied into the stream, where Node's HTTP
//   client parses the 101 response as usual. From ws's 'open' on, reads go to
//   frame-parser.ts, whose frames go to the outbox without being copied: the
//   outbox sends them before the read callback returns.
// - Control frames and errors are handed to ws's own Receiver listeners
//   ('ping', 'pong', 'conclude') and close path, so the close handshake,
//   close codes and events are ws's, unchanged.
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Writable } from 'node:stream';
import type WebSocket from 'ws';
import { FrameParser, type FrameSink } from './frame-parser';
import { reclaimAssemblies } from './assembly-pool';
import { afterRead, beforeRead } from './outbox';
import { upstreamSecureContext } from './upstream-tls';

/** As Node's own default read size: a read never holds more than this. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Every upstream socket of this thread reads here; a read is parsed completely before the next one starts. */
const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** A socket created here: `reader` is set once the upgrade is done. */
interface ReaderSocket extends Socket {
  reader?: FrameParser;
}

/** What of ws's internals the handover needs (ws 8: lib/websocket.js). */
interface WsInternals {
  /** null until ws has a socket. */
  _socket: ReaderSocket | null;
  _receiver: Writable;
}

function onRead(this: ReaderSocket, nread: number, buf: Buffer): boolean {
  const parser = this.reader;
  if (parser === undefined) {
    // The HTTP response (buf is reused: copy); Node's HTTP client reads it from 'data'.
    return this.push(Buffer.from(buf.subarray(0, nread)));
  }
  beforeRead();
  parser.push(buf, nread);
  afterRead();
  reclaimAssemblies();
  return true;
}

const ONREAD = { buffer: readBuffer, callback: onRead };

type ConnectOptions = NetConnectOpts & ConnectionOptions & { socketPath?: string; host?: string };

/** ws's netConnect, reading through onRead. */
export function connectPlain(options: ConnectOptions): Socket {
  (options as { path?: string }).path = options.socketPath;
  (options as { onread?: unknown }).onread = ONREAD;
  return netConnect(options);
}

/** ws's tlsConnect, reading through onRead, with the thread's shared context (upstream-tls.ts). */
export function connectTls(options: ConnectOptions): Socket {
  (options as { path?: string }).path = undefined;
  if (!options.servername && options.servername !== '') {
    options.servername = isIP(options.host ?? '') !== 0 ? '' : options.host;
  }
  (options as { onread?: unknown }).onread = ONREAD;
  options.secureContext ??= upstreamSecureContext();
  return tlsConnect(options);
}

/**
 * Called from ws's 'open' (emitted right after it attached its 'data'
 * listener): take the reads from here, and parse what came with the 101
 * response, which ws put back into the stream.
 */
export function takeReads(ws: WebSocket, sink: FrameSink, maxPayload: number): void {
  const socket = (ws as unknown as WsInternals)._socket!;
  socket.removeAllListeners('data');
  socket.reader = new FrameParser(sink, maxPayload);
  if (socket.readableLength === 0) return;
  const head = socket.read() as Buffer | null;
  if (head === null) return;
  beforeRead();
  socket.reader.push(head, head.length);
  afterRead();
  reclaimAssemblies();
}

/**
 * The session let go of its upstream (its browser left, or it ended): free
 * the unfinished message the parser holds and keep no more data, so nothing
 * is held or charged for a browser that is gone.
 */
export function dropReads(ws: WebSocket): void {
  (ws as unknown as WsInternals)._socket?.reader?.drop();
}

/** A close frame from the upstream: ws's Receiver would emit this and end. */
export function concludeUpstream(ws: WebSocket, code: number, reason: Buffer): void {
  const receiver = (ws as unknown as WsInternals)._receiver;
  receiver.emit('conclude', code, reason);
  receiver.end();
}

/** A ping or a pong: ws answers pings and emits both, as when its Receiver parses them. */
export function controlFrame(ws: WebSocket, event: 'ping' | 'pong', data: Buffer): void {
  (ws as unknown as WsInternals)._receiver.emit(event, data);
}

/**
 * A malformed frame: what ws does when its Receiver fails, in the same
 * order: a close frame with `closeCode`, the socket ended once it is out,
 * 'error', then 'close' with 1006.
 */
export function failUpstream(ws: WebSocket, closeCode: number, message: string, code: string): void {
  const err = new RangeError(message) as RangeError & { code: string };
  err.code = code;
  // close() first: the Receiver's error listener would send a close frame without a status.
  ws.close(closeCode);
  (ws as unknown as WsInternals)._receiver.destroy(err);
}
