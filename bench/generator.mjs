#!/usr/bin/env node
// What the load generator (src/loadtest, the one behind `voice-live-proxy
// loadtest` and every stream bench) costs on its own: it sends appends at
// --rate per session to a sink on 127.0.0.1 that discards them
// (bench/lib/sink.mjs), and reports its CPU per frame sent (user and kernel),
// its busiest thread's event-loop use, its worst timer lag and the frames it
// had to skip. No echo: the frames are the generator's sends alone.
//
//   npm run build && node bench/generator.mjs --sessions 5000 --rate 10 --duration 20
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { ROOT, machine, cpuSplitMicros, sleep } from './lib/procs.mjs';
import { loadtestModule } from './lib/dist.mjs';

const DEFAULTS = { sessions: 5000, rate: 10, frameBytes: 0, duration: 20, ramp: 10, threads: 2, json: '', help: false };
const HELP =
  'node bench/generator.mjs [--sessions 5000] [--rate 10] [--frame-bytes B] [--duration 20] [--ramp 10] [--threads 2] [--json FILE]';

async function main() {
  const o = parseArgs(process.argv.slice(2), DEFAULTS);
  if (o.help) {
    console.log(HELP);
    return;
  }
  const { LoadGenerator } = loadtestModule('generator');
  const { pcmBytesFor } = loadtestModule('audio');
  const sink = spawn(process.execPath, [join(ROOT, 'bench', 'lib', 'sink.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { port } = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(JSON.parse(String(d)))));
  const periodMs = 1000 / o.rate;
  const gen = new LoadGenerator({
    url: `ws://127.0.0.1:${port}/`,
    sessions: o.sessions,
    threads: o.threads,
    mode: 'echo',
    periodMs,
    pcmBytes: o.frameBytes > 0 ? o.frameBytes : pcmBytesFor(periodMs),
    rampMs: o.ramp * 1000,
    sourceIps: Array.from({ length: 250 }, (_, i) => `127.0.1.${i + 1}`),
  });
  try {
    await gen.start();
    const opened = await gen.ramped((o.ramp + 60) * 1000);
    gen.send();
    await sleep(2000);
    await gen.mark();
    const load0 = loadavg()[0];
    const self0 = cpuSplitMicros(process.pid);
    const sink0 = cpuSplitMicros(sink.pid);
    await sleep(o.duration * 1000);
    const w = await gen.window();
    const self1 = cpuSplitMicros(process.pid);
    const sink1 = cpuSplitMicros(sink.pid);
    const c = await gen.stop(0);
    const s = w.ms / 1000;
    const user = self1.user - self0.user;
    const sys = self1.sys - self0.sys;
    const r = {
      sessions: o.sessions,
      opened: opened?.created ?? 0,
      rate: o.rate,
      frameBytes: gen.frameBytes,
      threads: gen.threadCount,
      framesPerSecond: w.sent / s,
      targetFramesPerSecond: o.sessions * o.rate,
      userUsPerFrame: w.sent > 0 ? user / w.sent : null,
      sysUsPerFrame: w.sent > 0 ? sys / w.sent : null,
      generatorCpuPct: (user + sys) / s / 1e4,
      sinkCpuPct: (sink1.user + sink1.sys - sink0.user - sink0.sys) / s / 1e4,
      busiestThreadPct: w.eluMax * 100,
      lagMaxMs: w.lagMaxMs,
      skippedFrames: c.skippedFrames,
      loadAverage: [load0, loadavg()[0]],
    };
    console.log(
      table(
        [
          'sessions x rate',
          'frames/s (target)',
          'user + sys us/frame',
          'gen CPU%',
          'busiest thread%',
          'lag max ms',
          'skipped',
          'sink CPU%',
          'load avg',
        ],
        [
          [
            `${r.opened}/${r.sessions} x ${r.rate}`,
            `${fmt(r.framesPerSecond, 0)} (${r.targetFramesPerSecond})`,
            `${fmt(r.userUsPerFrame, 2)} + ${fmt(r.sysUsPerFrame, 2)}`,
            fmt(r.generatorCpuPct),
            fmt(r.busiestThreadPct, 0),
            r.lagMaxMs,
            r.skippedFrames,
            fmt(r.sinkCpuPct),
            r.loadAverage.map((x) => x.toFixed(1)).join(' / '),
          ],
        ],
      ),
    );
    if (o.json)
      writeJson(o.json, {
        bench: 'generator',
        date: new Date().toISOString(),
        machine: machine(),
        argv: process.argv.slice(2),
        run: r,
      });
  } finally {
    await gen.close(500);
    sink.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
