#!/usr/bin/env node
// The upstream frame parser alone (src/upstream/frame-parser.ts), in user-space
// instructions per message counted by callgrind: the relay's per-frame cost
// in bench/instructions.mjs moves by +-20 % between runs of one build (how
// many frames each read carries depends on timing under valgrind), this does
// not (+-1 %), so a change to the parser is judged here first.
//
//   npm run build && node bench/frame-parser.mjs [--dist dist] [--read-bytes 65536] [--frame-bytes 2644]
//
// It replays one stream of server frames through a parser, --read-bytes at a
// time into one reused buffer (as the reader does), with a sink that charges
// onHeld like the relay (a SharedArrayBuffer total) and reclaims blocks after
// each read. It runs itself twice under callgrind (--reads and 3 x --reads);
// the difference over the extra messages is the steady-state cost of one.
// The default cuts one frame per read (64 KiB reads of 2.6 KB audio frames);
// --read-bytes 2648 gives each read exactly one frame.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/cli.mjs';
import { ROOT, requireValgrind } from './lib/procs.mjs';

const o = parseArgs(process.argv.slice(2), {
  dist: 'dist',
  readBytes: 65536,
  frameBytes: 2644,
  reads: 4000,
  child: 0,
  help: false,
});
if (o.help) {
  console.log('node bench/frame-parser.mjs [--dist dist] [--read-bytes 65536] [--frame-bytes 2644] [--reads 4000]');
  process.exit(0);
}

if (o.child > 0) {
  const require = createRequire(import.meta.url);
  const dist = resolve(ROOT, o.dist);
  const { FrameParser } = require(join(dist, 'upstream', 'frame-parser.js'));
  const { reclaimAssemblies } = require(join(dist, 'upstream', 'assembly-pool.js'));
  const n = o.frameBytes;
  const head = n < 126 ? 2 : 4;
  const one = Buffer.alloc(head + n, 0x41);
  one[0] = 0x81;
  if (head === 2) one[1] = n;
  else {
    one[1] = 126;
    one.writeUInt16BE(n, 2);
  }
  const stream = Buffer.concat(Array.from({ length: Math.ceil((o.readBytes * 64) / one.length) + 1 }, () => one));
  const cells = new Int32Array(new SharedArrayBuffer(8));
  let messages = 0;
  let heldKiB = 0;
  const sink = {
    onMessage() {
      messages++;
    },
    onPing() {},
    onPong() {},
    onClose() {},
    onProtocolError(_code, message) {
      throw new Error(message);
    },
    onHeld(bytes) {
      const kib = Math.ceil(bytes / 1024);
      const delta = kib - heldKiB;
      if (delta === 0) return;
      heldKiB = kib;
      Atomics.add(cells, 1, delta);
      Atomics.add(cells, 0, delta);
    },
  };
  const parser = new FrameParser(sink, 16 * 1024 * 1024);
  const buf = Buffer.allocUnsafe(o.readBytes);
  let at = 0;
  for (let i = 0; i < o.child; i++) {
    // Wrap to the same offset within a frame, so the stream stays well formed.
    if (at + o.readBytes > stream.length) at %= one.length;
    stream.copy(buf, 0, at, at + o.readBytes);
    at += o.readBytes;
    parser.push(buf, o.readBytes);
    reclaimAssemblies();
  }
  console.log(messages);
  process.exit(0);
}

requireValgrind();

/** Instructions and messages of one run of `reads` reads (callgrind prints its total on stderr). */
function instructions(reads) {
  const res = execFileSync(
    'sh',
    [
      '-c',
      // One thread and a young generation that does not fill: no GC or JIT thread timing in the count.
      `valgrind --tool=callgrind --callgrind-out-file=/dev/null "${process.execPath}" --single-threaded --max-semi-space-size=64 "${fileURLToPath(import.meta.url)}" --child ${reads} --dist "${o.dist}" --read-bytes ${o.readBytes} --frame-bytes ${o.frameBytes} 2>&1`,
    ],
    { encoding: 'utf8' },
  );
  const total = /Collected : (\d+)/.exec(res);
  const lines = res.trim().split('\n');
  const messages = Number(lines.find((l) => /^\d+$/.test(l.trim())));
  if (!total || !Number.isFinite(messages)) throw new Error(`unexpected callgrind output: ${res.slice(-1000)}`);
  return { total: Number(total[1]), messages };
}

const a = instructions(o.reads);
const b = instructions(3 * o.reads);
console.log(
  JSON.stringify({
    bench: 'frame-parser',
    dist: o.dist,
    readBytes: o.readBytes,
    frameBytes: o.frameBytes,
    messages: [a.messages, b.messages],
    instructionsPerMessage: Math.round((b.total - a.total) / (b.messages - a.messages)),
  }),
);
