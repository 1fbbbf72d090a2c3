// A dependency-free Prometheus registry. Every counter is a plain number field
// so the hot path is `metrics.framesClientToUpstream++`: no label lookup, no
// Map, no allocation. What each field is called on /metrics (name, help,
// labels) is in metric-table.ts; its label text is baked into series
// prefixes here, at load.
//
// Text exposition format 0.0.4, which Azure Monitor managed Prometheus (and
// every other scraper) reads. Counters and histogram buckets are plain sums,
// so a multi-worker build can send `snapshot()` objects to one thread and
// render their sum with `Metrics.renderSnapshots`.
import type { EventLoopLag, EventLoopMonitor } from './event-loop';
import { header, histogramSamples, num, single } from './exposition';
import { COUNTERS, GAUGES, UPSTREAM_CONNECT_SECONDS, type CounterField } from './metric-table';
import { EVENT_LOOP_LAG } from './node-metric-table';
import { renderProcessStats } from './process-stats';
import { RuntimeStats, renderRuntime } from './runtime-stats';
import { USAGE_CELLS, USAGE_KEYS, renderUsage, type UsageRow } from './usage-metric-table';

export { METRIC_PREFIX, UPSTREAM_CONNECT_BUCKETS } from './metric-table';
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

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
  /** The usage rows (mode, model) of this configuration; absent: no usage series. */
  readonly usageRows?: readonly UsageRow[];
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
  // Client secrets dropped at the upgrade (never forwarded), by where they came from.
  clientCredentialsDroppedApiKey = 0;
  clientCredentialsDroppedBearer = 0;
  clientCredentialsDroppedToken = 0;
  clientCredentialsDroppedSubprotocol = 0;
  upgradesUnauthorized = 0;
  upgradesSubjectCapacity = 0;
  /** Upgrades refused 429 quota_exhausted (QUOTA_*_PER_DAY). */
  upgradesQuota = 0;
  /** Live sessions closed 1008 quota_exhausted. */
  quotaCloses = 0;
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
  /** Requests abandoned after AZURE_TOKEN_TIMEOUT_MS with no answer (counted apart from errors). */
  serverTokenTimeouts = 0;
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
  /** Gauge: when this thread's identity token expires, Unix seconds; 0 until it holds one. */
  serverTokenExpiresAt = 0;
  // TLS on the listening port (tls/): certificate swaps, and the serving certificate's notAfter (0 = no TLS).
  tlsReloadsOk = 0;
  tlsReloadsFailed = 0;
  tlsCertExpiresAt = 0;

  readonly upstreamConnectSeconds = new Histogram(UPSTREAM_CONNECT_SECONDS.buckets);
  /** Usage totals by (mode, model) row (usage-metric-table.ts), added to by usage/usage-totals.ts. */
  readonly usage = new Float64Array(USAGE_CELLS);
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
    for (let i = 0; i < USAGE_CELLS; i++) out[USAGE_KEYS[i]] = this.usage[i];
    this.runtime.snapshotInto(out);
    out.fleetEnabled = this.fleetEnabled;
    out.fleetRedisUp = this.fleetRedisUp;
    out.fleetLeases = this.fleetLeases;
    out.serverTokenExpiresAt = this.serverTokenExpiresAt;
    out.tlsCertExpiresAt = this.tlsCertExpiresAt;
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
        else if (EARLIEST_KEYS.has(k)) out[k] = prev === 0 ? v : v === 0 ? prev : Math.min(prev, v);
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
    if (extra.usageRows !== undefined) out += renderUsage(s, extra.usageRows);
    out += header(UPSTREAM_CONNECT_SECONDS) + histogramSamples(UPSTREAM_CONNECT_SECONDS, s, HIST_KEY);

    const active = typeof extra.activeConnections === 'function' ? extra.activeConnections() : extra.activeConnections;
    out += single(GAUGES.activeConnections, active);
    out += single(GAUGES.maxConnections, extra.maxConnections);
    out += single(GAUGES.draining, extra.draining ? 1 : 0);
    if (extra.bufferedBytes !== undefined) {
      out += single(GAUGES.bufferedBytes, extra.bufferedBytes());
      out += single(GAUGES.bufferBudgetBytes, extra.bufferBudgetBytes);
    }
    if ((s.fleetEnabled ?? 0) > 0) {
      out += single(GAUGES.fleetRedisUp, s.fleetRedisUp);
      out += single(GAUGES.fleetLeases, s.fleetLeases);
    }
    if ((s.serverTokenExpiresAt ?? 0) > 0) out += single(GAUGES.serverTokenExpiry, s.serverTokenExpiresAt);
    if ((s.tlsCertExpiresAt ?? 0) > 0) out += single(GAUGES.tlsCertExpiry, s.tlsCertExpiresAt);

    // prom-client's default names, so stock Node.js dashboards work unchanged.
    out += renderProcessStats();
    out += renderRuntime(s);
    for (const [key, def] of EVENT_LOOP_LAG) out += single(def, s[key]);
    return out;
  }
}

interface Series {
  readonly field: CounterField;
  /** `name{label="value"} `, made once at load. */
  readonly prefix: string;
}
interface Family {
  readonly header: string;
  readonly series: readonly Series[];
}

const FAMILIES: readonly Family[] = COUNTERS.map((def) => ({
  header: header(def),
  series: def.series.map(({ value, field }) => ({
    field,
    prefix: def.label === null ? `${def.name} ` : `${def.name}{${def.label}="${value}"} `,
  })),
}));

const COUNTER_FIELDS: readonly CounterField[] = FAMILIES.flatMap((f) => f.series.map((s) => s.field));

const HIST_KEY = 'upstreamConnectSeconds';
const HIST_BUCKET_KEYS: readonly string[] = UPSTREAM_CONNECT_SECONDS.le.map((_, i) => `${HIST_KEY}.bucket.${i}`);
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
const MAX_KEYS: ReadonlySet<string> = new Set(LAG_STATS.map(([key]) => key));
/** Merged as the minimum: Redis counts as up only when every thread reaches it. */
const MIN_KEYS: ReadonlySet<string> = new Set(['fleetRedisUp']);
/**
 * Merged as the earliest non-zero time: the token that runs out first is the
 * one to alert on, and a thread that has not needed a token yet (0) is no
 * expiry at all.
 */
const EARLIEST_KEYS: ReadonlySet<string> = new Set(['serverTokenExpiresAt', 'tlsCertExpiresAt']);
