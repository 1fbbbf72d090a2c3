// What the generator's main thread and its worker threads say to each other.
import type { HistogramJson } from './histogram';

export type LoadMode = 'echo' | 'respond' | 'idle';

/** A worker's share of the load; posted as workerData (never argv: it may hold a ticket secret). */
export interface WorkerConfig {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceIps: readonly string[] | null;
  readonly insecure: boolean;
  /** PEM text of the certificates to trust for wss://, or null for the system store. */
  readonly ca: string | null;
  readonly mode: LoadMode;
  /** Time between two appends of one session. */
  readonly periodMs: number;
  /** PCM16 bytes per append (before base64). */
  readonly pcmBytes: number;
  readonly tickMs: number;
  readonly rampMs: number;
  /** respond mode: a commit after this many appends. */
  readonly commitEvery: number;
  readonly maxInflight: number;
  /** Index of this worker's first session (for source addresses and ticket subjects). */
  readonly first: number;
  readonly count: number;
  /** CLIENT_AUTH=ticket: one ticket per session, minted in the worker just before it opens. */
  readonly ticket: { readonly secret: string; readonly audience: string; readonly ttlSeconds: number } | null;
}

export interface Counters {
  opened: number;
  created: number;
  failed: number;
  closedEarly: number;
  /** Sessions that closed after opening, by close code. */
  closeCodes: Record<string, number>;
  /** Sessions that never opened, by reason: `http 403`, `close 1008`, `ECONNREFUSED`, ... */
  failReasons: Record<string, number>;
  sent: number;
  recv: number;
  sentBytes: number;
  recvBytes: number;
  echoes: number;
  outOfOrder: number;
  errors: number;
  commits: number;
  responses: number;
  lagMaxMs: number;
  skippedFrames: number;
  /** An interrupted run: sessions never attempted (the ramp was cut short). */
  notStarted: number;
  /**
   * An interrupted run: frames still unanswered at the end of the drain on the
   * sessions open at the stop, sent after the last one answered (echo mode:
   * appends after the last echo; turns: commits awaiting response.done).
   */
  inFlight: number;
}

export type WorkerCommand =
  | { readonly cmd: 'send' }
  | { readonly cmd: 'mark' }
  | { readonly cmd: 'window' }
  | { readonly cmd: 'progress' }
  /** interrupted: also stop opening sessions, and answer as soon as nothing is in flight (at most drainMs). */
  | { readonly cmd: 'stop'; readonly drainMs: number; readonly interrupted?: boolean }
  | { readonly cmd: 'close'; readonly graceMs: number };

export interface WindowReport {
  readonly ev: 'window';
  readonly ms: number;
  readonly sent: number;
  readonly recv: number;
  readonly sentBytes: number;
  readonly recvBytes: number;
  /** Share of the window this thread's event loop was busy (0..1): near 1, the generator is the bottleneck. */
  readonly elu: number;
  readonly lagMaxMs: number;
  readonly rttSeriesMs: number;
  readonly rttSeries: readonly number[];
  readonly rtt: HistogramJson;
  readonly ttfa: HistogramJson;
  readonly done: HistogramJson;
}

export type WorkerEvent =
  | { readonly ev: 'init'; readonly frameBytes: number; readonly slots: number }
  | { readonly ev: 'ramped'; readonly counters: Counters }
  | { readonly ev: 'marked' }
  | WindowReport
  | { readonly ev: 'progress'; readonly counters: Counters; readonly live: HistogramJson; readonly elu: number }
  | { readonly ev: 'totals'; readonly counters: Counters }
  | { readonly ev: 'closed' };

export function emptyCounters(): Counters {
  return {
    opened: 0,
    created: 0,
    failed: 0,
    closedEarly: 0,
    closeCodes: {},
    failReasons: {},
    sent: 0,
    recv: 0,
    sentBytes: 0,
    recvBytes: 0,
    echoes: 0,
    outOfOrder: 0,
    errors: 0,
    commits: 0,
    responses: 0,
    lagMaxMs: 0,
    skippedFrames: 0,
    notStarted: 0,
    inFlight: 0,
  };
}

/** Sum counters of several workers (lag: the worst). */
export function sumCounters(list: readonly Counters[]): Counters {
  const out = emptyCounters();
  for (const c of list) {
    for (const k of Object.keys(c) as Array<keyof Counters>) {
      if (k === 'closeCodes' || k === 'failReasons') {
        for (const [kk, vv] of Object.entries(c[k])) out[k][kk] = (out[k][kk] ?? 0) + vv;
      } else if (k === 'lagMaxMs') {
        out[k] = Math.max(out[k], c[k]);
      } else {
        out[k] += c[k];
      }
    }
  }
  return out;
}
