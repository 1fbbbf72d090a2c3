// A browser-like client: a `ws` socket that sends an Origin header and
// collects every frame, so tests await events instead of sleeping.
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';

export interface Frame {
  data: Buffer;
  isBinary: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export const TEST_ORIGIN = 'http://localhost:3000';

export interface ClientOptions {
  origin?: string | null;
  headers?: Record<string, string>;
  protocols?: string[];
  /** Local address to connect from (127.0.0.x) so per-IP limits can be exercised. */
  localAddress?: string;
  autoPong?: boolean;
  /** Count frames without keeping them (for bulk transfers). */
  discard?: boolean;
}

export class TestClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  private waiters: Array<(f: Frame) => void> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseInfo>;
  /** HTTP status of a refused upgrade (never resolves when the upgrade succeeds). */
  readonly refused: Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }>;
  pings = 0;
  bytesReceived = 0;

  constructor(url: string, opts: ClientOptions = {}) {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const origin = opts.origin === undefined ? TEST_ORIGIN : opts.origin;
    if (origin !== null) headers.origin = origin;
    this.ws = new WebSocket(url, opts.protocols ?? [], {
      headers,
      localAddress: opts.localAddress,
      perMessageDeflate: false,
      autoPong: opts.autoPong ?? true,
    });
    const discard = opts.discard ?? false;
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.bytesReceived += data.length;
      if (discard) return;
      const f = { data, isBinary };
      const w = this.waiters.shift();
      if (w) w(f);
      else this.frames.push(f);
    });
    this.ws.on('ping', () => {
      this.pings++;
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.refused = new Promise((resolve) => {
      this.ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
          this.ws.terminate();
        });
      });
    });
    this.ws.on('error', () => undefined);
  }

  next(): Promise<Frame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextJson(): Promise<Record<string, any>> {
    const f = await this.next();
    return JSON.parse(f.data.toString()) as Record<string, any>;
  }

  /** Skip frames until one whose JSON `type` matches. */
  async waitFor(type: string): Promise<Record<string, any>> {
    for (;;) {
      const f = await this.next();
      if (f.isBinary) continue;
      const ev = JSON.parse(f.data.toString()) as Record<string, any>;
      if (ev.type === type) return ev;
    }
  }

  send(data: string | Buffer, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  close(code?: number, reason?: string): Promise<CloseInfo> {
    this.ws.close(code, reason);
    return this.closed;
  }
}
