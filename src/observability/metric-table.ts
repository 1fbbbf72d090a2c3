// Every series the proxy exports under its own prefix, defined once: name,
// type, help, labels, and whether the telemetry pump sends it to Application
// Insights. /metrics is rendered from these entries, the pump's list and the
// upgrade outcome counters are derived from them, and a test holds the
// docs/operations.md's metrics table to them (with node-metric-table.ts for the rest).
//
// The counters themselves stay plain number fields of Metrics, so the hot path
// is `metrics.framesClientToUpstream++`: each series here names the field it
// reads (checked by the compiler), never a Map or a label lookup.
import type { Metrics } from './metrics';
import { USAGE_FAMILIES } from './usage-metric-table';

export const METRIC_PREFIX = 'voice_live_proxy_';

/** Upstream connect latency buckets in seconds (le, upper bounds). */
export const UPSTREAM_CONNECT_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A numeric field of Metrics: where one counter series is kept. */
export type CounterField = {
  [K in keyof Metrics]: Metrics[K] extends number ? K : never;
}[keyof Metrics];

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label name -> the values it takes (null: open-ended); a histogram's `le` is implied. */
  readonly labels: Readonly<Record<string, readonly string[] | null>>;
  /** Sent to Application Insights every minute (a counter: what each of its series grew by). */
  readonly appInsights: boolean;
}

export interface CounterSeries {
  /** The label's value, '' for an unlabelled counter. */
  readonly value: string;
  readonly field: CounterField;
}

export interface CounterDef extends MetricDef {
  readonly type: 'counter';
  readonly label: string | null;
  readonly series: readonly CounterSeries[];
}

export interface HistogramDef extends MetricDef {
  readonly type: 'histogram';
  readonly buckets: readonly number[];
  /** The `le` values as rendered, '+Inf' last. */
  readonly le: readonly string[];
}

type Pairs = ReadonlyArray<readonly [string, CounterField]>;

export function counter(
  name: string,
  help: string,
  label: string | null,
  fields: CounterField | Pairs,
  appInsights = false,
): CounterDef {
  const series =
    typeof fields === 'string' ? [{ value: '', field: fields }] : fields.map(([value, field]) => ({ value, field }));
  const labels = label === null ? {} : { [label]: series.map((s) => s.value) };
  return Object.freeze({ name, type: 'counter', help, labels, appInsights, label, series });
}

export function gauge(name: string, help: string, labels: MetricDef['labels'] = {}, appInsights = false): MetricDef {
  return Object.freeze({ name, type: 'gauge', help, labels, appInsights });
}

export function histogram(
  name: string,
  help: string,
  buckets: readonly number[],
  labels: MetricDef['labels'] = {},
): HistogramDef {
  const le = [...buckets.map(String), '+Inf'];
  return Object.freeze({ name, type: 'histogram', help, labels, appInsights: false, buckets, le });
}

const P = METRIC_PREFIX;

/** voice_live_proxy_upgrades_total: outcome -> field. The gate's and the fleet's outcomes are among these. */
const UPGRADE_SERIES = [
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
  ['quota', 'upgradesQuota'],
] as const satisfies Pairs;

export type UpgradeOutcome = (typeof UPGRADE_SERIES)[number][0];
export const UPGRADE_FIELDS: Readonly<Record<UpgradeOutcome, CounterField>> = Object.freeze(
  Object.fromEntries(UPGRADE_SERIES) as Record<UpgradeOutcome, CounterField>,
);

/** voice_live_proxy_auth_verifications_total: outcome (ok, or the refusal's reason) -> field. */
const AUTH_SERIES = [
  ['ok', 'authOk'],
  ['missing', 'authMissing'],
  ['expired', 'authExpired'],
  ['invalid', 'authInvalid'],
  ['replayed', 'authReplayed'],
  ['unavailable', 'authUnavailable'],
] as const satisfies Pairs;

