// A TLS terminator in front of the proxy's plain port, for clients that only
// speak wss:// (the `openai` realtime clients refuse any other scheme). It
// forwards bytes both ways unchanged, and keeps each connection's first HTTP
// head in each direction (the upgrade request and the 101 or refusal), so a
// test can read the exact headers a client sent and the proxy answered.
// The certificate is a throwaway one (test-cert.ts); `spki` is its pin for
// Chromium's --ignore-certificate-errors-spki-list.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { TestCert } from './test-cert';

export interface ExchangeHeads {
  /** The client's request line and headers, as sent. */
  request: string;
  /** The proxy's status line and headers, as answered ('' until they arrive). */
  response: string;
}

export interface TlsTerminator {
  readonly port: number;
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  /** base64 SHA-256 of the certificate's public key (SubjectPublicKeyInfo, DER). */
  readonly spki: string;
  /** One entry per accepted connection, in order. */
  readonly heads: ExchangeHeads[];
  close(): Promise<void>;
}

const MAX_HEAD = 64 * 1024;

/** Appends `chunk` to a head until its blank line; returns the head so far. */
function grow(head: string, chunk: Buffer): string {
  if (head.includes('\r\n\r\n') || head.length >= MAX_HEAD) return head;
  const next = head + chunk.toString('latin1');
  const end = next.indexOf('\r\n\r\n');
  return end === -1 ? next.slice(0, MAX_HEAD) : next.slice(0, end + 4);
}

/** Listens on 127.0.0.1 (port 0) and forwards each TLS connection to 127.0.0.1:`targetPort`. */
export async function startTlsTerminator(targetPort: number, cert: TestCert): Promise<TlsTerminator> {
  const certPem = readFileSync(cert.cert);
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const spki = createHash('sha256').update(der).digest('base64');
  const heads: ExchangeHeads[] = [];
  const open = new Set<Socket>();
  const server = createServer({ cert: certPem, key: readFileSync(cert.key) }, (tls: TLSSocket) => {
    const entry: ExchangeHeads = { request: '', response: '' };
    heads.push(entry);
    const plain = connect(targetPort, '127.0.0.1');
    open.add(tls);
    open.add(plain);
    tls.on('data', (c: Buffer) => {
      entry.request = grow(entry.request, c);
    });
    plain.on('data', (c: Buffer) => {
      entry.response = grow(entry.response, c);
    });
    tls.pipe(plain);
    plain.pipe(tls);
    const drop = (): void => {
      tls.destroy();
      plain.destroy();
      open.delete(tls);
      open.delete(plain);
    };
    tls.on('error', drop);
    plain.on('error', drop);
    tls.on('close', drop);
    plain.on('close', drop);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    spki,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The value of header `name` (case-insensitive) in an HTTP head, or undefined. */
export function headerOf(head: string, name: string): string | undefined {
  const want = name.toLowerCase() + ':';
  for (const line of head.split('\r\n')) {
    if (line.toLowerCase().startsWith(want)) return line.slice(want.length).trim();
  }
  return undefined;
}
