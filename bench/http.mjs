#!/usr/bin/env node
// HTTP load with autocannon: /health, and upgrades the proxy refuses before
// any WebSocket exists (403 bad origin, 429 rate limited, 503 at capacity or
// draining). Refusals must stay cheap: a flood of bad upgrades is the first
// thing a public endpoint sees, and /health must keep answering through it.
//
//   npm run build && node bench/http.mjs --duration 10 --connections 100
//   node bench/http.mjs --target http://127.0.0.1:8080 --only health   (an operator's own proxy)
//   node bench/http.mjs --auth [--auth-count 3000] [--connections 50]   (cost per upgrade of each CLIENT_AUTH mode)
import http from 'node:http';
import autocannon from 'autocannon';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { machine, startProxy, startSimulator, cpuMicros, rssKiB, sleep } from './lib/procs.mjs';
import { RawSocket } from './lib/raw-ws.mjs';
import { runAuthUpgrades } from './lib/auth-upgrades.mjs';

const DEFAULTS = {
  duration: 10,
  connections: 100,
  workers: 0,
  only: '',
  target: '',
  json: '',
  help: false,
  auth: false,
  authCount: 3000,
};

const UPGRADE = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};
const GOOD_ORIGIN = 'http://localhost:3000';
const BAD_ORIGIN = 'http://localhost:3000.evil.example';

/**
 * Each scenario: the proxy environment it needs, how to put the proxy in the
 * state under test, and the request to flood it with.
 */
const SCENARIOS = [
  { name: 'health', expect: 200, path: '/health', headers: {} },
  {
    name: 'upgrade-403-origin',
    expect: 403,
    path: '/ws?model=gpt-realtime',
    headers: { ...UPGRADE, origin: BAD_ORIGIN },
  },
  {
    name: 'upgrade-429-rate',
    expect: 429,
    path: '/ws?model=gpt-realtime',
    headers: { ...UPGRADE, origin: GOOD_ORIGIN },
    env: { UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1', UPGRADE_RATE_LIMIT_WINDOW_MS: '86400000' },
    // Spend the one token on a refused upgrade, so every flooded request meets an empty bucket.
    prepare: async (p) => {
      const st = await fetchStatus(p, '/ws', { ...UPGRADE, origin: BAD_ORIGIN });
      if (st !== 403) throw new Error(`priming request: expected 403, got ${st}`);
    },
  },
  {
    name: 'upgrade-503-capacity',
    expect: 503,
    path: '/ws?model=gpt-realtime',
    headers: { ...UPGRADE, origin: GOOD_ORIGIN },
    env: { MAX_CONNECTIONS: '1' },
    needsSim: true,
    prepare: (p, ctx) => holdSession(p, ctx),
  },
  {
    name: 'upgrade-503-draining',
    expect: 503,
    path: '/ws?model=gpt-realtime',
    headers: { ...UPGRADE, origin: GOOD_ORIGIN },
    env: { SHUTDOWN_GRACE_MS: '3600000' },
    needsSim: true,
    // One live session keeps the draining proxy from exiting during the flood.
    prepare: async (p, ctx) => {
      await holdSession(p, ctx);
      p.proc.kill('SIGTERM');
      await sleep(200);
    },
  },
  {
    name: 'health-during-403-flood',
    expect: 200,
    path: '/health',
    headers: {},
    probeRate: 200,
    flood: { path: '/ws?model=gpt-realtime', headers: { ...UPGRADE, origin: BAD_ORIGIN } },
  },
];

// node:http, not fetch: fetch refuses to send Connection/Upgrade headers.
function fetchStatus(p, path, headers) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, path, headers });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('upgrade', (res, sock) => {
      sock.destroy();
      resolve(101);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

function holdSession(p, ctx) {
  return new Promise((resolve, reject) => {
    const s = new RawSocket(
      `ws://127.0.0.1:${p.port}/ws?model=gpt-realtime`,
      { headers: { Origin: GOOD_ORIGIN } },
      {
        onOpen() {},
        onFrame() {
          resolve();
        },
        onClose(code, why) {
          reject(new Error(`held session closed: ${code} ${why}`));
        },
      },
    );
    ctx.held = s;
  });
}

function cannon(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    autocannon.track(inst, {
      renderProgressBar: false,
      renderResultsTable: false,
      renderLatencyTable: false,
      outputStream: process.stderr,
    });
  });
}