export type AuthVerificationOutcome = (typeof AUTH_SERIES)[number][0];
export const AUTH_FIELDS: Readonly<Record<AuthVerificationOutcome, CounterField>> = Object.freeze(
  Object.fromEntries(AUTH_SERIES) as Record<AuthVerificationOutcome, CounterField>,
);

/** The counters, in /metrics order. */
export const COUNTERS: readonly CounterDef[] = Object.freeze([
  counter(
    `${P}upgrades_total`,
    'WebSocket upgrade requests on the socket paths by outcome.',
    'outcome',
    UPGRADE_SERIES,
    true,
  ),
  counter(
    `${P}auth_verifications_total`,
    'Caller verifications (CLIENT_AUTH) by outcome; a refusal names its reason.',
    'outcome',
    AUTH_SERIES,
    true,
  ),
  counter(
    `${P}unknown_parameters_total`,
    'Query parameters on socket paths that the proxy does not know (dropped, never forwarded).',
    null,
    'unknownParameters',
  ),
  counter(
    `${P}client_credentials_dropped_total`,
    "Client secrets on socket upgrades dropped, never forwarded (the proxy's own credential used), by kind.",
    'kind',
    [
      ['api_key', 'clientCredentialsDroppedApiKey'],
      ['bearer', 'clientCredentialsDroppedBearer'],
      ['token', 'clientCredentialsDroppedToken'],
      ['subprotocol', 'clientCredentialsDroppedSubprotocol'],
    ],
  ),
  counter(
    `${P}http_rate_limited_total`,
    'Plain HTTP requests refused with 429 by the rate limiter.',
    null,
    'httpRateLimited',
  ),
  counter(
    `${P}upstream_connects_total`,
    'Upstream Voice Live connection attempts by outcome.',
    'outcome',
    [
      ['ok', 'upstreamConnectsOk'],
      ['unauthorized', 'upstreamConnectsUnauthorized'],
      ['forbidden', 'upstreamConnectsForbidden'],
      ['timeout', 'upstreamConnectsTimeout'],
      ['error', 'upstreamConnectsError'],
      ['credential', 'upstreamConnectsCredential'],
    ],
    true,
  ),
  counter(
    `${P}server_token_requests_total`,
    "Token requests for the proxy's own identity (keyless upstream), by outcome.",
    'outcome',
    [
      ['ok', 'serverTokenOk'],
      ['error', 'serverTokenErrors'],
      ['timeout', 'serverTokenTimeouts'],
    ],
  ),
  counter(
    `${P}frames_total`,
    'WebSocket messages relayed, by direction.',
    'direction',
    [
      ['client_to_upstream', 'framesClientToUpstream'],
      ['upstream_to_client', 'framesUpstreamToClient'],
    ],
    true,
  ),
  counter(
    `${P}bytes_total`,
    'Message payload bytes relayed, by direction.',
    'direction',
    [
      ['client_to_upstream', 'bytesClientToUpstream'],
      ['upstream_to_client', 'bytesUpstreamToClient'],
    ],
    true,
  ),
  counter(
    `${P}backpressure_pauses_total`,
    'Times the upstream was paused because the browser read too slowly.',
    null,
    'backpressurePauses',
    true,
  ),
  counter(
    `${P}slow_client_closes_total`,
    'Sessions closed because the browser stayed too slow to read.',
    null,
    'slowClientCloses',
    true,
  ),
  counter(
    `${P}quota_closes_total`,
    'Live sessions closed 1008 quota_exhausted because their caller reached a daily quota.',
    null,
    'quotaCloses',
    true,
  ),
  counter(
    `${P}slow_upstream_closes_total`,
    'Sessions closed because the upstream stayed too slow to accept data.',
    null,
    'slowUpstreamCloses',
    true,
  ),
  counter(
    `${P}pending_overflows_total`,
    'Sessions closed because too much arrived before the upstream opened.',
    null,
    'pendingOverflows',
  ),
  counter(
    `${P}buffer_budget_pauses_total`,
    'Upstreams paused early because the process buffer budget ran short.',
    null,
    'bufferBudgetPauses',
    true,
  ),
  counter(
    `${P}buffer_budget_sheds_total`,
    'Sessions closed 1013 because the process buffer budget was spent.',
    null,
    'bufferBudgetSheds',
    true,
  ),
  counter(
    `${P}fleet_redis_errors_total`,
    'Redis calls that failed or timed out (FLEET_REDIS_TIMEOUT_MS).',
    null,
    'fleetRedisErrors',
    true,
  ),
  counter(
    `${P}fleet_redis_state_changes_total`,
    'Times Redis was found up or down.',
    'to',
    [
      ['up', 'fleetRedisUps'],
      ['down', 'fleetRedisDowns'],
    ],
    true,
  ),
  counter(
    `${P}fleet_local_admits_total`,
    "Sessions admitted on this replica's own limits while Redis was down (FLEET_ON_REDIS_DOWN=open).",
    null,
    'fleetLocalAdmits',
    true,
  ),
  counter(
    `${P}tls_reloads_total`,
    'Replaced TLS_CERT_FILE/TLS_KEY_FILE pairs, by outcome (error: the previous certificate still serves), per thread.',
    'outcome',
    [
      ['ok', 'tlsReloadsOk'],
      ['error', 'tlsReloadsFailed'],
    ],
  ),
  counter(`${P}closes_total`, 'Sessions closed, by who initiated the close.', 'initiator', [
    ['client', 'closesClient'],
    ['upstream', 'closesUpstream'],
    ['proxy', 'closesProxy'],
  ]),
]);

