// A dependency-free Prometheus registry. Every counter is a plain number field
// so the hot path is `metrics.framesClientToUpstream++`: no label lookup, no
// Map, no allocation. Labelled counters have a fixed label set, so each label
// value is its own field and the label text is baked into a table at load.
//
// Text exposition format 0.0.4, which Azure Monitor managed Prometheus (and
// every other scraper) reads. Counters and histogram buckets are plain sums,
// so a multi-worker build can send `snapshot()` objects to one thread and
// render their sum with `Metrics.renderSnapshots`.
import type { EventLoopLag, EventLoopMonitor } from './event-loop';
import { renderProcessStats } from './process-stats';
import { RuntimeStats, renderRuntime } from './runtime-stats';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const METRIC_PREFIX = 'voice_live_proxy_';

/** Upstream connect latency buckets in seconds (le, upper bounds). */
export const UPSTREAM_CONNECT_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Fixed buckets; counts are per bucket (not cumulative) so snapshots add up. */
export class Histogram {
  readonly bounds: Float64Array;
  /** counts[i] = observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new RangeError('histogram bounds must increase');
    }
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Linear scan: ten bounds fit in a cache line or two, faster than a binary search here. */
  observe(value: number): void {
    if (!(value >= 0)) return; // NaN or negative would poison the sum
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export type MetricsSnapshot = Record<string, number>;

export interface RenderExtra {
  /** Number, or a callback read once per render (e.g. the shared connection counter). */
  readonly activeConnections: number | (() => number);
  readonly maxConnections: number;
  readonly draining: boolean;
  /** Bytes held for slow peers across all threads, and BUFFER_BUDGET_BYTES (absent: not reported). */
  readonly bufferedBytes?: () => number;
  readonly bufferBudgetBytes?: number;
}

export interface MetricsOptions {
  readonly eventLoop?: EventLoopMonitor | null;
  /** This thread's GC observer (started by the runtime); heap and handles are read either way. */
  readonly runtime?: RuntimeStats | null;
}

export class Metrics {
  // Upgrades on /ws by outcome (each field is one value of the `outcome` label).
  upgradesAccepted = 0;
  upgradesOrigin = 0;
  upgradesRate = 0;
  upgradesCapacity = 0;
  upgradesIpCapacity = 0;
  upgradesInvalid = 0;
  upgradesDraining = 0;
  /** Query parameters the proxy does not know, dropped (never forwarded). */
  unknownParameters = 0;
  upgradesUnauthorized = 0;
  upgradesSubjectCapacity = 0;
  // CLIENT_AUTH verifications by outcome (auth/caller-auth.ts).
  authOk = 0;
  authMissing = 0;
  authExpired = 0;
  authInvalid = 0;
  authReplayed = 0;
  authUnavailable = 0;
  /** Plain HTTP requests (not upgrades) refused by the rate limiter. */
  httpRateLimited = 0;
  // Upstream connection attempts by outcome.
  upstreamConnectsOk = 0;
  upstreamConnectsUnauthorized = 0;
  upstreamConnectsForbidden = 0;
  upstreamConnectsTimeout = 0;
  upstreamConnectsError = 0;
  /** Sessions closed 1011 because the proxy's own token could not be had. */
  upstreamConnectsCredential = 0;
  // The proxy's own identity token (keyless upstream), by outcome.
  serverTokenOk = 0;
  serverTokenErrors = 0;
  // Relayed traffic.
  framesClientToUpstream = 0;
  framesUpstreamToClient = 0;
  bytesClientToUpstream = 0;
  bytesUpstreamToClient = 0;
  // Flow control.
  backpressurePauses = 0;
  slowClientCloses = 0;
  slowUpstreamCloses = 0;
  pendingOverflows = 0;
  bufferBudgetPauses = 0;
  bufferBudgetSheds = 0;
  // Session closes by initiator.
  closesClient = 0;
  closesUpstream = 0;
  closesProxy = 0;
  // Fleet (REDIS_URL): upgrades refused by the fleet's counts, and Redis health.
  upgradesFleetCapacity = 0;
  upgradesFleetUnavailable = 0;
  fleetRedisErrors = 0;
  fleetRedisUps = 0;
  fleetRedisDowns = 0;
  fleetLocalAdmits = 0;
  /** Gauges, rendered only when the fleet is on: 1/0, and this thread's live leases. */
  fleetEnabled = 0;
  fleetRedisUp = 0;
  fleetLeases = 0;

  readonly upstreamConnectSeconds = new Histogram(UPSTREAM_CONNECT_BUCKETS);
  private readonly eventLoop: EventLoopMonitor | null;
  private readonly runtime: RuntimeStats;

  constructor(opts: MetricsOptions = {}) {
    this.eventLoop = opts.eventLoop ?? null;
    this.runtime = opts.runtime ?? new RuntimeStats();
  }

  /** A plain object that survives postMessage; counters and buckets are summable. */
  snapshot(): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    for (const f of COUNTER_FIELDS) out[f] = this[f];
    const h = this.upstreamConnectSeconds;
    for (let i = 0; i < h.counts.length; i++) out[HIST_BUCKET_KEYS[i]] = h.counts[i];
    out[HIST_SUM_KEY] = h.sum;
    out[HIST_COUNT_KEY] = h.count;
    this.runtime.snapshotInto(out);
    out.fleetEnabled = this.fleetEnabled;
    out.fleetRedisUp = this.fleetRedisUp;
    out.fleetLeases = this.fleetLeases;
    const lag = this.eventLoop === null ? null : this.eventLoop.read();
    for (const [key, stat] of LAG_STATS) out[key] = lag === null ? 0 : lag[stat];
    return out;
  }

  render(extra: RenderExtra): string {
    return Metrics.renderSnapshots([this.snapshot()], extra);
  }

  /**
   * Sums snapshots (one per worker). Counters, buckets, heaps and handles add up;
   * event-loop lag is per thread, so each statistic is the worst thread's.
   * Missing keys count as 0.
   */
  static mergeSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    for (const s of snapshots) {
      for (const k of Object.keys(s)) {
        const v = s[k];
        if (typeof v !== 'number') continue;
        const prev = out[k];
        if (prev === undefined) out[k] = v;
        else out[k] = MAX_KEYS.has(k) ? Math.max(prev, v) : MIN_KEYS.has(k) ? Math.min(prev, v) : prev + v;
      }
    }
    return out;
  }

