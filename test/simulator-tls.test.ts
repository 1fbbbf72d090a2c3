// The simulator on wss:// (the bench's TLS upstream mode): a throwaway
// certificate from openssl, trusted by the client as its only CA.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startSimulator } from '../src/simulator/simulator';

function makeCert(): { certFile: string; keyFile: string; dir: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-sim-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { certFile, keyFile, dir };
}

const cert = makeCert();
t.test(
  'the simulator serves wss:// with the given certificate',
  { skip: cert === null ? 'openssl not installed' : false },
  async (t) => {
    const { certFile, keyFile, dir } = cert!;
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
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
