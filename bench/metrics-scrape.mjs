// Cost of one /metrics render, in process: the board of WORKERS threads summed
// and rendered, with N extra descriptors open (process_open_fds lists
// /proc/self/fd, one entry per socket in production).
//   node bench/metrics-scrape.mjs [--dist dist] [--workers 2] [--fds 20000] [--renders 2000]
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const dist = resolve(args.dist ?? 'dist');
const workers = Number(args.workers ?? 2);
const renders = Number(args.renders ?? 2000);
const require = createRequire(import.meta.url);
const { Metrics } = require(`${dist}/observability/metrics.js`);
const { MetricsBoard } = require(`${dist}/observability/metrics-board.js`);

const board = new MetricsBoard(MetricsBoard.createShared(workers));
const m = new Metrics();
for (let w = 0; w < workers; w++) board.publish(w, m.snapshot());
const extra = { activeConnections: 0, maxConnections: 1000, draining: false };

function measure(label) {
  for (let i = 0; i < 200; i++) Metrics.renderSnapshots(board.collect(), extra);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < renders; i++) {
    board.publish(0, m.snapshot());
    bytes = Metrics.renderSnapshots(board.collect(), extra).length;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000 / renders;
  console.log(JSON.stringify({ dist: args.dist ?? 'dist', label, usPerScrape: Number(us.toFixed(1)), bytes }));
}

measure('fds=base');
const n = Number(args.fds ?? 0);
if (n > 0) {
  const fds = [];
  for (let i = 0; i < n; i++) fds.push(openSync('/dev/null', 'r'));
  measure(`fds=+${n}`);
  for (const fd of fds) closeSync(fd);
}
