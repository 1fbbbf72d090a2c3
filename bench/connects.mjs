#!/usr/bin/env node
// What a session open costs the proxy: the browser's upgrade, the upstream
// TLS handshake and the upstream's 101, as in a reconnect storm after a
// deploy. Opens --sessions sessions through a fresh proxy, --concurrency at
// a time, each counted open at the simulator's first event; reports the
// proxy's CPU and the wall time per open.
//
//   npm run build && node bench/connects.mjs --sessions 1000 --concurrency 20 --repeat 3
//
// To compare two builds, run it from each checkout, alternating.
//
// --targets proxy,nginx opens the same sessions through nginx too, and
// --browser-tls puts the browser leg on TLS (the proxy's TLS_CERT_FILE /
// TLS_KEY_FILE, nginx's ssl listener): with the default TLS upstream, a
// reconnect storm with TLS handshakes on both legs.
//
//   node bench/connects.mjs --targets proxy,nginx --browser-tls --sessions 1000 --concurrency 20
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { ROOT, machine, startProxy, startSimulator, startNginx, cpuMicros, sleep } from './lib/procs.mjs';
import { benchCertificate } from './lib/tls-cert.mjs';

const WebSocket = createRequire(join(ROOT, 'package.json'))('ws');

const DEFAULTS = {
  sessions: 1000,
  concurrency: 20,
  repeat: 1,
  upstreamTls: true,
  browserTls: false,
  targets: 'proxy',
  json: '',
  help: false,
};
const HELP =
  'node bench/connects.mjs [--sessions N] [--concurrency N] [--repeat N] [--upstream-tls false] [--browser-tls] [--targets proxy,nginx] [--json FILE]';

/** Resolves with the browser socket once the upstream's first event came through. */
function openSession(url, headers, ca, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers,
      ca: ca ?? undefined,
      // Many source addresses, as many browsers: the per-address limits stay out of it.
      localAddress: `127.0.1.${1 + (i % 250)}`,
    });
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}

function getText(url, ca) {
  if (!url.startsWith('https:')) return fetch(url).then((r) => r.text());
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function counter(text, name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function measure(o, target) {
  const tls = o.upstreamTls ? benchCertificate() : null;
  const front = o.browserTls ? benchCertificate() : null;
  const ca = front === null ? null : readFileSync(front.cert, 'utf8');
  const sim = await startSimulator({ tls });
  const relay = await (
    target === 'nginx'
      ? startNginx(sim.port, { tls, front })
      : startProxy(sim.origin, {
          env: {
            ...(tls ? { NODE_EXTRA_CA_CERTS: tls.cert } : {}),
            ...(front ? { TLS_CERT_FILE: front.cert, TLS_KEY_FILE: front.key } : {}),
          },
          ca,
        })
  ).catch(async (err) => {
    await sim.stop();
    throw err;
  });
  const url =
    target === 'nginx'
      ? `${relay.origin}/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime`
      : `${relay.origin}/ws?model=gpt-realtime`;
  const headers = target === 'nginx' ? { 'api-key': 'bench-key' } : { Origin: 'http://localhost:3000' };
  const open = [];
  try {
    await sleep(500);
    const cpu0 = cpuMicros(relay.pid);
    const t0 = performance.now();
    let next = 0;
    const lanes = Array.from({ length: Math.min(o.concurrency, o.sessions) }, async () => {
      while (next < o.sessions) open.push(await openSession(url, headers, ca, next++));
    });
    await Promise.all(lanes);
    const cpuMs = (cpuMicros(relay.pid) - cpu0) / 1000;
    const wallMs = performance.now() - t0;
    const metrics =
      target === 'proxy' ? await getText(`${front ? 'https' : 'http'}://127.0.0.1:${relay.port}/metrics`, ca) : '';
    return {
      target,
      sessions: o.sessions,
      concurrency: o.concurrency,
      browser: front ? 'wss' : 'ws',
      upstream: tls ? 'wss' : 'ws',
      relayCpuMsPerOpen: cpuMs / o.sessions,
      wallMsPerOpen: wallMs / o.sessions,
      opensPerSecond: o.sessions / (wallMs / 1000),
      upstreamConnects:
        target === 'proxy' ? counter(metrics, 'voice_live_proxy_upstream_connects_total\\{outcome="ok"\\}') : null,
    };
  } finally {
    for (const ws of open) ws.terminate();
    await relay.stop();
    await sim.stop();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2), DEFAULTS);
  if (o.help) {
    console.log(HELP);
    return;
  }
  const runs = [];
  const targets = o.targets.split(',').map((s) => s.trim());
  for (let r = 0; r < o.repeat; r++) {
    // Alternate the order on every repetition, as compare.mjs does.
    for (const target of r % 2 === 0 ? targets : [...targets].reverse()) runs.push(await measure(o, target));
  }
  console.log(
    table(
      [
        'target',
        'browser',
        'upstream',
        'sessions',
        'concurrency',
        'relay CPU ms/open',
        'wall ms/open',
        'opens/s',
        'upstream connects',
      ],
      runs.map((r) => [
        r.target,
        r.browser,
        r.upstream,
        r.sessions,
        r.concurrency,
        fmt(r.relayCpuMsPerOpen, 2),
        fmt(r.wallMsPerOpen, 2),
        fmt(r.opensPerSecond, 0),
        r.upstreamConnects ?? '-',
      ]),
    ),
  );
  if (o.json)
    writeJson(o.json, {
      bench: 'connects',
      date: new Date().toISOString(),
      machine: machine(),
      argv: process.argv.slice(2),
      runs,
    });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
