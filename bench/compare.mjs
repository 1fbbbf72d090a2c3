#!/usr/bin/env node
// The same stream load through nginx (a WebSocket reverse proxy, one worker
// process) and through the proxy, over a plain upstream leg and over TLS (as
// to Azure), plus straight to the simulator for reference. The numbers that
// matter: the proxy's CPU per relayed frame, p99 and memory per session
// against nginx's, in the same run.
//
//   npm run build && node bench/compare.mjs --sessions 1000 --duration 20 --repeat 2
//
// With --browser-tls the browser leg is TLS too (the generator speaks wss://
// to the proxy's own TLS and to nginx's ssl listener): with --upstreams wss,
// TLS on both legs, as a page served over https reaches Azure.
//
// On a shared host every number moves with the neighbours, so the runs
// alternate (proxy and nginx, plain and TLS, their order flipped on every
// repetition) and the summary gives each repetition's paired ratio and the
// median. Takes every option of bench/streams.mjs (except --targets / --target).
import { parseArgs, table, fmt, streamTable, writeJson } from './lib/cli.mjs';
import { machine, nginxPath } from './lib/procs.mjs';
import { STREAM_DEFAULTS, normalise } from './streams.mjs';
import { runTarget } from './lib/stream-run.mjs';

const HELP = `node bench/compare.mjs [--repeat N] [--upstreams ws,wss] [--browser-tls] [--relays proxy,nginx] [--direct false] [--syscalls] [bench/streams.mjs options]`;

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

async function main() {
  const raw = parseArgs(
    process.argv.slice(2),
    { ...STREAM_DEFAULTS, sessions: 1000, repeat: 1, upstreams: 'ws,wss', relays: 'proxy,nginx', direct: true },
    ['header', 'proxyEnv'],
  );
  if (raw.help) {
    console.log(HELP);
    return;
  }
  const withNginx = nginxPath() !== '';
  if (!withNginx) console.error('nginx not found (apt-get install -y nginx): proxy only');
  const upstreams = raw.upstreams
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s === 'ws' || s === 'wss');
  const started = new Date().toISOString();
  const runs = [];
  if (raw.direct) {
    const o = normalise({ ...raw, target: '', targets: 'direct', upstreamTls: false });
    console.error(`> direct: ${o.sessions} sessions (reference round trip)`);
    runs.push({ rep: 0, ...(await runTarget('direct', o, console.error)) });
  }
  for (let rep = 1; rep <= raw.repeat; rep++) {
    const relays = raw.relays.split(',').filter((r) => (r === 'nginx' ? withNginx : r === 'proxy'));
    const order = rep % 2 === 1 ? relays : [...relays].reverse();
    const ups = rep % 2 === 1 ? upstreams : [...upstreams].reverse();
    for (const up of ups) {
      for (const target of order) {
        const o = normalise({ ...raw, target: '', targets: target, upstreamTls: up === 'wss' });
        console.error(
          `> rep ${rep}, ${target} over ${raw.browserTls ? 'wss:// from the browser, ' : ''}${up}: ${o.sessions} sessions, ${o.mode}, ${o.chunkMs} ms chunks, window ${o.duration} s`,
        );
        runs.push({ rep, ...(await runTarget(target, o, console.error)) });
      }
    }
  }

  console.log(
    streamTable(
      runs.map((r) => ({
        ...r,
        target: r.target === 'direct' ? 'direct' : `${r.target} ${raw.browserTls ? 'wss->' : ''}${r.upstream}`,
      })),
    ),
  );
  console.log();
  const summary = {};
  const rows = [];
  for (const up of upstreams) {
    const pairs = [];
    for (let rep = 1; rep <= raw.repeat; rep++) {
      const p = runs.find((r) => r.rep === rep && r.target === 'proxy' && r.upstream === up);
      const n = runs.find((r) => r.rep === rep && r.target === 'nginx' && r.upstream === up);
      if (p === undefined) continue;
      pairs.push({
        rep,
        proxyUs: p.window.relayUsPerFrame,
        nginxUs: n?.window.relayUsPerFrame ?? NaN,
        proxyP99: p.rttMs?.p99 ?? NaN,
        nginxP99: n?.rttMs?.p99 ?? NaN,
        proxyKiB: p.memory.relayRssPerSessionKiB,
        nginxKiB: n?.memory.relayRssPerSessionKiB ?? NaN,
        proxySysUs: p.window.relaySysUsPerFrame,
        nginxSysUs: n?.window.relaySysUsPerFrame ?? NaN,
        proxySyscalls: p.syscalls?.perFrame ?? NaN,
        nginxSyscalls: n?.syscalls?.perFrame ?? NaN,
        proxyLoss: p.totals.loss,
        nginxLoss: n?.totals.loss ?? NaN,
      });
    }
    const s = {
      pairs,
      cpuRatio: median(pairs.map((x) => x.proxyUs / x.nginxUs)),
      p99Ratio: median(pairs.map((x) => x.proxyP99 / x.nginxP99)),
      memRatio: median(pairs.map((x) => x.proxyKiB / x.nginxKiB)),
      proxyUsPerFrame: median(pairs.map((x) => x.proxyUs)),
      nginxUsPerFrame: median(pairs.map((x) => x.nginxUs)),
    };
    summary[up] = s;
    for (const x of pairs) {
      rows.push([
        up,
        x.rep,
        fmt(x.proxyUs, 2),
        fmt(x.nginxUs, 2),
        fmt(x.proxyUs / x.nginxUs, 2),
        fmt(x.proxyP99, 2),
        fmt(x.nginxP99, 2),
        fmt(x.proxyP99 / x.nginxP99, 2),
        fmt(x.proxyKiB, 1),
        fmt(x.nginxKiB, 1),
        fmt(x.proxyKiB / x.nginxKiB, 2),
      ]);
    }
    rows.push([
      up,
      'median',
      fmt(s.proxyUsPerFrame, 2),
      fmt(s.nginxUsPerFrame, 2),
      fmt(s.cpuRatio, 2),
      '',
      '',
      fmt(s.p99Ratio, 2),
      '',
      '',
      fmt(s.memRatio, 2),
    ]);
  }
  console.log(
    table(
      [
        'upstream',
        'rep',
        'proxy us/frame',
        'nginx us/frame',
        'CPU ratio',
        'proxy p99 ms',
        'nginx p99 ms',
        'p99 ratio',
        'proxy KiB/session',
        'nginx KiB/session',
        'mem ratio',
      ],
      rows,
    ),
  );
  // Where the time per frame goes: the kernel's share (socket calls and the
  // loopback delivery they trigger) is what both relays pay alike; the user
  // share is what the relay's own code costs.
  console.log();
  console.log(
    table(
      [
        'upstream',
        'rep',
        'proxy user us',
        'nginx user us',
        'proxy sys us',
        'nginx sys us',
        'proxy calls',
        'nginx calls',
      ],
      Object.entries(summary).flatMap(([up, s]) =>
        s.pairs.map((x) => [
          up,
          x.rep,
          fmt(x.proxyUs - x.proxySysUs, 2),
          fmt(x.nginxUs - x.nginxSysUs, 2),
          fmt(x.proxySysUs, 2),
          fmt(x.nginxSysUs, 2),
          fmt(x.proxySyscalls, 2),
          fmt(x.nginxSyscalls, 2),
        ]),
      ),
    ),
  );
  const out = {
    bench: 'compare',
    date: started,
    machine: machine(),
    nginx: withNginx ? nginxPath() : null,
    argv: process.argv.slice(2),
    summary,
    runs,
  };
  if (raw.json !== '') writeJson(raw.json, out);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
