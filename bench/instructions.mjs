#!/usr/bin/env node
// Instructions per relayed frame, counted by valgrind (callgrind) rather than
// timed: on a shared, noisy host a CPU-time A/B of two builds of the relay
// swings by +-30 %, while an instruction count repeats to within a few percent.
// It counts user-space instructions of the proxy process only (the kernel's
// loopback TCP work is not in it), so it measures exactly what code changes
// can change.
//
//   npm run build && node bench/instructions.mjs [--frames 4000] [--sessions 20] [--dist dist]
//
// The proxy runs twice under callgrind, relaying --frames and then 2 x --frames
// frames per direction; both runs pay the same start-up, handshakes, JIT
// warm-up and shutdown, so the difference divided by the extra frames relayed
// is the steady-state cost of one frame.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { parseArgs } from './lib/cli.mjs';
import { ROOT, freePort, requireValgrind, sleep, startSimulator } from './lib/procs.mjs';
import { benchCertificate } from './lib/tls-cert.mjs';

const opts = parseArgs(process.argv.slice(2), {
  frames: 4000,
  sessions: 20,
  frameBytes: 2644,
  dist: 'dist',
  upstreamTls: false,
  json: '',
  keep: '',
  help: false,
});
if (opts.help) {
  console.log(
    'node bench/instructions.mjs [--frames N] [--sessions N] [--frame-bytes N] [--dist DIR] [--upstream-tls] [--json FILE] [--keep DIR]',
  );
  process.exit(0);
}
requireValgrind();

const payload = JSON.stringify({
  type: 'input_audio_buffer.append',
  audio: 'A'.repeat(Math.max(0, opts.frameBytes - 50)),
});

async function runSession(url, frames) {
  const ws = new WebSocket(url, { headers: { origin: 'http://localhost:3000' }, perMessageDeflate: false });
  await new Promise((r, j) => {
    ws.once('message', r);
    ws.once('error', j);
  }); // session.created
  ws.send(JSON.stringify({ type: 'simulator.echo_raw' }));
  let received = 0;
  await new Promise((done) => {
    ws.on('message', () => {
      received++;
      if (received === frames) done();
      else if (received + 8 <= frames) ws.send(payload); // keep 8 in flight
    });
    if (frames === 0) done();
    for (let i = 0; i < Math.min(8, frames); i++) ws.send(payload);
  });
  await new Promise((r) => {
    ws.once('close', r);
    ws.close(1000);
  });
}

async function measure(framesPerSession) {
  // --upstream-tls: the upstream leg over TLS as to Azure (see bench/lib/tls-cert.mjs).
  const tls = opts.upstreamTls ? benchCertificate() : null;
  const sim = await startSimulator({ tls });
  const port = await freePort();
  const outDir = mkdtempSync(join(tmpdir(), 'vlp-cg-'));
  const proc = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${outDir}/cg.%p`,
      process.execPath,
      // The flag the shipped entry points pass: without it a single relay thread starts
      // a child node with it (cluster/young-generation.ts), which callgrind would not see.
      '--max-semi-space-size=2',
      join(resolve(ROOT, opts.dist), 'index.js'),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
        AZURE_SPEECH_KEY: 'k',
        ALLOWED_ORIGINS: 'http://localhost:3000',
        LOG_LEVEL: 'warn',
        WORKERS: '1',
        SHUTDOWN_GRACE_MS: '0',
        UPSTREAM_CONNECT_TIMEOUT_MS: '60000',
        KEEPALIVE_INTERVAL_MS: '200000',
        UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000000',
        MAX_CONNECTIONS_PER_IP: '0',
        ...(tls === null ? {} : { NODE_EXTRA_CA_CERTS: tls.cert }),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.on('data', (d) => {
    if (stderr.length < 100000) stderr += d;
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {
      /* starting */
    }
    if (i > 3000 || proc.exitCode !== null) {
      // Leave nothing running behind a failed start.
      proc.kill('SIGKILL');
      await sim.stop('SIGKILL');
      throw new Error(`proxy under valgrind did not start: ${stderr.slice(-2000)}`);
    }
    await sleep(100);
  }
  const url = `ws://127.0.0.1:${port}/ws`;
  await Promise.all(Array.from({ length: opts.sessions }, () => runSession(url, framesPerSession)));
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  await sim.stop('SIGTERM');
  let total = 0;
  for (const f of readdirSync(outDir)) {
    const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(outDir, f), 'utf8'));
    if (m) total += Number(m[1]);
  }
  // --keep DIR: leave both runs' callgrind files (DIR/base, DIR/loaded) for callgrind_annotate.
  if (opts.keep !== '') {
    const dest = join(opts.keep, framesPerSession > opts.frames / opts.sessions ? 'loaded' : 'base');
    execFileSync('mkdir', ['-p', dest]);
    execFileSync('cp', ['-r', `${outDir}/.`, dest]);
  }
  rmSync(outDir, { recursive: true, force: true });
  return total;
}

const base = await measure(opts.frames / opts.sessions);
const loaded = await measure((2 * opts.frames) / opts.sessions);
const relayed = 2 * opts.frames; // the extra frames, each crossing the proxy twice (there and echoed back)
const perFrame = (loaded - base) / relayed;
const result = {
  bench: 'instructions',
  dist: opts.dist,
  upstream: opts.upstreamTls ? 'wss' : 'ws',
  frames: opts.frames,
  sessions: opts.sessions,
  frameBytes: opts.frameBytes,
  baseInstructions: base,
  loadedInstructions: loaded,
  instructionsPerRelayedFrame: Math.round(perFrame),
};
console.log(JSON.stringify(result));
if (opts.json) (await import('node:fs')).writeFileSync(opts.json, JSON.stringify(result, null, 2));
