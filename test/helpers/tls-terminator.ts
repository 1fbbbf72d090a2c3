// A TLS front for a plain-TCP proxy port: the `openai` clients always connect
// with wss://, whatever their base URL says, so a test that runs them against
// the proxy puts this in front of it. Each TLS connection is piped, bytes
// unchanged, to 127.0.0.1:<target>. The certificate is a throwaway one for
// 127.0.0.1 (test-cert.ts); a client trusts it through `ca` (Chromium through
// launchChromium's `trust`, test/helpers/chromium-page.ts).
// Each connection's first HTTP head in each direction is kept (the upgrade
// request and the 101 or refusal), so a test can read the exact headers a
// client sent and the proxy answered.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { writeTestCert } from './test-cert';

export interface ExchangeHeads {
  /** The client's request line and headers, as sent. */
  request: string;
  /** The proxy's status line and headers, as answered ('' until they arrive). */
  response: string;
}

export interface TlsTerminator {
  /** `https://127.0.0.1:<port>` (the openai clients turn it into wss://). */
  readonly origin: string;
  readonly port: number;
  /** The certificate in PEM, for the client's `ca`. */
  readonly ca: Buffer;
  /** One entry per accepted connection, in order. */
  readonly heads: ExchangeHeads[];
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

const MAX_HEAD = 64 * 1024;

/** Appends `chunk` to a head until its blank line; returns the head so far. */
function grow(head: string, chunk: Buffer): string {
  if (head.includes('\r\n\r\n') || head.length >= MAX_HEAD) return head;
  const next = head + chunk.toString('latin1');
  const end = next.indexOf('\r\n\r\n');
  return end === -1 ? next.slice(0, MAX_HEAD) : next.slice(0, end + 4);
}

/** Starts a terminator for `targetPort`; closed in the test's teardown. Throws when openssl is missing. */
export async function startTlsTerminator(t: Teardown, targetPort: number): Promise<TlsTerminator> {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-tls-'));
  const files = writeTestCert(dir);
  if (files === null) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('openssl is needed to make the test certificate');
  }
  const cert = readFileSync(files.cert);
  const key = readFileSync(files.key);
  rmSync(dir, { recursive: true, force: true });
  const heads: ExchangeHeads[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ cert, key }, (front: TLSSocket) => {
    const entry: ExchangeHeads = { request: '', response: '' };
    heads.push(entry);
    const back = connect(targetPort, '127.0.0.1');
    sockets.add(front);
    sockets.add(back);
    const end = (): void => {
      front.destroy();
      back.destroy();
      sockets.delete(front);
      sockets.delete(back);
    };
    front.on('error', end).on('close', end);
    back.on('error', end).on('close', end);
    front.on('data', (c: Buffer) => {
      entry.request = grow(entry.request, c);
    });
    back.on('data', (c: Buffer) => {
      entry.response = grow(entry.response, c);
    });
    front.pipe(back);
    back.pipe(front);
  });
  // A client that rejects the certificate (or drops the handshake) is not the test's failure.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { origin: `https://127.0.0.1:${port}`, port, ca: cert, heads, close };
}

/** The value of header `name` (case-insensitive) in an HTTP head, or undefined. */
export function headerOf(head: string, name: string): string | undefined {
  const want = name.toLowerCase() + ':';
  for (const line of head.split('\r\n')) {
    if (line.toLowerCase().startsWith(want)) return line.slice(want.length).trim();
  }
  return undefined;
}
