// Every upstream TLS connection of a thread shares one client context
// (tls-context.ts); sharing must not loosen verification: a certificate the
// process does not trust is still refused, on every connection. (That the
// shared context trusts NODE_EXTRA_CA_CERTS is shown end to end by
// test/integration/upstream-frames.test.ts, over TLS, with two sessions.)
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { connectTls } from '../../src/upstream/reader';
import { upstreamSecureContext } from '../../src/upstream/tls-context';
import { writeTestCert } from '../helpers/test-cert';

t.test('one context per thread', async (t) => {
  t.equal(upstreamSecureContext(), upstreamSecureContext(), 'made once, then reused');
});

const dir = mkdtempSync(join(tmpdir(), 'vlp-up-ctx-'));
const cert = writeTestCert(dir);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test(
  'a certificate the process does not trust is refused on every connection',
  { skip: cert === null ? 'openssl not installed' : false },
  async (t) => {
    const server = createServer({ cert: readFileSync(cert!.cert), key: readFileSync(cert!.key) });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise((r) => server.close(r)));
    const port = (server.address() as AddressInfo).port;
    for (let i = 0; i < 3; i++) {
      const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost' }) as TLSSocket;
      const outcome = await new Promise<string>((resolve) => {
        socket.once('secureConnect', () => resolve('connected'));
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      socket.destroy();
      t.equal(outcome, 'DEPTH_ZERO_SELF_SIGNED_CERT', `connection ${i + 1}: refused by verification`);
    }
  },
);
