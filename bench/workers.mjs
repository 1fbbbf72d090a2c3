#!/usr/bin/env node
// WORKERS=1 against WORKERS=2 in one run (docs/operations.md: Scaling across cores): the same stream load at
// rising session counts, CPU per relayed frame, and the highest clean load
// (every session open, zero loss, p99 round trip within 2x of direct) for each.
//
//   npm run build && node bench/workers.mjs --steps 600,1000,1400,1800 [--workers 1,2] [--json out.json]
import { runTarget } from './lib/stream-run.mjs';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { machine } from './lib/procs.mjs';
import { STREAM_DEFAULTS, normalise } from './streams.mjs';

const raw = parseArgs(
  process.argv.slice(2),
  { ...STREAM_DEFAULTS, steps: '600,1000,1400,1800', workers: '1,2', duration: 10, ramp: 4 },
  ['header', 'proxyEnv'],
);
if (raw.help) {
  console.log('node bench/workers.mjs [--steps 600,1000,...] [--workers 1,2] [any bench/streams.mjs option]');
  process.exit(0);
}
const steps = raw.steps.split(',').map(Number);
const workerCounts = raw.workers.split(',').map(Number);
const rows = [];
const results = [];
const clean = {};
for (const sessions of steps) {
  const base = normalise({ ...raw, sessions, targets: 'direct' });
  const direct = await runTarget('direct', base, console.error);
  for (const w of workerCounts) {
    const o = normalise({ ...raw, sessions, targets: 'proxy', proxyEnv: [...raw.proxyEnv, `WORKERS=${w}`] });
    const r = await runTarget('proxy', o, console.error);
    const ok = r.ready === sessions && r.totals.loss === 0 && r.rttMs.p99 <= 2 * Math.max(direct.rttMs.p99, 1);
    if (ok) clean[w] = sessions;
    results.push({ workers: w, sessions, clean: ok, run: r, directP99: direct.rttMs.p99 });
    rows.push([
      w,
      sessions,
      `${r.ready}/${sessions}`,
      fmt(r.window.framesPerSecond, 0),
      r.totals.loss,
      fmt(r.rttMs.p99, 2),
      fmt(direct.rttMs.p99, 2),
      fmt(r.window.relayCpuPct),
      fmt(r.window.relayUsPerFrame, 2),
      ok ? 'yes' : 'no',
    ]);
  }
}
console.log(
  table(
    ['workers', 'sessions', 'ready', 'frames/s', 'loss', 'p99 ms', 'direct p99 ms', 'proxy CPU %', 'us/frame', 'clean'],
    rows,
  ),
);
for (const w of workerCounts)
  console.log(`highest clean load, WORKERS=${w}: ${clean[w] ?? 'none of the steps'} sessions`);
if (raw.json !== '')
  writeJson(raw.json, {
    bench: 'workers',
    date: new Date().toISOString(),
    machine: machine(),
    steps,
    results,
    highestClean: clean,
  });
