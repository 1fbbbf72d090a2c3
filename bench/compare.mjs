#!/usr/bin/env node
// The same stream load through nginx (a plain WebSocket reverse proxy, one
// worker process), through the proxy, and straight to the simulator. The
// number that matters: the proxy's CPU per relayed frame against nginx's.
//
//   npm run build && node bench/compare.mjs --sessions 1000 --duration 20
//
// Takes every option of bench/streams.mjs (except --targets / --target).
import { parseArgs, table, fmt, streamTable, writeJson } from './lib/cli.mjs';
import { machine, nginxPath } from './lib/procs.mjs';
import { STREAM_DEFAULTS, normalise, runStreams } from './streams.mjs';

async function main() {
  const raw = parseArgs(process.argv.slice(2), { ...STREAM_DEFAULTS, sessions: 1000 }, ['header', 'proxyEnv']);
  if (raw.help) { console.log('node bench/compare.mjs [bench/streams.mjs options]'); return; }
  const withNginx = nginxPath() !== '';
  if (!withNginx) console.error('nginx not found (apt-get install -y nginx): comparing proxy and direct only');
  raw.target = '';
  raw.targets = withNginx ? 'direct,proxy,nginx' : 'direct,proxy';
  const o = normalise(raw);
  const started = new Date().toISOString();
  const runs = await runStreams(o);
  const by = Object.fromEntries(runs.map((r) => [r.target, r]));
  const proxy = by.proxy;
  const nginx = by.nginx;
  const direct = by.direct;
  const ratio = nginx ? proxy.window.relayUsPerFrame / nginx.window.relayUsPerFrame : NaN;
  const summary = {
    proxyUsPerFrame: proxy.window.relayUsPerFrame,
    nginxUsPerFrame: nginx ? nginx.window.relayUsPerFrame : null,
    proxyOverNginx: nginx ? ratio : null,
    proxyRssPerSessionKiB: proxy.memory.relayRssPerSessionKiB,
    nginxRssPerSessionKiB: nginx ? nginx.memory.relayRssPerSessionKiB : null,
    p99RttProxyOverDirect: proxy.rttMs && direct.rttMs ? proxy.rttMs.p99 / direct.rttMs.p99 : null,
  };
  console.log(streamTable(runs));
  console.log();
  console.log(table(['', 'proxy', 'nginx', 'proxy / nginx'], [
    ['CPU us per relayed frame', fmt(summary.proxyUsPerFrame, 2), fmt(summary.nginxUsPerFrame, 2), fmt(ratio, 2)],
    ['RSS KiB per session', fmt(summary.proxyRssPerSessionKiB, 1), fmt(summary.nginxRssPerSessionKiB, 1),
      fmt(nginx ? summary.proxyRssPerSessionKiB / summary.nginxRssPerSessionKiB : NaN, 2)],
  ]));
  const out = { bench: 'compare', date: started, machine: machine(), nginx: withNginx ? nginxPath() : null, argv: process.argv.slice(2), summary, runs };
  if (o.json !== '') writeJson(o.json, out);
}

main().catch((err) => { console.error(err); process.exit(1); });
