// The upstream read path, server -> browser. ws keeps the handshake, the
// writes (pings, pongs, the close handshake) and its close bookkeeping; the
// reads are ours (docs/decisions/0001-own-upstream-frame-parser.md):
//
// - The socket under ws is created here (ws's createConnection option) with
//   net/tls `onread`: every read lands in one buffer per thread instead of a
//   fresh 64 KiB allocation per read, garbage that V8 frees late and the
//   buffer budget cannot count (docs/decisions/0004-young-generation.md).
// - Until the upgrade, a read is copied into the stream, where Node's HTTP
//   client parses the 101 response as usual. From ws's 'open' on, reads go to
//   frame-parser.ts, whose frames go to the outbox without being copied: the
//   outbox sends them before the read callback returns.
// - Control frames and errors are handed to ws's own Receiver listeners and
//   close path (ws-adapter.ts), so the close handshake, close codes and
//   events are ws's, unchanged.
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type WebSocket from 'ws';
import { FrameParser, type FrameSink } from './frame-parser';
import { reclaimAssemblies } from './assembly-pool';
import { upstreamSecureContext } from './tls-context';
import { socketOf, takeSocket } from './ws-adapter';

/**
 * Brackets every parsed read (the relay's outbox): frames the sink produces
 * during a read are sent in afterRead, before the read buffer is reused.
 */
export interface ReadBracket {
  beforeRead(): void;
  afterRead(): void;
}

/** As Node's own default read size: a read never holds more than this. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Every upstream socket of this thread reads here; a read is parsed completely before the next one starts. */
const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** A socket created here: `reader` and `reads` are set once the upgrade is done. */
interface ReaderSocket extends Socket {
  reader: FrameParser | null;
  reads: ReadBracket | null;
}

function onRead(this: ReaderSocket, nread: number, buf: Buffer): boolean {
  const parser = this.reader;
  if (parser === null) {
    // The HTTP response (buf is reused: copy); Node's HTTP client reads it from 'data'.
    return this.push(Buffer.from(buf.subarray(0, nread)));
  }
  const reads = this.reads!;
  reads.beforeRead();
  parser.push(buf, nread);
  reads.afterRead();
  reclaimAssemblies();
  return true;
}

const ONREAD = { buffer: readBuffer, callback: onRead };

type ConnectOptions = NetConnectOpts & ConnectionOptions & { socketPath?: string; host?: string };

/** Both fields from the start, so every upstream socket keeps one shape. */
function asReader(socket: Socket): Socket {
  const r = socket as ReaderSocket;
  r.reader = null;
  r.reads = null;
  return socket;
}

/** ws's netConnect, reading through onRead. */
export function connectPlain(options: ConnectOptions): Socket {
  (options as { path?: string }).path = options.socketPath;
  (options as { onread?: unknown }).onread = ONREAD;
  return asReader(netConnect(options));
}

/** ws's tlsConnect, reading through onRead, with the thread's shared context (tls-context.ts). */
export function connectTls(options: ConnectOptions): Socket {
  (options as { path?: string }).path = undefined;
  if (!options.servername && options.servername !== '') {
    options.servername = isIP(options.host ?? '') !== 0 ? '' : options.host;
  }
  (options as { onread?: unknown }).onread = ONREAD;
  options.secureContext ??= upstreamSecureContext();
  return asReader(tlsConnect(options));
}

/**
 * Called from ws's 'open': take the reads from here, and parse what came
 * with the 101 response, which ws put back into the stream.
 */
export function takeReads(ws: WebSocket, sink: FrameSink, reads: ReadBracket, maxPayload: number): void {
  const socket = takeSocket(ws) as ReaderSocket;
  socket.reads = reads;
  socket.reader = new FrameParser(sink, maxPayload);
  if (socket.readableLength === 0) return;
  const head = socket.read() as Buffer | null;
  if (head === null) return;
  reads.beforeRead();
  socket.reader.push(head, head.length);
  reads.afterRead();
  reclaimAssemblies();
}

/**
 * The session let go of its upstream (its browser left, or it ended): free
 * the unfinished message the parser holds and keep no more data, so nothing
 * is held or charged for a browser that is gone.
 */
export function dropReads(ws: WebSocket): void {
  (socketOf(ws) as ReaderSocket | null)?.reader?.drop();
}