function summarise(name, expect, res, cpuUs, rss) {
  const statuses = Object.fromEntries(Object.entries(res.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    scenario: name,
    expectStatus: expect,
    statuses,
    expectedShare: total === 0 ? 0 : (statuses[expect] ?? 0) / total,
    reqPerSec: res.requests.average,
    latencyMs: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
    errors: res.errors,
    timeouts: res.timeouts,
    non2xx: res.non2xx,
    proxyCpuPct: cpuUs === null ? null : cpuUs / res.duration / 1e4,
    proxyUsPerRequest: cpuUs === null ? null : cpuUs / Math.max(1, res.requests.total),
    proxyRssMiB: rss === null ? null : rss / 1024,
  };
}

async function runScenario(sc, o) {
  let proxy = null;
  let sim = null;
  const ctx = { held: null };
  let base;
  if (o.target !== '') {
    base = o.target.replace(/\/$/, '');
  } else {
    if (sc.needsSim) sim = await startSimulator();
    proxy = await startProxy(sim ? sim.origin : 'ws://127.0.0.1:9', { env: { LOG_LEVEL: 'error', ...(sc.env ?? {}) } });
    base = `http://127.0.0.1:${proxy.port}`;
    if (sc.prepare) await sc.prepare(proxy, ctx);
  }
  try {
    const cpu0 = proxy ? cpuMicros(proxy.pid) : 0;
    let res;
    if (sc.flood) {
      // The flood runs in a worker thread so that its own event loop does not
      // inflate the probe's latency.
      const [probe, flood] = await Promise.all([
        cannon({
          url: base + sc.path,
          headers: sc.headers,
          connections: 1,
          overallRate: sc.probeRate,
          duration: o.duration,
        }),
        cannon({
          url: base + sc.flood.path,
          headers: sc.flood.headers,
          connections: o.connections,
          duration: o.duration,
          workers: Math.max(1, o.workers),
        }),
      ]);
      res = probe;
      ctx.flood = {
        reqPerSec: flood.requests.average,
        statuses: Object.fromEntries(Object.entries(flood.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
      };
    } else {
      res = await cannon({
        url: base + sc.path,
        headers: sc.headers,
        connections: o.connections,
        duration: o.duration,
        workers: o.workers || undefined,
      });
    }
    const cpu = proxy ? cpuMicros(proxy.pid) - cpu0 : null;
    const out = summarise(sc.name, sc.expect, res, sc.flood ? null : cpu, proxy ? rssKiB(proxy.pid) : null);
    if (sc.flood && proxy) out.proxyCpuPct = cpu / res.duration / 1e4;
    if (sc.flood) out.flood = ctx.flood;
    return out;
  } finally {
    ctx.held?.destroy();
    if (proxy) await proxy.stop('SIGKILL');
    if (sim) await sim.stop();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2), DEFAULTS);
  if (o.help) {
    console.log(`node bench/http.mjs [--duration S] [--connections N] [--workers N] [--only a,b] [--target http://host:port] [--json FILE]
node bench/http.mjs --auth [--auth-count N] [--connections N] [--json FILE]   (CLIENT_AUTH cost per upgrade)
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return;
  }
  const started = new Date().toISOString();
  if (o.auth) {
    const rows = await runAuthUpgrades({ count: o.authCount, connections: o.connections });
    console.log(
      table(
        ['CLIENT_AUTH', 'upgrades', 'status seen', 'upgrades/s', 'p50 ms', 'p99 ms', 'proxy CPU us/upgrade'],
        rows.map((r) => [
          r.mode,
          r.upgrades,
          Object.entries(r.statuses)
            .map(([k, v]) => `${k}x${v}`)
            .join(' '),
          fmt(r.upgradesPerSec, 0),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.proxyUsPerUpgrade, 0),
        ]),
      ),
    );
    if (o.json !== '')
      writeJson(o.json, {
        bench: 'http-auth',
        date: started,
        machine: machine(),
        argv: process.argv.slice(2),
        connections: o.connections,
        results: rows,
      });
    return;
  }
  const only = o.only === '' ? null : new Set(o.only.split(','));
  const results = [];
  for (const sc of SCENARIOS) {
    if (only && !only.has(sc.name)) continue;
    if (o.target !== '' && sc.prepare) {
      console.error(`skip ${sc.name}: needs a spawned proxy`);
      continue;
    }
    console.error(`> ${sc.name}: ${o.connections} connections, ${o.duration} s`);
    results.push(await runScenario(sc, o));
  }
  console.log(
    table(
      [
        'scenario',
        'status seen',
        'req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'errors',
        'proxy CPU%',
        'proxy us/req',
      ],
      results.map((r) => [
        r.scenario + (r.flood ? ` (flood ${fmt(r.flood.reqPerSec, 0)} req/s)` : ''),
        Object.entries(r.statuses)
          .map(([k, v]) => `${k}x${v}`)
          .join(' '),
        fmt(r.reqPerSec, 0),
        fmt(r.latencyMs.p50, 1),
        fmt(r.latencyMs.p90, 1),
        fmt(r.latencyMs.p99, 1),
        fmt(r.latencyMs.max, 1),
        r.errors + r.timeouts,
        fmt(r.proxyCpuPct),
        fmt(r.proxyUsPerRequest, 1),
      ]),
    ),
  );
  const out = {
    bench: 'http',
    date: started,
    machine: machine(),
    argv: process.argv.slice(2),
    connections: o.connections,
    duration: o.duration,
    results,
  };
  if (o.json !== '') writeJson(o.json, out);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
