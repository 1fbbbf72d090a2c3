// The loadtest's report: one plain object (printed as JSON with --json), a
// table for a terminal, a one-line progress, and the thresholds that decide
// the exit code.
import type { Histogram, HistogramSummary } from './histogram';
import type { Counters } from './protocol';

export interface LatencyMs {
  readonly samples: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export interface Threshold {
  readonly limit: number;
  readonly value: number | null;
  readonly ok: boolean;
}

export interface LoadReport {
  readonly url: string;
  /** Stopped by SIGINT/SIGTERM before the end: the figures cover `ranS` seconds. */
  readonly interrupted: boolean;
  /** Seconds from the first session opening to the stop (ramp included). */
  readonly ranS: number;
  /** Seconds of the measured window after the ramp (`config.durationS` when not interrupted). */
  readonly loadS: number;
  readonly upstream: 'simulator' | 'voice-live';
  /** echo: every append timed by its echo; turns: commit to first audio and to response.done. */
  readonly mode: 'echo' | 'turns';
  readonly config: {
    readonly sessions: number;
    readonly rate: number;
    readonly frameBytes: number;
    readonly appendBytes: number;
    readonly durationS: number;
    readonly rampS: number;
    readonly tickets: boolean;
    /** One bearer token (CLIENT_AUTH=token) for every session. */
    readonly bearerToken: boolean;
  };
  readonly sessions: {
    readonly requested: number;
    readonly opened: number;
    /** Refused by the deployment: `http 403`, `http 429`, `http 503`, `close 1008`, `close 1013`, ... */
    readonly refused: Record<string, number>;
    /** Not refused but not opened either: connection errors, timeouts. */
    readonly failed: Record<string, number>;
    /** Opened, then closed by the other side during the run, by close code. */
    readonly closedEarly: Record<string, number>;
    /** Interrupted during the ramp: sessions never attempted. */
    readonly notStarted: number;
    /** Neither opened nor refused by the end (a handshake still waiting for an answer). */
    readonly pending: number;
  };
  readonly frames: {
    readonly sent: number;
    readonly received: number;
    readonly echoed: number;
    readonly lost: number;
    /**
     * Interrupted: appends (turns: commits) still unanswered after the drain on
     * sessions open at the stop, sent after the last one answered. Neither lost
     * nor answered: sent = echoed + inFlight + lost (turns: commits).
     */
    readonly inFlight: number;
    /** lost / (appends sent - inFlight) (echo mode); unanswered / (commits - inFlight) (turns). */
    readonly loss: number;
    readonly outOfOrder: number;
    readonly errorEvents: number;
    readonly skipped: number;
  };
  readonly roundTripMs: LatencyMs | null;
  readonly turnFirstAudioMs: LatencyMs | null;
  readonly turnDoneMs: LatencyMs | null;
  readonly generator: {
    readonly threads: number;
    /** CPU of the whole generator process in the measured window, % of one core. */
    readonly cpuPct: number;
    readonly usPerFrame: number | null;
    /** The busiest thread's event-loop utilisation (0..1). */
    readonly busiestThread: number;
    readonly lagMaxMs: number;
    /** True when the generator, not the target, may have set the pace: read the latencies with care. */
    readonly saturated: boolean;
  };
  readonly thresholds: { readonly maxP99Ms?: Threshold; readonly maxLoss?: Threshold };
  readonly ok: boolean;
}

const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

export function latencyMs(h: Histogram): LatencyMs {
  const s: HistogramSummary = h.summary();
  const ms = (us: number): number | null => (Number.isFinite(us) && s.samples > 0 ? round(us / 1000, 3) : null);
  return { samples: s.samples, p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), max: ms(s.max), mean: ms(s.mean) };
}

/** `http 403` and `close 1013` are the deployment saying no; the rest are failures to connect. */
export function splitRefusals(c: Counters): { refused: Record<string, number>; failed: Record<string, number> } {
  const refused: Record<string, number> = {};
  const failed: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.failReasons)) {
    if (/^(http|close) \d+$/.test(k)) refused[k] = v;
    else failed[k] = v;
  }
  return { refused, failed };
}

/** The url as printed: credentials in the query hidden. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](token|api-key|ticket|key|sig)=)[^&]*/gi, '$1***');
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const classes = (r: Record<string, number>): string =>
  Object.keys(r).length === 0
    ? '0'
    : `${sum(r)} (${Object.entries(r)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')})`;
const f = (n: number | null | undefined, d = 2): string => (n === null || n === undefined ? '-' : n.toFixed(d));

