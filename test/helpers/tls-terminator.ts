// A TLS front for a plain-TCP proxy port: the `openai` clients always connect
// with wss://, whatever their base URL says, so a test that runs them against
// the proxy puts this in front of it. Each TLS connection is piped, bytes
// unchanged, to 127.0.0.1:<target>. The certificate is a throwaway one for
// 127.0.0.1 (test-cert.ts); the client trusts it through `ca`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { writeTestCert } from './test-cert';

export interface TlsTerminator {
  /** `https://127.0.0.1:<port>` (the openai clients turn it into wss://). */
  readonly origin: string;
  readonly port: number;
  /** The certificate in PEM, for the client's `ca`. */
  readonly ca: Buffer;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
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
  const sockets = new Set<Socket>();
  const server = createServer({ cert, key }, (front: TLSSocket) => {
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
    front.pipe(back);
    back.pipe(front);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { origin: `https://127.0.0.1:${port}`, port, ca: cert, close };
}