/** Kept in Metrics.upstreamConnectSeconds; snapshot keys `upstreamConnectSeconds.bucket.<i>`, `.sum`, `.count`. */
export const UPSTREAM_CONNECT_SECONDS = histogram(
  `${P}upstream_connect_duration_seconds`,
  'Time to open the upstream WebSocket (handshake included).',
  UPSTREAM_CONNECT_BUCKETS,
);

/** Gauges, in /metrics order after the histogram. */
export const GAUGES = Object.freeze({
  activeConnections: gauge(`${P}active_connections`, 'Open browser sessions.', {}, true),
  maxConnections: gauge(`${P}max_connections`, 'Configured MAX_CONNECTIONS.'),
  draining: gauge(`${P}draining`, '1 while shutting down (health returns 503).'),
  /** Rendered when the server reports its budget (always, from startProxy). */
  bufferedBytes: gauge(
    `${P}buffered_bytes`,
    'Bytes held for slow peers and for upstream messages still arriving, all threads (BUFFER_BUDGET_BYTES counts these).',
  ),
  bufferBudgetBytes: gauge(`${P}buffer_budget_bytes`, 'Configured BUFFER_BUDGET_BYTES.'),
  /** Rendered only with the fleet on (REDIS_URL). */
  fleetRedisUp: gauge(
    `${P}fleet_redis_up`,
    '1 while Redis answers (every thread); 0 = limits decided per replica (FLEET_ON_REDIS_DOWN).',
  ),
  fleetLeases: gauge(`${P}fleet_leases`, 'Session leases this replica holds and renews in Redis.'),
  /** Rendered once a thread holds the proxy's own identity token (keyless upstream). */
  serverTokenExpiry: gauge(
    `${P}server_token_expiry_timestamp_seconds`,
    "Unix time the proxy's own identity token expires (keyless), the earliest of all threads.",
  ),
  /** Rendered only with TLS on the listening port (TLS_CERT_FILE). */
  tlsCertExpiry: gauge(
    `${P}tls_certificate_expiry_timestamp_seconds`,
    'Unix time the certificate served on the listening port expires (notAfter), the earliest of all threads.',
  ),
});

export const PROXY_METRICS: readonly MetricDef[] = Object.freeze([
  ...COUNTERS,
  ...USAGE_FAMILIES.map((f) => f.def),
  UPSTREAM_CONNECT_SECONDS,
  ...Object.values(GAUGES),
]);
