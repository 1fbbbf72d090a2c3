// The cost of CLIENT_AUTH per upgrade: the same number of real
// WebSocket upgrades (101, then the socket is dropped) against a proxy in each
// mode, side by side. Credentials are minted before the clock starts (a
// ticket is single-use, so each upgrade gets its own); the JWKS is served from
// this process on 127.0.0.1. The upstream is a closed port, identical for every
// mode, so what differs between rows is the verification.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Histogram } from './histogram.mjs';
import { cpuMicros, startProxy } from './procs.mjs';

const SECRET = 'bench-ticket-secret-0123456789abcdef-0123456789';
const ISSUER = 'https://login.example/tenant/v2.0';
const AUDIENCE = 'https://ai.azure.com';
const ORIGIN = 'http://localhost:3000';

async function startJwks() {
  const rs = await generateKeyPair('RS256');
  const es = await generateKeyPair('ES256');
  const body = JSON.stringify({
    keys: [
      { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256' },
      { ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256' },
    ],
  });
  const server = http.createServer((_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/keys`,
    rs: rs.privateKey,
    es: es.privateKey,
    close: () => server.close(),
  };
}

function modes(jwks) {
  const now = () => Math.floor(Date.now() / 1000);
  const ticket = (alg, key, kid) => (i) =>
    new SignJWT({})
      .setProtectedHeader(kid ? { alg, kid } : { alg })
      .setSubject(`user-${i % 1000}`)
      .setAudience('voice-live-proxy')
      .setIssuedAt(now())
      .setExpirationTime(now() + 300)
      .setJti(randomUUID())
      .sign(key);
  const hs = Buffer.from(SECRET);
  return [
    { name: 'none', env: {}, query: async () => '' },
    {
      name: 'ticket HS256',
      env: { CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET },
      query: async (i) => `&ticket=${await ticket('HS256', hs)(i)}`,
    },
    {
      name: 'ticket RS256 (JWKS)',
      env: { CLIENT_AUTH: 'ticket', TICKET_JWKS_URL: jwks.url },
      query: async (i) => `&ticket=${await ticket('RS256', jwks.rs, 'rs')(i)}`,
    },
    {
      name: 'ticket ES256 (JWKS)',
      env: { CLIENT_AUTH: 'ticket', TICKET_JWKS_URL: jwks.url },
      query: async (i) => `&ticket=${await ticket('ES256', jwks.es, 'es')(i)}`,
    },
    {
      name: 'token RS256 (JWKS)',
      env: { CLIENT_AUTH: 'token', TOKEN_JWKS_URL: jwks.url, TOKEN_ISSUER: ISSUER, TOKEN_AUDIENCE: AUDIENCE },
      query: async (i) =>
        `&token=${await new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
          .setSubject(`user-${i % 1000}`)
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt(now())
          .setExpirationTime(now() + 3600)
          .sign(jwks.rs)}`,
    },
  ];
}

function upgradeOnce(port, path) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
        origin: ORIGIN,
      },
    });
    const done = (status) => resolve({ status, us: Number(process.hrtime.bigint() - t0) / 1000 });
    req.on('upgrade', (_res, sock) => {
      sock.destroy();
      done(101);
    });
    req.on('response', (res) => {
      res.resume();
      done(res.statusCode);
    });
    req.on('error', () => done(0));
    req.end();
  });
}

async function drive(port, paths, concurrency) {
  const hist = new Histogram();
  const statuses = {};
  let next = 0;
  const t0 = performance.now();
  async function lane() {
    while (next < paths.length) {
      const r = await upgradeOnce(port, paths[next++]);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      hist.record(r.us);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { seconds: (performance.now() - t0) / 1000, hist, statuses };
}

/** Runs every mode; returns one row each. */
export async function runAuthUpgrades({ count, connections, log = console.error }) {
  const jwks = await startJwks();
  const rows = [];
  try {
    for (const m of modes(jwks)) {
      const warm = Math.min(200, count);
      const paths = [];
      for (let i = 0; i < warm + count; i++) paths.push(`/ws?model=gpt-realtime${await m.query(i)}`);
      const proxy = await startProxy('ws://127.0.0.1:9', {
        env: { LOG_LEVEL: 'error', UPSTREAM_CONNECT_TIMEOUT_MS: '1000', ...m.env },
      });
      try {
        await drive(proxy.port, paths.slice(0, warm), Math.min(connections, warm));
        const cpu0 = cpuMicros(proxy.pid);
        const r = await drive(proxy.port, paths.slice(warm), connections);
        const cpu = cpuMicros(proxy.pid) - cpu0;
        const row = {
          mode: m.name,
          upgrades: count,
          statuses: r.statuses,
          upgradesPerSec: count / r.seconds,
          p50Ms: r.hist.quantile(0.5) / 1000,
          p99Ms: r.hist.quantile(0.99) / 1000,
          proxyUsPerUpgrade: cpu / count,
        };
        log(`> ${m.name}: ${row.upgradesPerSec.toFixed(0)} upgrades/s, p99 ${row.p99Ms.toFixed(2)} ms`);
        rows.push(row);
      } finally {
        await proxy.stop('SIGKILL');
      }
    }
  } finally {
    jwks.close();
  }
  return rows;
}
