// `voice-live-proxy loadtest --url ws://<proxy>/ws --sessions 200 --rate 25 --duration 10`:
// the shared load generator (src/loadtest) pointed at a deployment. A
// progress line a second on stderr, the report on stdout (a table, or one
// JSON object with --json); exit 1 when a threshold is missed, 2 on a usage
// error or a run it will not start. TICKET_SECRET comes from the environment
// (or ./.env), never from the command line, and is never printed.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadTicketConfig, readEnv, type Env } from '../config';
import { LoadTestRefused, runLoadTest, type LoadTestOptions } from '../loadtest/run';
import { reportTable } from '../loadtest/report';
import { commandHelp } from './help';

const USAGE = commandHelp('loadtest');

const OPTIONS = {
  url: { type: 'string' },
  sessions: { type: 'string' },
  rate: { type: 'string' },
  'frame-bytes': { type: 'string' },
  duration: { type: 'string' },
  ramp: { type: 'string' },
  origin: { type: 'string' },
  json: { type: 'boolean' },
  'max-p99-ms': { type: 'string' },
  'max-loss': { type: 'string' },
  threads: { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
  upstream: { type: 'string' },
  'i-know-this-costs': { type: 'boolean' },
  'source-ips': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

class UsageError extends Error {}

function num(
  v: string | undefined,
  name: string,
  dflt: number | undefined,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return n;
}

/** a.b.c.X-Y: many local source addresses, e.g. 127.0.1.1-254 against a loopback target. */
function sourceIps(spec: string | undefined): string[] | null {
  if (spec === undefined) return null;
  const m = /^(\d+\.\d+\.\d+)\.(\d+)-(\d+)$/.exec(spec);
  if (m === null || Number(m[3]) < Number(m[2]) || Number(m[3]) > 255)
    throw new UsageError(`--source-ips: expected a.b.c.X-Y, not ${JSON.stringify(spec)}`);
  const out: string[] = [];
  for (let i = Number(m[2]); i <= Number(m[3]); i++) out.push(`${m[1]}.${i}`);
  return out;
}

function options(v: Values, env: Env): LoadTestOptions {
  if (v.url === undefined) throw new UsageError('--url is required (the ws:// or wss:// session URL)');
  let u: URL;
  try {
    u = new URL(v.url);
  } catch {
    throw new UsageError(`--url: not a URL: ${JSON.stringify(v.url)}`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new UsageError('--url must be ws:// or wss://');
  if (/[?&]ticket=/.test(u.search))
    throw new UsageError('--url must not carry a ticket: set TICKET_SECRET and one is minted per session');
  const upstream = v.upstream ?? 'auto';
  if (upstream !== 'auto' && upstream !== 'simulator' && upstream !== 'voice-live')
    throw new UsageError('--upstream: auto, simulator or voice-live');
  let ticket: LoadTestOptions['ticket'] = null;
  try {
    const cfg = loadTicketConfig(env);
    if (cfg.ticketSecret !== '') ticket = { secret: cfg.ticketSecret, audience: cfg.ticketAudience };
  } catch (err) {
    throw new UsageError(err instanceof ConfigError ? err.message : String(err));
  }
  let ca: string | null = null;
  if (v.ca !== undefined) {
    try {
      ca = readFileSync(v.ca, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca: ${(err as Error).message}`);
    }
  }
  return {
    url: v.url,
    sessions: num(v.sessions, 'sessions', 100, 1, 1_000_000)!,
    rate: num(v.rate, 'rate', 25, 0.1, 1000)!,
    frameBytes: num(v['frame-bytes'], 'frame-bytes', undefined, 2, 1_000_000),
    durationS: num(v.duration, 'duration', 30, 1, 86_400)!,
    rampS: num(v.ramp, 'ramp', 5, 0, 3_600)!,
    origin: v.origin,
    threads: num(v.threads, 'threads', undefined, 1, 64),
    ca,
    insecure: v.insecure === true,
    sourceIps: sourceIps(v['source-ips']),
    upstream,
    acceptCost: v['i-know-this-costs'] === true,
    maxP99Ms: num(v['max-p99-ms'], 'max-p99-ms', undefined, 0, 1e9),
    maxLoss: num(v['max-loss'], 'max-loss', undefined, 0, 1),
    ticket,
  };
}

export async function runLoadTestCommand(
  argv: readonly string[],
  env: Env = readEnv(),
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let v: Values;
  let o: LoadTestOptions;
  try {
    ({ values: v } = parseArgs({ args: [...argv], options: OPTIONS, strict: true }));
    if (v.help === true) {
      out.write(USAGE);
      return 0;
    }
    o = options(v, env);
  } catch (e) {
    err.write(`loadtest: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  const quiet = v.quiet === true;
  try {
    const report = await runLoadTest(o, (line) => {
      if (!quiet || line.startsWith('loadtest: warning')) err.write(line);
    });
    out.write(v.json === true ? JSON.stringify(report) + '\n' : reportTable(report));
    return report.ok ? 0 : 1;
  } catch (e) {
    err.write(`loadtest: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof LoadTestRefused ? 2 : 1;
  }
}

if (require.main === module) {
  runLoadTestCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 1;
    },
  );
}
