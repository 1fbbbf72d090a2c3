// Argument parsing and table printing shared by the bench scripts.
import { writeFileSync } from 'node:fs';

/** `--key value`, `--key=value`, `--flag`; repeated keys collect into arrays when `multi` says so. */
export function parseArgs(argv, defaults, multi = []) {
  const o = { ...defaults };
  for (const k of multi) o[k] = [...(defaults[k] ?? [])];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf('=');
    if (eq !== -1) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const key = a.replace(/-([a-z])/g, (_, ch) => ch.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${a}`);
    if (v === undefined) {
      if (typeof defaults[key] === 'boolean') v = 'true';
      else if (i + 1 < argv.length) v = argv[++i];
      else throw new Error(`--${a} needs a value`);
    }
    const d = defaults[key];
    const parsed = typeof d === 'number' ? Number(v) : typeof d === 'boolean' ? v !== 'false' : v;
    if (typeof d === 'number' && !Number.isFinite(parsed)) throw new Error(`--${a}: expected a number, got ${v}`);
    if (multi.includes(key)) o[key].push(parsed);
    else o[key] = parsed;
  }
  return o;
}

export function fmt(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  if (typeof n !== 'number') return String(n);
  return n.toFixed(digits);
}

/** A GitHub-flavoured markdown table (readable in a terminal, pasteable into docs). */
export function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(w[i])).join(' | ') + ' |';
  return [line(headers), '|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export function streamTable(runs) {
  const headers = [
    'target',
    'mode',
    'ready/req',
    'frames/s',
    'loss',
    'RTT p50',
    'p90',
    'p99',
    'max (ms)',
    'relay CPU%',
    'relay us/frame',
    'relay RSS MiB',
    'sim CPU%',
    'gen CPU%',
    'softirq%',
    'other%',
  ];
  const rows = runs.map((r) => {
    const lat = r.rttMs ?? r.responseDoneMs ?? { p50: NaN, p90: NaN, p99: NaN, max: NaN };
    return [
      r.target,
      r.mode + (r.mode === 'respond' ? '(done)' : ''),
      `${r.ready}/${r.sessions}`,
      fmt(r.window.framesPerSecond, 0),
      r.mode === 'idle' ? '-' : r.totals.loss,
      fmt(lat.p50, 2),
      fmt(lat.p90, 2),
      fmt(lat.p99, 2),
      fmt(lat.max, 1),
      fmt(r.window.relayCpuPct),
      fmt(r.window.relayUsPerFrame, 2),
      r.memory.relayRssEndKiB ? fmt(r.memory.relayRssEndKiB / 1024, 1) : '-',
      fmt(r.window.simCpuPct),
      fmt(r.window.generatorCpuPct),
      fmt(r.window.softirqCpuPct),
      fmt(r.window.otherCpuPct),
    ];
  });
  return table(headers, rows);
}

export function writeJson(path, data) {
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}
