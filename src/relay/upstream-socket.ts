// The upstream leg: a `ws` client that knows its session, so its listeners can
// be module-level functions (`this.session`) rather than closures per connection.
// It is also the sink of its own frame parser (upstream-reader.ts).
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { FrameSink } from './frame-parser';
import type { Session } from './session';
import { concludeUpstream, connectPlain, connectTls, controlFrame, failUpstream } from './upstream-reader';

export interface UpstreamSocketOptions {
  maxPayload: number;
  headers: Readonly<Record<string, string>>;
}

export class UpstreamSocket extends WebSocket implements FrameSink {
  session: Session;

  /** The TCP (or TLS) socket under ws, once open; frame-writer.ts writes to it directly. */
  get tcp(): Socket {
    return (this as unknown as { _socket: Socket })._socket;
  }

  constructor(url: string, session: Session, opts: UpstreamSocketOptions) {
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
      // Reads go through upstream-reader.ts once the upgrade is done.
      createConnection: (url.startsWith('wss:') ? connectTls : connectPlain) as never,
    });
    this.session = session;
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.session.relay.upstreamMessage(this.session, data, isBinary);
  }

  onPing(data: Buffer): void {
    controlFrame(this, 'ping', data);
  }

  onPong(data: Buffer): void {
    controlFrame(this, 'pong', data);
  }

  onClose(code: number, reason: Buffer): void {
    concludeUpstream(this, code, reason);
  }

  onProtocolError(closeCode: number, message: string, code: string): void {
    failUpstream(this, closeCode, message, code);
  }

  onHeld(bytes: number): void {
    this.session.relay.noteAssembly(this.session, bytes);
  }
}