export function progressLine(
  elapsedS: number,
  requested: number,
  c: Counters,
  sentPerS: number,
  recvPerS: number,
  live: LatencyMs,
  cpuPct: number,
  busiest: number,
): string {
  const { refused, failed } = splitRefusals(c);
  return (
    `loadtest ${elapsedS.toFixed(0).padStart(4)} s  opened ${c.created}/${requested}  refused ${sum(refused)}` +
    `  failed ${sum(failed)}  closed ${c.closedEarly}  sent ${sentPerS.toFixed(0)}/s  recv ${recvPerS.toFixed(0)}/s` +
    `  p99 ${f(live.p99)} ms  generator CPU ${cpuPct.toFixed(0)}% (busiest thread ${(busiest * 100).toFixed(0)}%)\n`
  );
}

export function reportTable(r: LoadReport): string {
  const rows: Array<[string, string]> = [
    ['target', `${r.url} (${r.upstream}, ${r.mode})`],
    [
      'load',
      `${r.config.sessions} sessions x ${r.config.rate} frames/s, ${r.config.frameBytes} B audio (${r.config.appendBytes} B events), ${r.config.durationS} s after a ${r.config.rampS} s ramp${r.config.tickets ? ', one ticket per session' : ''}${r.config.bearerToken ? ', one bearer token for all' : ''}`,
    ],
    ...(r.interrupted
      ? [
          [
            'INTERRUPTED',
            `stopped after ${r.ranS.toFixed(1)} s (${r.loadS.toFixed(1)} s of the ${r.config.durationS} s after the ramp): the figures cover that`,
          ] as [string, string],
        ]
      : []),
    ['sessions opened', `${r.sessions.opened}/${r.sessions.requested}`],
    ['refused', classes(r.sessions.refused)],
    ['failed to connect', classes(r.sessions.failed)],
    ['closed during the run', classes(r.sessions.closedEarly)],
    ...(r.sessions.pending > 0 ? [['no answer by the end', String(r.sessions.pending)] as [string, string]] : []),
    ...(r.sessions.notStarted > 0
      ? [['not started (interrupted)', String(r.sessions.notStarted)] as [string, string]]
      : []),
    ['frames sent / received', `${r.frames.sent} / ${r.frames.received}`],
  ];
  if (r.mode === 'echo') {
    rows.push(['lost (of appends sent)', `${r.frames.lost} (${(r.frames.loss * 100).toFixed(3)}%)`]);
    if (r.interrupted) rows.push(['in flight at the stop', `${r.frames.inFlight} (not counted as lost)`]);
    rows.push(['out of order', String(r.frames.outOfOrder)]);
    const l = r.roundTripMs!;
    rows.push([
      'round trip p50 / p90 / p99 / max',
      `${f(l.p50)} / ${f(l.p90)} / ${f(l.p99)} / ${f(l.max)} ms (${l.samples} samples)`,
    ]);
  } else {
    rows.push(['turns unanswered', `${r.frames.lost} (${(r.frames.loss * 100).toFixed(3)}%)`]);
    if (r.interrupted) rows.push(['turns in flight at the stop', `${r.frames.inFlight} (not counted as unanswered)`]);
    for (const [name, l] of [
      ['commit to first audio', r.turnFirstAudioMs!],
      ['commit to response.done', r.turnDoneMs!],
    ] as const) {
      rows.push([
        `${name} p50 / p90 / p99 / max`,
        `${f(l.p50)} / ${f(l.p90)} / ${f(l.p99)} / ${f(l.max)} ms (${l.samples})`,
      ]);
    }
  }
  if (r.frames.errorEvents > 0) rows.push(['error events', String(r.frames.errorEvents)]);
  const g = r.generator;
  rows.push([
    'generator',
    `${g.threads} threads, CPU ${g.cpuPct.toFixed(0)}% of a core, ${f(g.usPerFrame)} us/frame, busiest thread ${(g.busiestThread * 100).toFixed(0)}%, lag max ${g.lagMaxMs.toFixed(0)} ms${g.saturated ? '  SATURATED: the generator may have set the pace; add threads or machines' : ''}`,
  ]);
  for (const [name, t] of Object.entries(r.thresholds)) {
    rows.push([
      name === 'maxP99Ms' ? '--max-p99-ms' : '--max-loss',
      `${t.ok ? 'met' : 'MISSED'}: ${t.value === null ? 'no value' : f(t.value, name === 'maxLoss' ? 6 : 2)} against ${t.limit}`,
    ]);
  }
  rows.push(['result', `${r.ok ? 'ok' : 'FAILED'}${r.interrupted ? ' (INTERRUPTED: a partial run)' : ''}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
