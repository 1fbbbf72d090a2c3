// Clients of the proxy's own TLS that trust one CA, as a browser trusts the
// public ones: an HTTPS GET, the certificate a new handshake presents, and a
// `ws` session that records the certificate it was opened with.
import { request } from 'node:https';
import { connect, type ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import { TEST_ORIGIN } from './client';

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export function httpsGet(port: number, path: string, ca: Buffer): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** A bare handshake: the protocol agreed and the leaf's fingerprint, or the error's code. */
export function handshake(
  port: number,
  opts: ConnectionOptions,
): Promise<{ protocol: string; fingerprint256: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      const answer = { protocol: s.getProtocol() ?? '', fingerprint256: s.getPeerCertificate().fingerprint256 };
      s.destroy();
      resolve(answer);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** The fingerprint a new handshake presents (trusting `ca`). */
export async function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  const r = await handshake(port, { ca });
  if ('error' in r) throw new Error(`handshake failed: ${r.error}`);
  return r.fingerprint256;
}

/** A session over wss:// that can make a round trip through the proxy to the simulator. */
export class TlsSession {
  readonly ws: WebSocket;
  /** The certificate this session's handshake presented. */
  fingerprint256 = '';
  readonly opened: Promise<void>;
  closed = false;
  private waiting: ((text: string) => void) | null = null;

  constructor(url: string, ca: Buffer) {
    this.ws = new WebSocket(url, { ca, headers: { origin: TEST_ORIGIN }, perMessageDeflate: false });
    this.ws.on('upgrade', (res) => {
      this.fingerprint256 = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
    });
    this.ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (this.waiting !== null && text.includes('"session.updated"')) {
        const w = this.waiting;
        this.waiting = null;
        w(text);
      }
    });
    this.ws.on('close', () => {
      this.closed = true;
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** session.update -> session.updated through the proxy and the simulator. */
  roundTrip(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.ws.send(JSON.stringify({ type: 'session.update', session: { instructions: 'x' } }), (err) => {
        if (err) reject(err);
      });
    });
  }
}
