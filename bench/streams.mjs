#!/usr/bin/env node
// Stream load: N concurrent Voice Live sessions sending base64 PCM16 24 kHz
// `input_audio_buffer.append` frames at real-time cadence, through the proxy
// and straight to the simulator, side by side. See docs/performance.md.
//
//   npm run build && node bench/streams.mjs --sessions 1000 --duration 20
//   node bench/streams.mjs --target ws://127.0.0.1:8080/ws?model=gpt-realtime --pid <proxy pid>
//
// Modes: echo (default; the simulator's raw echo returns every frame
// byte-identical, giving a per-frame round trip), respond (commit every
// --commit-every frames; real response.audio.delta traffic; latency is
// commit -> response.done), idle (open sessions, send nothing; memory).
import { runTarget } from './lib/stream-run.mjs';
import { parseArgs, streamTable, writeJson } from './lib/cli.mjs';
import { machine } from './lib/procs.mjs';

export const STREAM_DEFAULTS = {
  sessions: 100,
  chunkMs: 40,
  duration: 20,
  ramp: 5,
  warmup: 3,
  drain: 3,
  mode: 'echo',
  commitEvery: 25,
  clientsProcs: 2,
  tickMs: 2,
  maxInflight: 256,
  targets: 'proxy,direct',
  target: '',
  pid: 0,
  header: [],
  origin: 'http://localhost:3000',
  sourceIps: 'auto',
  proxyNodeArgs: '',
  proxyEnv: [],
  insecure: false,
  upstreamTls: false,
  browserTls: false,
  waitIdle: 0,
  syscalls: false,
  relayWorkers: 1,
  json: '',
  help: false,
};

const HELP = `node bench/streams.mjs [options]
  --sessions N         concurrent sessions (default 100)
  --chunk-ms MS        audio per append frame (default 40: 1920 B PCM, 2560 B base64, 25 frames/s)
  --mode M             echo | respond | idle (default echo)
  --commit-every N     respond mode: commit after N appends (default 25 = 1 s of audio)
  --ramp S             open sessions over S seconds (default 5)
  --warmup S           streaming before the measured window (default 3)
  --duration S         measured steady window (default 20)
  --drain S            wait after the last send before counting loss (default 3)
  --clients-procs N    generator worker threads (default 2)
  --tick-ms MS         shared send timer period (default 2)
  --max-inflight N     handshakes in flight across generators (default 256)
  --targets LIST       proxy,direct,nginx (default proxy,direct); spawns each fresh
  --target URL         an operator's own ws:// or wss:// URL instead (no spawning)
  --pid PID            with --target: sample this local process's CPU and RSS
  --header 'K: V'      extra upgrade header (repeatable)
  --origin O           Origin sent to the proxy (default http://localhost:3000)
  --source-ips SPEC    auto (127.0.1.1-254 for loopback targets) | none | a.b.c.X-Y
  --proxy-node-args S  node flags for the spawned proxy, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  --proxy-env K=V      extra environment for the spawned proxy (repeatable)
  --insecure           wss: do not verify the certificate
  --upstream-tls       the upstream leg over TLS, as to Azure: simulator on wss:// with a bench-time
                       certificate (proxy: NODE_EXTRA_CA_CERTS; nginx: proxy_ssl_trusted_certificate)
  --browser-tls        the browser leg over TLS: the generator speaks wss:// to the relay (the proxy with
                       TLS_CERT_FILE / TLS_KEY_FILE, nginx with an ssl listener), trusting a bench-time certificate
  --relay-workers N    the proxy's WORKERS and nginx's worker_processes (default 1: CPU per frame compares like with like)
  --syscalls           count the relay's system calls per frame in the window (perf stat tracepoints)
  --wait-idle S        shared host: wait up to S s for the machine to be <15% busy before each run
  --json FILE          write all results as JSON`;

export function normalise(o) {
  if (!['echo', 'respond', 'idle'].includes(o.mode)) throw new Error(`--mode: echo, respond or idle, got ${o.mode}`);
  const headers = {};
  for (const h of o.header) {
    const i = h.indexOf(':');
    if (i < 1) throw new Error(`--header: expected 'Name: value', got ${h}`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const proxyEnv = {};
  for (const kv of o.proxyEnv) {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--proxy-env: expected K=V, got ${kv}`);
    proxyEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return {
    ...o,
    headers,
    proxyEnv,
    procs: o.clientsProcs,
    proxyNodeArgs: o.proxyNodeArgs.split(/\s+/).filter((s) => s !== ''),
    targetList:
      o.target !== ''
        ? ['external']
        : o.targets
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
  };
}

export async function runStreams(o, log = console.error) {
  const runs = [];
  for (const target of o.targetList) {
    log(
      `> ${target}: ${o.sessions} sessions, ${o.mode}, ${o.chunkMs} ms chunks, ramp ${o.ramp} s, window ${o.duration} s`,
    );
    runs.push(await runTarget(target, o, log));
  }
  return runs;
}

async function main() {
  const raw = parseArgs(process.argv.slice(2), STREAM_DEFAULTS, ['header', 'proxyEnv']);
  if (raw.help) {
    console.log(HELP);
    return;
  }
  const o = normalise(raw);
  const started = new Date().toISOString();
  const runs = await runStreams(o);
  console.log(streamTable(runs));
  const out = { bench: 'streams', date: started, machine: machine(), argv: process.argv.slice(2), runs };
  if (o.json !== '') writeJson(o.json, out);
  else console.log(JSON.stringify(out));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
