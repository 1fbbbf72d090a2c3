// TLS on the listening port (TLS_CERT_FILE / TLS_KEY_FILE), in-process, with
// clients that trust a throwaway CA: every route over https:// and wss://,
// HSTS, TLS 1.2 and 1.3 only, and certificate swaps made the way a secret
// volume makes them (a `..data` rename) while sessions are live.
import t from 'tap';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { mintTicket } from '../../src/auth/mint-ticket';
import { loadConfig, type Env } from '../../src/config';
import { HSTS } from '../../src/http/security-headers';
import { createLogger } from '../../src/observability/logger';
import { startProxy, type InspectableProxy } from '../../src/server';
import { startSimulator, type Simulator } from '../../src/simulator/simulator';
import { readCertificatePair } from '../../src/tls/certificate-pair';
import { SecretVolume } from '../helpers/secret-volume';
import { handshake, httpsGet, servedFingerprint, TlsSession } from '../helpers/tls-client';
import { makeCa, makeLeaf, opensslInstalled, type Leaf } from '../helpers/tls-pki';
import { until } from '../helpers/wait';

const skip = opensslInstalled() ? false : 'openssl not installed';
const dir = mkdtempSync(join(tmpdir(), 'vlp-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Stack {
  proxy: InspectableProxy;
  sim: Simulator;
  logs: string[];
  url: string;
  /** Resolves when `n` log lines contain `text`. */
  logged(text: string, n?: number): Promise<void>;
}

async function startTlsProxy(tt: { teardown(fn: () => unknown): void }, env: Env): Promise<Stack> {
  const sim = await startSimulator();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(line);
      cb();
    },
  });
  const cfg = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
    AZURE_SPEECH_KEY: 'sk-test',
    ALLOWED_ORIGINS: 'http://localhost:3000',
    LOG_LEVEL: 'debug',
    MAX_CONNECTIONS_PER_IP: '1000',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '100000',
    RATE_LIMIT_MAX_REQUESTS: '100000',
    ...env,
  });
  const proxy = await startProxy(cfg, { logger: createLogger({ level: cfg.logLevel, pretty: false, destination }) });
  tt.teardown(async () => {
    await proxy.shutdown(0);
    await sim.close();
  });
  return {
    proxy,
    sim,
    logs,
    url: `wss://127.0.0.1:${proxy.port}/ws?model=gpt-realtime`,
    logged: (text, n = 1) => until(() => logs.filter((l) => l.includes(text)).length >= n, text),
  };
}

