#!/usr/bin/env node
// Aggregate V8 .cpuprofile files (node --cpu-prof) by function self time.
//
//   node bench/profile-top.mjs /tmp/prof/*.cpuprofile [--top 30] [--by function|file]
//
// Self time of a sample = the time delta attributed to the node it landed in.
// "(idle)" is the event loop waiting in epoll; the busy share excludes it.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT } from './lib/procs.mjs';
import { table } from './lib/cli.mjs';

function where(cf) {
  let url = cf.url ?? '';
  if (url.startsWith('file://')) url = url.slice(7);
  if (url.startsWith(ROOT)) url = relative(ROOT, url);
  url = url.replace(/^.*node_modules\//, '');
  return url === '' ? '' : `${url}:${cf.lineNumber + 1}`;
}

function aggregate(files, by) {
  const self = new Map();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i]);
      const dt = p.timeDeltas[i] ?? 0;
      if (n === undefined || dt < 0) continue;
      const cf = n.callFrame;
      const loc = where(cf);
      const key =
        by === 'file'
          ? loc.replace(/:\d+$/, '') || cf.functionName || '(native)'
          : `${cf.functionName || '(anonymous)'} ${loc}`.trim();
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    }
  }
  return { self, total };
}

function main() {
  const args = process.argv.slice(2);
  let top = 30;
  let by = 'function';
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--by') by = args[++i];
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: node bench/profile-top.mjs FILE.cpuprofile... [--top N] [--by function|file]');
    process.exit(2);
  }
  const { self, total } = aggregate(files, by);
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const rows = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => [k, (us / 1000).toFixed(0), ((100 * us) / busy).toFixed(1)]);
  console.log(
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)}%)`,
  );
  console.log(table([by === 'file' ? 'file' : 'function', 'self ms', '% of busy'], rows));
}

main();
