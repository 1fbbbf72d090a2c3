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
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { ROOT, machine, startProxy, startSimulator, cpuMicros, sleep } from './lib/procs.mjs';
import { benchCertificate } from './lib/tls-cert.mjs';

const WebSocket = createRequire(join(ROOT, 'package.json'))('ws');

const DEFAULTS = { sessions: 1000, concurrency: 20, repeat: 1, upstreamTls: true, json: '', help: false };
const HELP =
  'node bench/connects.mjs [--sessions N] [--concurrency N] [--repeat N] [--upstream-tls false] [--json FILE]';

/** Resolves with the browser socket once the upstream's first event came through. */
function openSession(origin, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${origin}/ws?model=gpt-realtime`, {
      headers: { Origin: 'http://localhost:3000' },
      // Many source addresses, as many browsers: the per-address limits stay out of it.
      localAddress: `127.0.1.${1 + (i % 250)}`,
    });
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}

function counter(text, name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function measure(o) {
  const tls = o.upstreamTls ? benchCertificate() : null;
  const sim = await startSimulator({ tls });
  const proxy = await startProxy(sim.origin, { env: tls ? { NODE_EXTRA_CA_CERTS: tls.cert } : {} });
  const open = [];
  try {
    await sleep(500);
    const cpu0 = cpuMicros(proxy.pid);
    const t0 = performance.now();
    let next = 0;
    const lanes = Array.from({ length: Math.min(o.concurrency, o.sessions) }, async () => {
      while (next < o.sessions) open.push(await openSession(proxy.origin, next++));
    });
    await Promise.all(lanes);
    const cpuMs = (cpuMicros(proxy.pid) - cpu0) / 1000;
    const wallMs = performance.now() - t0;
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.port}/metrics`)).text();
    return {
      sessions: o.sessions,
      concurrency: o.concurrency,
      upstream: tls ? 'wss' : 'ws',
      proxyCpuMsPerOpen: cpuMs / o.sessions,
      wallMsPerOpen: wallMs / o.sessions,
      upstreamConnects: counter(metrics, 'voice_live_proxy_upstream_connects_total\\{outcome="ok"\\}'),
    };
  } finally {
    for (const ws of open) ws.terminate();
    await proxy.stop();
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
  for (let r = 0; r < o.repeat; r++) runs.push(await measure(o));
  console.log(
    table(
      ['upstream', 'sessions', 'concurrency', 'proxy CPU ms/open', 'wall ms/open', 'upstream connects'],
      runs.map((r) => [
        r.upstream,
        r.sessions,
        r.concurrency,
        fmt(r.proxyCpuMsPerOpen, 2),
        fmt(r.wallMsPerOpen, 2),
        r.upstreamConnects,
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