if (skip === false) {
  const ca = makeCa(dir);
  const first = makeLeaf(ca, dir, 'first');
  const second = makeLeaf(ca, dir, 'second');
  const third = makeLeaf(ca, dir, 'third');
  const expired = makeLeaf(ca, dir, 'expired', { expired: true });
  const fp = (leaf: Leaf): string =>
    readCertificatePair({ certFile: leaf.cert, keyFile: leaf.key, passphraseFile: '' }).fingerprint256;

  t.test('every route over https:// and wss://, with HSTS', async (t) => {
    // One file holding the key, the certificate and its chain, as Key Vault's VM extension writes it.
    const combined = join(dir, 'combined.pem');
    writeFileSync(combined, Buffer.concat([readFileSync(first.key), readFileSync(first.chain)]));
    const s = await startTlsProxy(t, { TLS_CERT_FILE: combined, TLS_KEY_FILE: combined, DEMO: 'true' });
    const port = s.proxy.port;
    for (const path of ['/health', '/livez', '/readyz', '/metrics', '/demo/', '/nope', '/ws']) {
      const res = await httpsGet(port, path, ca.pem);
      t.equal(res.headers['strict-transport-security'], HSTS, `${path}: HSTS`);
      t.ok(res.status > 0, `${path}: answered ${res.status}`);
    }
    t.equal((await httpsGet(port, '/health', ca.pem)).status, 200);
    t.equal((await httpsGet(port, '/demo/', ca.pem)).status, 200, 'the demo page');
    t.equal((await httpsGet(port, '/ws', ca.pem)).status, 426, 'a socket path without an upgrade');
    const metrics = (await httpsGet(port, '/metrics', ca.pem)).body;
    t.match(
      metrics,
      `voice_live_proxy_tls_certificate_expiry_timestamp_seconds ${readCertificatePair({ certFile: first.cert, keyFile: first.key, passphraseFile: '' }).notAfterS}\n`,
      'the expiry gauge is the certificate notAfter',
    );
    for (const path of ['/ws', '/voice-live/realtime']) {
      const session = new TlsSession(`wss://127.0.0.1:${port}${path}?model=gpt-realtime`, ca.pem);
      await session.opened;
      t.match(await session.roundTrip(), /session\.updated/, `${path}: a round trip over wss://`);
      t.equal(session.fingerprint256, fp(first), 'the configured certificate');
      session.ws.close();
    }
    const line = s.logs.find((l) => l.includes('TLS on the listening port'));
    t.match(JSON.parse(line!), { subject: 'CN=first', issuer: 'CN=voice-live-proxy test CA', chain: 1 });
  });

  t.test('TLS 1.2 and 1.3 only', async (t) => {
    const s = await startTlsProxy(t, { TLS_CERT_FILE: first.cert, TLS_KEY_FILE: first.key });
    const port = s.proxy.port;
    // SECLEVEL=0: Node's own client would refuse to offer TLS 1.0/1.1 otherwise.
    const old = { ca: ca.pem, ciphers: 'DEFAULT@SECLEVEL=0' };
    t.same(await handshake(port, { ...old, minVersion: 'TLSv1', maxVersion: 'TLSv1' }), {
      error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    t.same(await handshake(port, { ...old, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' }), {
      error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    t.match(await handshake(port, { ca: ca.pem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), {
      protocol: 'TLSv1.2',
    });
    t.match(await handshake(port, { ca: ca.pem, minVersion: 'TLSv1.3' }), { protocol: 'TLSv1.3' });
    // TLS 1.2: forward secrecy and AEAD only.
    const tls12 = { ca: ca.pem, maxVersion: 'TLSv1.2' } as const;
    t.match(await handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), { protocol: 'TLSv1.2' });
    t.match(await handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }), { protocol: 'TLSv1.2' });
    t.match(
      await handshake(port, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-SHA' }),
      { error: /HANDSHAKE_FAILURE/ },
      'no CBC',
    );
    t.same(await handshake(port, {}), { error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'a client without the CA refuses');
  });

  t.test('late upgrades (CLIENT_AUTH) over TLS are corked and stay open', async (t) => {
    const secret = 'ticket-secret-for-tests-0123456789-abcdef';
    const s = await startTlsProxy(t, {
      TLS_CERT_FILE: first.cert,
      TLS_KEY_FILE: first.key,
      CLIENT_AUTH: 'ticket',
      TICKET_SECRET: secret,
    });
    await s.logged('cork anchor held');
    const sessions = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const ticket = await mintTicket({ sub: `user-${i}`, secret, origin: 'http://localhost:3000' });
        const session = new TlsSession(`${s.url}&ticket=${ticket}`, ca.pem);
        await session.opened;
        return session;
      }),
    );
    const answers = await Promise.all(sessions.map((x) => x.roundTrip()));
    t.equal(answers.length, 20, 'every late session makes a round trip');
    t.equal(sessions.filter((x) => x.closed).length, 0, 'none was cut after its upgrade');
    for (const x of sessions) x.ws.close();
  });

  t.test('a swap during 100 live sessions drops none; new handshakes get the new certificate', async (t) => {
    const vol = new SecretVolume(join(dir, 'vol-swap'), { 'tls.crt': first.chain, 'tls.key': first.key });
    const s = await startTlsProxy(t, {
      TLS_CERT_FILE: vol.path('tls.crt'),
      TLS_KEY_FILE: vol.path('tls.key'),
      // Only the folder watch can see the swap within the test.
      TLS_RELOAD_INTERVAL_MS: '3600000',
    });
    const port = s.proxy.port;
    const sessions: TlsSession[] = [];
    for (let i = 0; i < 100; i++) sessions.push(new TlsSession(s.url, ca.pem));
    await Promise.all(sessions.map((x) => x.opened));
    await Promise.all(sessions.map((x) => x.roundTrip()));
    t.equal(await servedFingerprint(port, ca.pem), fp(first));

    // Traffic keeps flowing through the swap: every session makes round trips until told to stop.
    let flowing = true;
    let trips = 0;
    const traffic = Promise.all(
      sessions.map(async (x) => {
        while (flowing) {
          await x.roundTrip();
          trips++;
        }
      }),
    );
    const swappedAt = Date.now();
    vol.replace({ 'tls.crt': second.chain, 'tls.key': second.key });
    await s.logged('TLS certificate reloaded');
    const tookMs = Date.now() - swappedAt;
    const tripsAtSwap = trips;
    await until(() => trips >= tripsAtSwap + 200, 'round trips after the swap');
    flowing = false;
    await traffic;

    t.equal(sessions.filter((x) => x.closed).length, 0, 'no session closed');
    t.ok(
      sessions.every((x) => x.fingerprint256 === fp(first)),
      'the live sessions were opened with the first certificate',
    );
    t.equal(await servedFingerprint(port, ca.pem), fp(second), 'a new handshake presents the new certificate');
    const fresh = new TlsSession(s.url, ca.pem);
    await fresh.opened;
    await fresh.roundTrip();
    t.equal(fresh.fingerprint256, fp(second), 'a new session over the new certificate');
    t.equal(s.proxy.relay.sessions.size, 101, 'the proxy holds every session');
    t.ok(tookMs < 5000, `the swap was served ${tookMs} ms after the rename`);
    const reloaded = JSON.parse(s.logs.find((l) => l.includes('TLS certificate reloaded'))!) as Record<string, unknown>;
    t.match(reloaded, { fingerprint256: fp(second), previousFingerprint256: fp(first), subject: 'CN=second' });
    t.match(
      s.proxy.metrics.render({ activeConnections: 0, maxConnections: 0, draining: false }),
      /tls_reloads_total\{outcome="ok"\} 1\n/,
    );
    for (const x of [...sessions, fresh]) x.ws.close();
  });

  t.test('a bad new pair is logged and counted; the old one keeps serving', async (t) => {
    const vol = new SecretVolume(join(dir, 'vol-bad'), { 'tls.crt': first.cert, 'tls.key': first.key });
    const s = await startTlsProxy(t, {
      TLS_CERT_FILE: vol.path('tls.crt'),
      TLS_KEY_FILE: vol.path('tls.key'),
      TLS_RELOAD_INTERVAL_MS: '3600000',
    });
    const port = s.proxy.port;
    const live = new TlsSession(s.url, ca.pem);
    await live.opened;

    vol.replace({ 'tls.crt': second.cert, 'tls.key': third.key });
    await s.logged('TLS certificate reload failed');
    let failure = JSON.parse(s.logs.find((l) => l.includes('TLS certificate reload failed'))!) as Record<
      string,
      string
    >;
    t.equal(failure.variable, 'TLS_KEY_FILE', 'the key that does not match');
    t.match(failure.err, /is not the key of the certificate/);
    t.equal(failure.fingerprint256, fp(first), 'says what still serves');
    t.notMatch(failure.err, /BEGIN|PRIVATE/, 'no key material in the log');
    t.equal(await servedFingerprint(port, ca.pem), fp(first), 'the old certificate still serves');
    t.equal(s.proxy.metrics.tlsReloadsFailed, 1);

    vol.replace({ 'tls.crt': expired.cert, 'tls.key': expired.key });
    await s.logged('TLS certificate reload failed', 2);
    failure = JSON.parse(s.logs.filter((l) => l.includes('TLS certificate reload failed'))[1]) as Record<
      string,
      string
    >;
    t.equal(failure.variable, 'TLS_CERT_FILE');
    t.match(failure.err, /expired at 2020-02-01/);
    t.equal(s.proxy.metrics.tlsReloadsFailed, 2, 'each bad pair counted once');

    // A good pair afterwards is taken.
    vol.replace({ 'tls.crt': third.cert, 'tls.key': third.key });
    await s.logged('TLS certificate reloaded');
    t.equal(await servedFingerprint(port, ca.pem), fp(third));
    t.match(await live.roundTrip(), /session\.updated/, 'the session from before still flows');
    t.equal(s.proxy.metrics.tlsReloadsOk, 1);
    live.ws.close();
  });

  t.test('files rewritten in place are noticed by polling; the same bytes change nothing', async (t) => {
    const cert = join(dir, 'inplace.pem');
    const key = join(dir, 'inplace-key.pem');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const s = await startTlsProxy(t, { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_RELOAD_INTERVAL_MS: '1000' });
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(
      s.proxy.metrics.tlsReloadsOk + s.proxy.metrics.tlsReloadsFailed,
      0,
      'a rewrite of the same pair is no reload',
    );
    copyFileSync(second.key, key);
    copyFileSync(second.cert, cert);
    await s.logged('TLS certificate reloaded');
    t.equal(await servedFingerprint(s.proxy.port, ca.pem), fp(second));
    t.equal(s.proxy.metrics.tlsReloadsFailed, 0, 'a pair written file by file is read once, whole');
  });
}
