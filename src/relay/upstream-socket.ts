// The upstream leg: a `ws` client that knows its session, so its listeners can
// be module-level functions (`this.session`) rather than closures per connection.
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Session } from './session';

export interface UpstreamSocketOptions {
  maxPayload: number;
  headers: Readonly<Record<string, string>>;
}

export class UpstreamSocket extends WebSocket {
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
      skipUTF8Validation: true,
      followRedirects: false,
    });
    this.session = session;
  }
}
