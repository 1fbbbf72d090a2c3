// `voice-live-proxy loadtest --url ws://<proxy>/ws --sessions 200 --rate 25 --duration 10`:
// the shared load generator (src/loadtest) pointed at a deployment. A
// progress line a second on stderr, the report on stdout (a table, or one
// JSON object with --json); exit 1 when a threshold is missed, 2 on a usage
// error or a run it will not start, 130 (SIGINT) or 143 (SIGTERM) when the
// operator stopped it: the first signal ends the load and prints the report
// so far, a second one exits at once. TICKET_SECRET and the bearer token
// (LOADTEST_BEARER_TOKEN or --token-file) come from the environment (or
// ./.env) or a file, never from the command line, and are never printed.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadTicketConfig, readEnv, type Env } from '../config';
import { LoadTestInterrupted, LoadTestRefused, runLoadTest, type LoadTestOptions } from '../loadtest/run';
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
  'token-file': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

class UsageError extends Error {}

/** Exit status after a stop by the operator: 128 + the signal's number, as a shell reports it. */
export const INTERRUPT_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/** What the proxy accepts as `token` (docs/clients.md, query parameters). */
const BEARER = /^[A-Za-z0-9._~+/=-]{1,8192}$/;

/**
 * CLIENT_AUTH=token: the user token every session presents, from
 * LOADTEST_BEARER_TOKEN or the file --token-file names (read once). Never an
 * option's value: the command line shows in `ps` and shell history.
 */
function bearerToken(file: string | undefined, env: Env): string | null {
  const fromEnv = (env.LOADTEST_BEARER_TOKEN ?? '').trim();
  if (file !== undefined && fromEnv !== '')
    throw new UsageError('LOADTEST_BEARER_TOKEN and --token-file are both set: give the token one way');
  let token = fromEnv;
  const source = file === undefined ? 'LOADTEST_BEARER_TOKEN' : '--token-file';
  if (file !== undefined) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--token-file: ${(err as Error).message}`);
    }
    if (token === '') throw new UsageError(`--token-file: ${file} is empty`);
  }
  if (token === '') return null;
  // An Authorization header's value pasted whole.
  token = token.replace(/^Bearer\s+/i, '');
  if (!BEARER.test(token))
    throw new UsageError(
      `${source}: not a bearer token (a JWT: up to 8192 of A-Z a-z 0-9 . _ ~ + / = -); its value is not shown`,
    );
  return token;
}

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
  if (/[?&](token|authorization)=/i.test(u.search))
    throw new UsageError(
      '--url must not carry a token (the command line shows in ps and shell history): set LOADTEST_BEARER_TOKEN or pass --token-file',
    );
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
    bearerToken: bearerToken(v['token-file'], env),
  };
}

/**
 * `signal`: aborted (its reason 'SIGINT' or 'SIGTERM') when the operator stops
 * the run; the report so far is printed and the exit status is INTERRUPT_EXIT's.
 */
export async function runLoadTestCommand(
  argv: readonly string[],
  env: Env = readEnv(),
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  signal?: AbortSignal,
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
  const stopped = (): number | null =>
    signal?.aborted === true ? (signal.reason === 'SIGTERM' ? INTERRUPT_EXIT.SIGTERM : INTERRUPT_EXIT.SIGINT) : null;
  try {
    const report = await runLoadTest({ ...o, signal }, (line) => {
      if (!quiet || line.startsWith('loadtest: warning')) err.write(line);
    });
    out.write(v.json === true ? JSON.stringify(report) + '\n' : reportTable(report));
    // Stopped by the operator: that, not the thresholds (still in the report), is the status.
    return stopped() ?? (report.ok ? 0 : 1);
  } catch (e) {
    err.write(`loadtest: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof LoadTestInterrupted) return stopped() ?? INTERRUPT_EXIT.SIGINT;
    return e instanceof LoadTestRefused ? 2 : 1;
  }
}

/**
 * The command as a process runs it: the first SIGINT or SIGTERM stops the
 * load and prints the report so far (the run's sockets are closed with 1000,
 * not cut); a second one exits at once, without a report.
 */
export async function runLoadTestMain(argv: readonly string[]): Promise<number> {
  const ac = new AbortController();
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (!ac.signal.aborted) {
      process.stderr.write(`loadtest: ${sig}: stopping the load; the report so far follows (again to exit at once)\n`);
      ac.abort(sig);
      return;
    }
    process.stderr.write(`loadtest: ${sig} again: exiting without a report\n`);
    process.exit(INTERRUPT_EXIT[sig]);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runLoadTestCommand(argv, readEnv(), process.stdout, process.stderr, ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  runLoadTestMain(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 1;
    },
  );
}
