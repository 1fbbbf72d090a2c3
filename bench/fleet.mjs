#!/usr/bin/env node
// What the fleet costs an upgrade: upgrades per second and upgrade latency
// (request written -> 101 read) for one proxy process without Redis, then with
// REDIS_URL pointing at a local redis-server (loopback, so this is the floor:
// in Azure add the network round trip to Azure Cache for Redis, about 1 ms in
// one region). Each client loops: raw upgrade, read the status line, close.
// The sessions are closed at once, so this measures admission, not relaying.
//
//   npm run build && node bench/fleet.mjs --duration 10 --connections 50
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { machine, startProxy, startSimulator, freePort, sleep, cpuMicros } from './lib/procs.mjs';
import { Histogram } from './lib/histogram.mjs';

const o = parseArgs(process.argv.slice(2), { duration: 10, connections: 50, warmup: 2, json: '', help: false });
if (o.help) {
  console.log('node bench/fleet.mjs [--duration s] [--connections n] [--warmup s] [--json file]');
  process.exit(0);
}

function request(port) {
  return (
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://localhost:3000\r\n\r\n'
  );
}

/** One upgrade: resolves with [status, microseconds]. */
function upgradeOnce(port, req) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setNoDelay(true);
    sock.once('connect', () => sock.write(req));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.indexOf('\r\n') === -1) return;
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      resolve([Number(buf.slice(9, 12)), us]);
      sock.destroy();
    });
    sock.once('error', () => resolve([0, 0]));
  });
}

async function load(port, seconds, hist) {
  const req = request(port);
  const deadline = Date.now() + seconds * 1000;
  const counts = {};
  await Promise.all(
    Array.from({ length: o.connections }, async () => {
      while (Date.now() < deadline) {
        const [status, us] = await upgradeOnce(port, req);
        counts[status] = (counts[status] ?? 0) + 1;
        if (status === 101 && hist !== null) hist.record(us);
      }
    }),
  );
  return counts;
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vlp-bench-redis-'));
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', () => reject(new Error('redis-server exited')));
  });
  proc.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid,
    stop: () => {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function run(name, env, redis) {
  const sim = await startSimulator();
  const proxy = await startProxy(sim.origin, { env: { ...env, LOG_LEVEL: 'warn' } });
  try {
    await load(proxy.port, o.warmup, null);
    await sleep(500); // let the warm-up sessions' upstream legs close
    const hist = new Histogram();
    const cpu0 = cpuMicros(proxy.proc.pid);
    const r0 = redis === null ? 0 : cpuMicros(redis.pid);
    const t0 = Date.now();
    const counts = await load(proxy.port, o.duration, hist);
    const secs = (Date.now() - t0) / 1000;
    const ok = counts[101] ?? 0;
    return {
      name,
      upgrades: ok,
      other: Object.fromEntries(Object.entries(counts).filter(([k]) => k !== '101')),
      perSecond: ok / secs,
      p50ms: hist.quantile(0.5) / 1000,
      p99ms: hist.quantile(0.99) / 1000,
      maxMs: hist.max / 1000,
      proxyCpuPerUpgradeUs: (cpuMicros(proxy.proc.pid) - cpu0) / Math.max(1, ok),
      redisCpuPerUpgradeUs: redis === null ? 0 : (cpuMicros(redis.pid) - r0) / Math.max(1, ok),
    };
  } finally {
    await proxy.stop();
    await sim.stop();
  }
}

const results = [];
results.push(await run('no Redis', {}, null));
const redis = await startRedis();
try {
  results.push(
    await run(
      'REDIS_URL (loopback)',
      {
        REDIS_URL: redis.url,
        FLEET_MAX_SESSIONS: '1000000',
        MAX_CONNECTIONS_PER_IP: '1000000',
        FLEET_REDIS_TIMEOUT_MS: '2000',
      },
      redis,
    ),
  );
} finally {
  redis.stop();
}

console.log(`${o.connections} clients, ${o.duration} s each, ${machine().cpuModel}`);
console.log(
  table(
    ['run', 'upgrades/s', 'p50 ms', 'p99 ms', 'max ms', 'proxy CPU us/upgrade', 'redis CPU us/upgrade', 'non-101'],
    results.map((r) => [
      r.name,
      fmt(r.perSecond, 0),
      fmt(r.p50ms, 2),
      fmt(r.p99ms, 2),
      fmt(r.maxMs, 1),
      fmt(r.proxyCpuPerUpgradeUs, 0),
      fmt(r.redisCpuPerUpgradeUs, 0),
      JSON.stringify(r.other),
    ]),
  ),
);
if (o.json !== '') writeJson(o.json, { date: new Date().toISOString(), machine: machine(), options: o, results });