  /** Process-wide metrics (cpu, memory, descriptors) are read here, by the rendering thread. */
  static renderSnapshots(snapshots: readonly MetricsSnapshot[], extra: RenderExtra): string {
    const s = Metrics.mergeSnapshots(snapshots);
    let out = '';
    for (const fam of FAMILIES) {
      out += fam.header;
      for (const series of fam.series) out += series.prefix + num(s[series.field]) + '\n';
    }

    out += HIST_HEADER;
    let cumulative = 0;
    for (let i = 0; i < HIST_LE.length; i++) {
      cumulative += s[HIST_BUCKET_KEYS[i]] ?? 0;
      out += `${HIST_NAME}_bucket{le="${HIST_LE[i]}"} ${num(cumulative)}\n`;
    }
    out += `${HIST_NAME}_sum ${num(s[HIST_SUM_KEY])}\n`;
    out += `${HIST_NAME}_count ${num(s[HIST_COUNT_KEY])}\n`;

    const active = typeof extra.activeConnections === 'function' ? extra.activeConnections() : extra.activeConnections;
    out += gauge(`${METRIC_PREFIX}active_connections`, 'Open browser sessions.', active);
    out += gauge(`${METRIC_PREFIX}max_connections`, 'Configured MAX_CONNECTIONS.', extra.maxConnections);
    out += gauge(`${METRIC_PREFIX}draining`, '1 while shutting down (health returns 503).', extra.draining ? 1 : 0);
    if (extra.bufferedBytes !== undefined) {
      out += gauge(
        `${METRIC_PREFIX}buffered_bytes`,
        'Bytes held for slow peers, all threads (BUFFER_BUDGET_BYTES counts these).',
        extra.bufferedBytes(),
      );
      out += gauge(`${METRIC_PREFIX}buffer_budget_bytes`, 'Configured BUFFER_BUDGET_BYTES.', extra.bufferBudgetBytes);
    }
    if ((s.fleetEnabled ?? 0) > 0) {
      out += gauge(
        `${METRIC_PREFIX}fleet_redis_up`,
        '1 while Redis answers (every thread); 0 = limits decided per replica (FLEET_ON_REDIS_DOWN).',
        s.fleetRedisUp,
      );
      out += gauge(
        `${METRIC_PREFIX}fleet_leases`,
        'Session leases this replica holds and renews in Redis.',
        s.fleetLeases,
      );
    }

    // prom-client's default names, so stock Node.js dashboards work unchanged.
    out += renderProcessStats();
    out += renderRuntime(s);
    for (const [name, key, help] of LAG_SERIES) out += gauge(name, help, s[key]);
    return out;
  }
}

type CounterField = {
  [K in keyof Metrics]: Metrics[K] extends number ? K : never;
}[keyof Metrics];

