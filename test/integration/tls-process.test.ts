// The real entry point with TLS_CERT_FILE / TLS_KEY_FILE: start-up refusals
// that name the variable (one thread and WORKERS=2), and with worker threads
// every thread serving the same certificate and taking a swap.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../../src/simulator/simulator';
import { readCertificatePair } from '../../src/tls/certificate-pair';
import { SecretVolume } from '../helpers/secret-volume';
import { entryBuilt, proxyTestEnv, spawnProxy, startProxyProcess } from '../helpers/spawn-proxy';
import { httpsGet, servedFingerprint, TlsSession } from '../helpers/tls-client';
import { makeCa, makeLeaf, opensslInstalled, type Leaf } from '../helpers/tls-pki';

const skip = !entryBuilt() ? 'dist/ not built (npm run build)' : opensslInstalled() ? false : 'openssl not installed';
const dir = mkdtempSync(join(tmpdir(), 'vlp-tls-proc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

if (skip === false) {
  const ca = makeCa(dir);
  const first = makeLeaf(ca, dir, 'first', { passphrase: 'correct horse' });
  const second = makeLeaf(ca, dir, 'second', { passphrase: 'correct horse' });
  const other = makeLeaf(ca, dir, 'other');
  const expired = makeLeaf(ca, dir, 'expired', { expired: true });
  const pass = join(dir, 'pass.txt');
  writeFileSync(pass, 'correct horse\n');
  const pairOf = (leaf: Leaf) => readCertificatePair({ certFile: leaf.cert, keyFile: leaf.key, passphraseFile: pass });

  async function refused(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const child = spawnProxy({ PORT: '0', ...proxyTestEnv('ws://127.0.0.1:1'), ...env });
    const { code } = await child.exited;
    return { code, stderr: child.stderr };
  }

  t.test('a bad pair stops the start with one line naming the variable', async (t) => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [
        'a certificate without its key',
        { TLS_CERT_FILE: other.cert },
        /^voice-live-proxy: invalid configuration: TLS_KEY_FILE: expected a PEM key file when TLS_CERT_FILE is set/,
      ],
      [
        "a key that is not the certificate's",
        { TLS_CERT_FILE: other.cert, TLS_KEY_FILE: expired.key },
        /^voice-live-proxy: failed to start: TLS_KEY_FILE: .*expired-key\.pem is not the key of the certificate in .*other\.pem\n$/,
      ],
      [
        'an expired certificate',
        { TLS_CERT_FILE: expired.cert, TLS_KEY_FILE: expired.key },
        /^voice-live-proxy: failed to start: TLS_CERT_FILE: the certificate in .*expired\.pem expired at 2020-02-01/,
      ],
      [
        'an unreadable certificate',
        { TLS_CERT_FILE: join(dir, 'absent.pem'), TLS_KEY_FILE: other.key },
        /^voice-live-proxy: failed to start: TLS_CERT_FILE: cannot read .*absent\.pem \(ENOENT\)/,
      ],
      [
        'an encrypted key without its passphrase, with workers',
        { TLS_CERT_FILE: first.cert, TLS_KEY_FILE: first.key, WORKERS: '2' },
        /^voice-live-proxy: failed to start: TLS_PASSPHRASE_FILE: .*first-key\.pem is encrypted/,
      ],
    ];
    for (const [what, env, line] of cases) {
      const { code, stderr } = await refused({ WORKERS: '1', ...env });
      t.equal(code, 1, `${what}: exit 1`);
      t.match(stderr, line, what);
      t.equal(stderr.match(/voice-live-proxy: /g)?.length, 1, `${what}: said once`);
    }
  });

  t.test('WORKERS=2: every thread serves the certificate and takes the swap', async (t) => {
    const sim = await startSimulator();
    t.teardown(() => sim.close());
    const vol = new SecretVolume(join(dir, 'vol'), { 'tls.crt': first.chain, 'tls.key': first.key, pass: pass });
    const { child, port } = await startProxyProcess(t, sim.origin, {
      WORKERS: '2',
      TLS_CERT_FILE: vol.path('tls.crt'),
      TLS_KEY_FILE: vol.path('tls.key'),
      TLS_PASSPHRASE_FILE: vol.path('pass'),
      TLS_RELOAD_INTERVAL_MS: '3600000',
      MAX_CONNECTIONS_PER_IP: '1000',
      UPGRADE_RATE_LIMIT_MAX_REQUESTS: '100000',
    });
    t.equal((await child.line('voice-live-proxy listening')).workers, 2);
    const url = `wss://127.0.0.1:${port}/ws?model=gpt-realtime`;
    const sessions = Array.from({ length: 40 }, () => new TlsSession(url, ca.pem));
    await Promise.all(sessions.map((s) => s.opened));
    await Promise.all(sessions.map((s) => s.roundTrip()));
    t.ok(
      sessions.every((s) => s.fingerprint256 === pairOf(first).fingerprint256),
      'every worker serves the first certificate',
    );

    vol.replace({ 'tls.crt': second.chain, 'tls.key': second.key, pass: pass });
    await child.lines('TLS certificate reloaded: new connections get it, live sessions keep theirs', 2);
    const workers = child.stdout
      .filter((l) => l.includes('TLS certificate reloaded'))
      .map((l) => (JSON.parse(l) as { worker: number }).worker)
      .sort();
    t.same(workers, [0, 1], 'each worker swapped its own listener');
    await Promise.all(sessions.map((s) => s.roundTrip()));
    t.equal(sessions.filter((s) => s.closed).length, 0, 'no session dropped');
    const fresh = await Promise.all(Array.from({ length: 20 }, () => servedFingerprint(port, ca.pem)));
    t.same(
      new Set(fresh),
      new Set([pairOf(second).fingerprint256]),
      'every new handshake, on either worker, gets the new certificate',
    );
    const metrics = (await httpsGet(port, '/metrics', ca.pem)).body;
    t.match(metrics, `voice_live_proxy_tls_certificate_expiry_timestamp_seconds ${pairOf(second).notAfterS}\n`);
    t.match(metrics, /voice_live_proxy_tls_reloads_total\{outcome="ok"\} 2\n/, 'counted once per worker');
    // The image's HEALTHCHECK speaks https:// when TLS_CERT_FILE is set.
    const probe = /HEALTHCHECK[^\n]*\\\n\s*CMD node -e "(.*)"/.exec(
      readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8'),
    );
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['-e', probe![1]], {
        env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
      }).status;
    t.equal(run({ TLS_CERT_FILE: vol.path('tls.crt') }), 0, 'the HEALTHCHECK probe passes over TLS');
    t.equal(run({}), 1, 'and plain HTTP to the TLS port fails');
    for (const s of sessions) s.ws.close();
  });
}
