// The upstream leg: a `ws` client that knows its owner (the relay's session)
// and the one object it reports to, so its listeners are module-level
// functions (`this.owner`, `this.events`) rather than closures per
// connection. It is also the sink of its own frame parser (reader.ts). The
// relay sees the upstream only through UpstreamEvents and the methods below:
// it registers no ws listener and does not import ws.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { FrameSink } from './frame-parser';
import { writeFrame } from './frame-writer';
import { connectPlain, connectTls, dropReads, takeReads, type ReadBracket } from './reader';
import { emitClose, emitControl, failReceiver, socketOf } from './ws-adapter';

/** Everything the upstream leg tells its owner; `S` is the owner's per-connection state. */
export interface UpstreamEvents<S> {
  /** The handshake is done; reads start right after this returns. */
  upstreamOpened(s: S, up: UpstreamSocket<S>): void;
  /** A complete data message; `data` may be a view of the read buffer, valid until the read is done. */
  upstreamMessage(s: S, data: Buffer, isBinary: boolean): void;
  upstreamPong(s: S): void;
  /** Always followed by upstreamClosed; the text can name hosts (logs only). */
  upstreamError(s: S, err: Error): void;
  /** The handshake was answered with an HTTP status instead of 101. */
  upstreamRefused(s: S, status: number): void;
  /** The leg is closed (1006 when it ended without a close frame); the last event. */
  upstreamClosed(s: S, code: number, reason: Buffer): void;
  /** Bytes held for a message that spans reads changed (message-assembly.ts): the buffer budget's share. */
  upstreamHeld(s: S, bytes: number): void;
}

export interface UpstreamSocketOptions {
  readonly maxPayload: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Brackets each read (the relay's outbox, one per thread). */
  readonly reads: ReadBracket;
}

/** ws's OPEN readyState. */
const OPEN = 1;

export class UpstreamSocket<S> extends WebSocket implements FrameSink {
  readonly owner: S;
  readonly events: UpstreamEvents<S>;
  /** Read by onOpen when reads are taken over. */
  readonly reads: ReadBracket;
  readonly maxPayload: number;

  constructor(url: string, owner: S, events: UpstreamEvents<S>, opts: UpstreamSocketOptions) {
    super(url, {
      headers: opts.headers,
      maxPayload: opts.maxPayload,
      // Voice Live does not negotiate compression for realtime audio; offering
      // it would only cost a zlib context per connection.
      perMessageDeflate: false,
      // The upstream is Azure over TLS: re-validating its UTF-8 on every text
      // frame costs CPU and protects nobody (the browser validates again).
      // frame-parser.ts does not validate either.
      skipUTF8Validation: true,
      followRedirects: false,
      // Reads go through reader.ts once the upgrade is done.
      createConnection: (url.startsWith('wss:') ? connectTls : connectPlain) as never,
    });
    this.owner = owner;
    this.events = events;
    this.reads = opts.reads;
    this.maxPayload = opts.maxPayload;
    this.on('open', onOpen);
    this.on('close', onClose);
    this.on('error', onError);
    this.on('unexpected-response', onUnexpectedResponse);
    this.on('pong', onPong);
  }

  /** The TCP (or TLS) socket under ws, once open; frame-writer.ts writes to it directly. */
  get tcp(): Socket {
    return socketOf(this)!;
  }

  /**
   * Writes one browser frame (copied and masked) unless a close frame went
   * out or came in: no data may follow it (ws's CLOSING).
   */
  sendFrame(payload: Uint8Array, isBinary: boolean): boolean {
    if (this.readyState !== OPEN) return false;
    writeFrame(this.tcp, payload, isBinary);
    return true;
  }

  /**
   * The owner let go of this leg (its browser left, or the session ended):
   * the parser frees an unfinished message and keeps no more data.
   */
  dropReads(): void {
    dropReads(this);
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.events.upstreamMessage(this.owner, data, isBinary);
  }

  onPing(data: Buffer): void {
    emitControl(this, 'ping', data);
  }

  onPong(data: Buffer): void {
    emitControl(this, 'pong', data);
  }

  onClose(code: number, reason: Buffer): void {
    emitClose(this, code, reason);
  }

  onProtocolError(closeCode: number, message: string, code: string): void {
    failReceiver(this, closeCode, message, code);
  }

  onHeld(bytes: number): void {
    this.events.upstreamHeld(this.owner, bytes);
  }
}

// ws types its listeners' `this` as the base class; every socket that has them is ours.
type Up = UpstreamSocket<unknown>;
function onOpen(this: WebSocket): void {
  const up = this as Up;
  up.events.upstreamOpened(up.owner, up);
  // From here the upstream's frames come through reader.ts, not ws's 'message'.
  takeReads(up, up, up.reads, up.maxPayload);
}
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const up = this as Up;
  up.events.upstreamClosed(up.owner, code, reason);
}
function onError(this: WebSocket, err: Error): void {
  const up = this as Up;
  up.events.upstreamError(up.owner, err);
}
function onUnexpectedResponse(this: WebSocket, req: ClientRequest, res: IncomingMessage): void {
  const up = this as Up;
  up.events.upstreamRefused(up.owner, res.statusCode ?? 0);
  res.resume();
  req.destroy();
  up.terminate();
}
function onPong(this: WebSocket): void {
  const up = this as Up;
  up.events.upstreamPong(up.owner);
}
