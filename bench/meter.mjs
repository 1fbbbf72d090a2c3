#!/usr/bin/env node
// The usage meter's own cost per relayed frame, in instructions (callgrind),
// in steady state: what bench/instructions.mjs cannot resolve, because its
// runs of one build differ by more than the meter costs. The meter (with the
// totals sink /metrics uses) is fed the frames a relay feeds it: browser
// appends as plain Uint8Array views (as uWS hands them over), service audio
// deltas as Buffers (as ws does), half each. After a warm-up that lets V8
// optimize every function, a run meters --frames more frames than the base
// run; the extra instructions over the extra frames are one frame's cost.
// The same loop without the meter call is measured the same way and
// subtracted, so the figure is the meter's alone.
//
//   npm run build && node bench/meter.mjs [--frames 200000] [--warmup 200000] [--frame-bytes 2644]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/cli.mjs';
import { ROOT, requireValgrind } from './lib/procs.mjs';

const opts = parseArgs(process.argv.slice(2), {
  frames: 200_000,
  warmup: 200_000,
  frameBytes: 2644,
  dist: 'dist',
  child: '',
  help: false,
});
if (opts.help) {
  console.log('node bench/meter.mjs [--frames N] [--warmup N] [--frame-bytes N] [--dist DIR]');
  process.exit(0);
}

if (opts.child !== '') {
  // The measured process: `--child meter:N` or `--child loop:N`.
  const [what, n] = opts.child.split(':');
  await feed(what === 'meter', Number(n));
  process.exit(0);
}

async function feed(metered, frames) {
  const dist = resolve(ROOT, opts.dist);
  const { Meter, METERED_START } = await import(join(dist, 'usage', 'meter.js'));
  const { emptyUsage } = await import(join(dist, 'usage', 'usage-sink.js'));
  const { UsageTotals } = await import(join(dist, 'usage', 'usage-totals.js'));
  const { usageRows } = await import(join(dist, 'observability', 'usage-metric-table.js'));
  const { USAGE_COLUMNS } = await import(join(dist, 'observability', 'usage-metric-table.js'));
  const rows = usageRows({ allowedModels: [], defaultModel: 'gpt-realtime' });
  const meter = new Meter(new UsageTotals(new Float64Array(rows.length * USAGE_COLUMNS), rows));
  const session = {
    ...METERED_START,
    usage: emptyUsage(),
    target: { mode: 'standard', label: 'gpt-realtime' },
    usageCell: -1,
  };
  const audio = 'A'.repeat(Math.max(4, opts.frameBytes - 50) & ~3);
  // As uWS hands a message over: a plain view on an ArrayBuffer.
  const append = new Uint8Array(Buffer.from(JSON.stringify({ type: 'input_audio_buffer.append', audio })));
  // As ws hands one over: a Buffer.
  const delta = Buffer.from(
    JSON.stringify({
      type: 'response.audio.delta',
      response_id: 'resp_1',
      item_id: 'item_1',
      output_index: 0,
      content_index: 0,
      delta: audio,
    }),
  );
  let sink = 0;
  const total = opts.warmup + frames;
  for (let i = 0; i < total; i++) {
    if (metered) {
      if ((i & 1) === 0) meter.clientFrame(session, append);
      else meter.upstreamFrame(session, delta);
    } else {
      // The loop's own work, kept from being optimized away.
      sink += (i & 1) === 0 ? append[9] : delta[9];
    }
  }
  if (sink === -1) console.log(sink);
  if (metered && session.usage.audioInMs + session.usage.audioOutMs === 0) throw new Error('the meter counted nothing');
}

function instructions(child) {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-meter-'));
  try {
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${dir}/cg.%p`,
        process.execPath,
        fileURLToPath(import.meta.url),
        '--child',
        child,
        '--warmup',
        String(opts.warmup),
        '--frame-bytes',
        String(opts.frameBytes),
        '--dist',
        opts.dist,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let total = 0;
    for (const f of readdirSync(dir)) {
      const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
      if (m) total += Number(m[1]);
    }
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

requireValgrind();
const extra = opts.frames;
const perFrame = (what) => (instructions(`${what}:${extra}`) - instructions(`${what}:0`)) / extra;
const loop = perFrame('loop');
const metered = perFrame('meter');
const result = {
  date: new Date().toISOString(),
  frames: extra,
  warmup: opts.warmup,
  frameBytes: opts.frameBytes,
  loopPerFrame: Math.round(loop),
  meteredLoopPerFrame: Math.round(metered),
  meterPerFrame: Math.round(metered - loop),
};
console.log(JSON.stringify(result));