interface Series {
  readonly field: CounterField;
  readonly prefix: string;
}
interface Family {
  readonly header: string;
  readonly series: readonly Series[];
}

/** One counter family; `labels` maps label value -> field. */
function counter(
  name: string,
  help: string,
  label: string | null,
  fields: CounterField | ReadonlyArray<readonly [string, CounterField]>,
): Family {
  const full = METRIC_PREFIX + name;
  const header = `# HELP ${full} ${help}\n# TYPE ${full} counter\n`;
  if (typeof fields === 'string') return { header, series: [{ field: fields, prefix: `${full} ` }] };
  return {
    header,
    series: fields.map(([value, field]) => ({ field, prefix: `${full}{${label}="${value}"} ` })),
  };
}

const FAMILIES: readonly Family[] = [
  counter('upgrades_total', 'WebSocket upgrade requests on the socket paths by outcome.', 'outcome', [
    ['accepted', 'upgradesAccepted'],
    ['origin', 'upgradesOrigin'],
    ['rate', 'upgradesRate'],
    ['capacity', 'upgradesCapacity'],
    ['ip_capacity', 'upgradesIpCapacity'],
    ['invalid', 'upgradesInvalid'],
    ['draining', 'upgradesDraining'],
    ['unauthorized', 'upgradesUnauthorized'],
    ['subject_capacity', 'upgradesSubjectCapacity'],
    ['fleet_capacity', 'upgradesFleetCapacity'],
    ['fleet_unavailable', 'upgradesFleetUnavailable'],
  ]),
  counter(
    'auth_verifications_total',
    'Caller verifications (CLIENT_AUTH) by outcome; a refusal names its reason.',
    'outcome',
    [
      ['ok', 'authOk'],
      ['missing', 'authMissing'],
      ['expired', 'authExpired'],
      ['invalid', 'authInvalid'],
      ['replayed', 'authReplayed'],
      ['unavailable', 'authUnavailable'],
    ],
  ),
  counter(
    'unknown_parameters_total',
    'Query parameters on socket paths that the proxy does not know (dropped, never forwarded).',
    null,
    'unknownParameters',
  ),
  counter(
    'http_rate_limited_total',
    'Plain HTTP requests refused with 429 by the rate limiter.',
    null,
    'httpRateLimited',
  ),
  counter('upstream_connects_total', 'Upstream Voice Live connection attempts by outcome.', 'outcome', [
    ['ok', 'upstreamConnectsOk'],
    ['unauthorized', 'upstreamConnectsUnauthorized'],
    ['forbidden', 'upstreamConnectsForbidden'],
    ['timeout', 'upstreamConnectsTimeout'],
    ['error', 'upstreamConnectsError'],
    ['credential', 'upstreamConnectsCredential'],
  ]),
  counter(
    'server_token_requests_total',
    "Token requests for the proxy's own identity (keyless upstream), by outcome.",
    'outcome',
    [
      ['ok', 'serverTokenOk'],
      ['error', 'serverTokenErrors'],
    ],
  ),
  counter('frames_total', 'WebSocket messages relayed, by direction.', 'direction', [
    ['client_to_upstream', 'framesClientToUpstream'],
    ['upstream_to_client', 'framesUpstreamToClient'],
  ]),
  counter('bytes_total', 'Message payload bytes relayed, by direction.', 'direction', [
    ['client_to_upstream', 'bytesClientToUpstream'],
    ['upstream_to_client', 'bytesUpstreamToClient'],
  ]),
  counter(
    'backpressure_pauses_total',
    'Times the upstream was paused because the browser read too slowly.',
    null,
    'backpressurePauses',
  ),
  counter(
    'slow_client_closes_total',
    'Sessions closed because the browser stayed too slow to read.',
    null,
    'slowClientCloses',
  ),
  counter(
    'slow_upstream_closes_total',
    'Sessions closed because the upstream stayed too slow to accept data.',
    null,
    'slowUpstreamCloses',
  ),
  counter(
    'pending_overflows_total',
    'Sessions closed because too much arrived before the upstream opened.',
    null,
    'pendingOverflows',
  ),
  counter(
    'buffer_budget_pauses_total',
    'Upstreams paused early because the process buffer budget ran short.',
    null,
    'bufferBudgetPauses',
  ),
  counter(
    'buffer_budget_sheds_total',
    'Sessions closed 1013 because the process buffer budget was spent.',
    null,
    'bufferBudgetSheds',
  ),
  counter(
    'fleet_redis_errors_total',
    'Redis calls that failed or timed out (FLEET_REDIS_TIMEOUT_MS).',
    null,
    'fleetRedisErrors',
  ),
  counter('fleet_redis_state_changes_total', 'Times Redis was found up or down.', 'to', [
    ['up', 'fleetRedisUps'],
    ['down', 'fleetRedisDowns'],
  ]),
  counter(
    'fleet_local_admits_total',
    "Sessions admitted on this replica's own limits while Redis was down (FLEET_ON_REDIS_DOWN=open).",
    null,
    'fleetLocalAdmits',
  ),
  counter('closes_total', 'Sessions closed, by who initiated the close.', 'initiator', [
    ['client', 'closesClient'],
    ['upstream', 'closesUpstream'],
    ['proxy', 'closesProxy'],
  ]),
];

