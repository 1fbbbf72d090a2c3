// The simulator on wss:// (the bench's TLS upstream mode): a throwaway
// certificate from openssl, trusted by the client as its only CA.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startSimulator } from '../src/simulator/simulator';
import { writeTestCert } from './helpers/test-cert';

const dir = mkdtempSync(join(tmpdir(), 'vlp-sim-tls-'));
const cert = writeTestCert(dir);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
t.test(
  'the simulator serves wss:// with the given certificate',
  { skip: cert === null ? 'openssl not installed' : false },
  async (t) => {
    const { cert: certFile, key: keyFile } = cert!;
    const sim = await startSimulator({ tls: { certFile, keyFile }, requireCredential: false });
    t.teardown(() => sim.close());
    t.match(sim.origin, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const ws = new WebSocket(`${sim.origin}/voice-live/realtime?model=m`, { ca: readFileSync(certFile) });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d: Buffer) => resolve(d.toString()));
      ws.once('error', reject);
    });
    t.match(first, /"type":"session.created"/);
    ws.terminate();
  },
);