const COUNTER_FIELDS: readonly CounterField[] = FAMILIES.flatMap((f) => f.series.map((s) => s.field));

const HIST_KEY = 'upstreamConnectSeconds';
const HIST_NAME = `${METRIC_PREFIX}upstream_connect_duration_seconds`;
const HIST_HEADER =
  `# HELP ${HIST_NAME} Time to open the upstream WebSocket (handshake included).\n` + `# TYPE ${HIST_NAME} histogram\n`;
const HIST_LE: readonly string[] = [...UPSTREAM_CONNECT_BUCKETS.map(String), '+Inf'];
const HIST_BUCKET_KEYS: readonly string[] = HIST_LE.map((_, i) => `${HIST_KEY}.bucket.${i}`);
const HIST_SUM_KEY = `${HIST_KEY}.sum`;
const HIST_COUNT_KEY = `${HIST_KEY}.count`;

/** Snapshot key -> EventLoopLag statistic. */
const LAG_STATS: ReadonlyArray<readonly [string, keyof EventLoopLag]> = [
  ['eventLoopLagMinSeconds', 'min'],
  ['eventLoopLagMeanSeconds', 'mean'],
  ['eventLoopLagStddevSeconds', 'stddev'],
  ['eventLoopLagP50Seconds', 'p50'],
  ['eventLoopLagP90Seconds', 'p90'],
  ['eventLoopLagP99Seconds', 'p99'],
  ['eventLoopLagMaxSeconds', 'max'],
];
const WINDOW = 'worst thread, last 60 s window';
const LAG_SERIES: ReadonlyArray<readonly [string, string, string]> = [
  // prom-client measures this one with a setImmediate per scrape; here it is the window's mean.
  ['nodejs_eventloop_lag_seconds', 'eventLoopLagMeanSeconds', `Lag of event loop in seconds (mean, ${WINDOW}).`],
  ['nodejs_eventloop_lag_min_seconds', 'eventLoopLagMinSeconds', `The minimum recorded event loop delay (${WINDOW}).`],
  [
    'nodejs_eventloop_lag_max_seconds',
    'eventLoopLagMaxSeconds',
    'The maximum recorded event loop delay (worst thread).',
  ],
  [
    'nodejs_eventloop_lag_mean_seconds',
    'eventLoopLagMeanSeconds',
    `The mean of the recorded event loop delays (${WINDOW}).`,
  ],
  [
    'nodejs_eventloop_lag_stddev_seconds',
    'eventLoopLagStddevSeconds',
    `The standard deviation of the recorded event loop delays (${WINDOW}).`,
  ],
  [
    'nodejs_eventloop_lag_p50_seconds',
    'eventLoopLagP50Seconds',
    `The 50th percentile of the recorded event loop delays (${WINDOW}).`,
  ],
  [
    'nodejs_eventloop_lag_p90_seconds',
    'eventLoopLagP90Seconds',
    `The 90th percentile of the recorded event loop delays (${WINDOW}).`,
  ],
  [
    'nodejs_eventloop_lag_p99_seconds',
    'eventLoopLagP99Seconds',
    `The 99th percentile of the recorded event loop delays (${WINDOW}).`,
  ],
];

const MAX_KEYS: ReadonlySet<string> = new Set(LAG_STATS.map(([key]) => key));
/** Merged as the minimum: Redis counts as up only when every thread reaches it. */
const MIN_KEYS: ReadonlySet<string> = new Set(['fleetRedisUp']);

function gauge(name: string, help: string, value: number | undefined): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${num(value)}\n`;
}

/** Go's ParseFloat spelling: NaN, +Inf, -Inf; JS prints everything else compatibly. */
function num(v: number | undefined): string {
  if (v === undefined) return '0';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v); // NaN -> 'NaN', 1e-7 -> '1e-7'
}
