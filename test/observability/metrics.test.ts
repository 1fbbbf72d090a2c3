import t from 'tap';
import { EventLoopMonitor } from '../../src/observability/event-loop';
import { Histogram, METRICS_CONTENT_TYPE, Metrics, UPSTREAM_CONNECT_BUCKETS } from '../../src/observability/metrics';

// A small validator for Prometheus text exposition format 0.0.4, strict enough
// to catch what makes a scraper (Azure Monitor managed Prometheus included)
// drop a target: bad names, bad numbers, TYPE after samples, split families,
// duplicate series, non-cumulative histograms.
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:NaN|[+-]Inf|[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`);
const COMMENT_RE = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

/** Throws with the line number on the first violation; returns families in order. */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('output must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | undefined;
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') throw new Error(`${where}: empty line`);
    if (line.startsWith('#')) {
      const m = COMMENT_RE.exec(line);
      if (!m) throw new Error(`${where}: bad comment`);
      const [, kind, name, rest] = m;
      if (closed.has(name)) throw new Error(`${where}: family ${name} split`);
      let f = families.get(name);
      if (current && current.name !== name) closed.add(current.name);
      if (!f) {
        f = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0) {
        throw new Error(`${where}: ${kind} after samples`);
      }
      current = f;
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type`);
        f.type = rest;
      } else {
        if (/\\(?![\\n])/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        f.help = rest;
      }
      return;
    }
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`${where}: bad sample`);
    const [, name, labelText, value] = m;
    const f = familyOf(name, families);
    if (!f) throw new Error(`${where}: sample without HELP/TYPE`);
    if (f !== current) throw new Error(`${where}: sample outside its family block`);
    if (seen.has(`${name}{${labelText ?? ''}}`)) throw new Error(`${where}: duplicate series`);
    seen.add(`${name}{${labelText ?? ''}}`);
    const labels: Record<string, string> = {};
    for (const lm of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (lm[1] in labels) throw new Error(`${where}: repeated label`);
      labels[lm[1]] = lm[2];
    }
    if (f.type === 'counter' && !name.endsWith('_total')) throw new Error(`${where}: counter without _total`);
    f.samples.push({ name, labels, value: parseValue(value) });
  });
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    // One bucket run per combination of the other labels (e.g. GC `kind`).
    const groups = new Map<string, Sample[]>();
    const others = (labels: Record<string, string>): string =>
      JSON.stringify(
        Object.entries(labels)
          .filter(([k]) => k !== 'le')
          .sort(),
      );
    for (const b of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
      const key = others(b.labels);
      groups.set(key, [...(groups.get(key) ?? []), b]);
    }
    if (groups.size === 0) throw new Error(`${f.name}: histogram needs a +Inf bucket last`);
    for (const [key, buckets] of groups) {
      if (buckets[buckets.length - 1].labels.le !== '+Inf')
        throw new Error(`${f.name}: histogram needs a +Inf bucket last`);
      let prevLe = -Infinity;
      let prevCount = 0;
      for (const b of buckets) {
        const le = parseValue(b.labels.le);
        if (!(le > prevLe)) throw new Error(`${f.name}: le not increasing`);
        if (b.value < prevCount) throw new Error(`${f.name}: buckets not cumulative`);
        prevLe = le;
        prevCount = b.value;
      }
      const count = f.samples.find((x) => x.name === `${f.name}_count` && others(x.labels) === key);
      if (!count || count.value !== prevCount) throw new Error(`${f.name}: _count must equal the +Inf bucket`);
      if (!f.samples.some((x) => x.name === `${f.name}_sum` && others(x.labels) === key))
        throw new Error(`${f.name}: missing _sum`);
    }
  }
  return families;
}

/** Value of one series, e.g. value(f, 'x_total', { outcome: 'ok' }). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.length === Object.keys(s.labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  throw new Error(`no series ${name} ${JSON.stringify(labels)}`);
}

// ---------------------------------------------------------------------------

t.test('a fresh registry renders valid exposition text with every family', async (t) => {
  const m = new Metrics();
  const text = m.render({ activeConnections: 0, maxConnections: 1000, draining: false });
  const fams = parseExposition(text);
  const names = [...fams.keys()];
  for (const n of names) {
    if (!n.startsWith('process_') && !n.startsWith('nodejs_')) t.match(n, /^voice_live_proxy_/, n);
  }
  t.same(names.filter((n) => n.startsWith('voice_live_proxy_')).sort(), [
    'voice_live_proxy_active_connections',
    'voice_live_proxy_auth_verifications_total',
    'voice_live_proxy_backpressure_pauses_total',
    'voice_live_proxy_buffer_budget_pauses_total',
    'voice_live_proxy_buffer_budget_sheds_total',
    'voice_live_proxy_bytes_total',
    'voice_live_proxy_client_credentials_dropped_total',
    'voice_live_proxy_closes_total',
    'voice_live_proxy_draining',
    'voice_live_proxy_fleet_local_admits_total',
    'voice_live_proxy_fleet_redis_errors_total',
    'voice_live_proxy_fleet_redis_state_changes_total',
    'voice_live_proxy_frames_total',
    'voice_live_proxy_http_rate_limited_total',
    'voice_live_proxy_max_connections',
    'voice_live_proxy_pending_overflows_total',
    'voice_live_proxy_quota_closes_total',
    'voice_live_proxy_server_token_requests_total',
    'voice_live_proxy_slow_client_closes_total',
    'voice_live_proxy_slow_upstream_closes_total',
    'voice_live_proxy_tls_reloads_total',
    'voice_live_proxy_unknown_parameters_total',
    'voice_live_proxy_upgrades_total',
    'voice_live_proxy_upstream_connect_duration_seconds',
    'voice_live_proxy_upstream_connects_total',
  ]);
  // prom-client's default set, by the same names (its reference list, Linux).
  for (const n of [
    'process_cpu_user_seconds_total',
    'process_cpu_system_seconds_total',
    'process_cpu_seconds_total',
    'process_start_time_seconds',
    'process_resident_memory_bytes',
    'process_virtual_memory_bytes',
    'process_heap_bytes',
    'process_open_fds',
    'process_max_fds',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_min_seconds',
    'nodejs_eventloop_lag_max_seconds',
    'nodejs_eventloop_lag_mean_seconds',
    'nodejs_eventloop_lag_stddev_seconds',
    'nodejs_eventloop_lag_p50_seconds',
    'nodejs_eventloop_lag_p90_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_active_resources_total',
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_heap_size_total_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_external_memory_bytes',
    'nodejs_heap_space_size_total_bytes',
    'nodejs_heap_space_size_used_bytes',
    'nodejs_heap_space_size_available_bytes',
    'nodejs_version_info',
    'nodejs_gc_duration_seconds',
  ]) {
    t.ok(fams.has(n), n);
  }
  t.equal(fams.get('nodejs_gc_duration_seconds')?.type, 'histogram');
  t.ok(value(fams, 'process_open_fds') > 0);
  for (const f of fams.values()) t.not(f.help, '', `${f.name} has HELP`);
  t.equal(fams.get('voice_live_proxy_upgrades_total')?.type, 'counter');
  t.equal(fams.get('voice_live_proxy_active_connections')?.type, 'gauge');
  t.equal(fams.get('voice_live_proxy_upstream_connect_duration_seconds')?.type, 'histogram');
  t.equal(value(fams, 'voice_live_proxy_upgrades_total', { outcome: 'accepted' }), 0);
  t.ok(value(fams, 'process_resident_memory_bytes') > 0);
  t.ok(value(fams, 'nodejs_heap_size_used_bytes') > 0);
  t.ok(value(fams, 'process_cpu_seconds_total') > 0);
  const start = value(fams, 'process_start_time_seconds');
  t.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 2, 'start time near now - uptime');
  t.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
});

t.test('each counter field lands in its own series', async (t) => {
  const m = new Metrics();
  const expected: Array<[keyof Metrics, string, Record<string, string>]> = [
    ['upgradesAccepted', 'voice_live_proxy_upgrades_total', { outcome: 'accepted' }],
    ['upgradesOrigin', 'voice_live_proxy_upgrades_total', { outcome: 'origin' }],
    ['upgradesRate', 'voice_live_proxy_upgrades_total', { outcome: 'rate' }],
    ['upgradesCapacity', 'voice_live_proxy_upgrades_total', { outcome: 'capacity' }],
    ['upgradesIpCapacity', 'voice_live_proxy_upgrades_total', { outcome: 'ip_capacity' }],
    ['upgradesInvalid', 'voice_live_proxy_upgrades_total', { outcome: 'invalid' }],
    ['upgradesDraining', 'voice_live_proxy_upgrades_total', { outcome: 'draining' }],
    ['unknownParameters', 'voice_live_proxy_unknown_parameters_total', {}],
    ['clientCredentialsDroppedApiKey', 'voice_live_proxy_client_credentials_dropped_total', { kind: 'api_key' }],
    ['clientCredentialsDroppedBearer', 'voice_live_proxy_client_credentials_dropped_total', { kind: 'bearer' }],
    ['clientCredentialsDroppedToken', 'voice_live_proxy_client_credentials_dropped_total', { kind: 'token' }],
    [
      'clientCredentialsDroppedSubprotocol',
      'voice_live_proxy_client_credentials_dropped_total',
      { kind: 'subprotocol' },
    ],
    ['upgradesUnauthorized', 'voice_live_proxy_upgrades_total', { outcome: 'unauthorized' }],
    ['upgradesSubjectCapacity', 'voice_live_proxy_upgrades_total', { outcome: 'subject_capacity' }],
    ['authOk', 'voice_live_proxy_auth_verifications_total', { outcome: 'ok' }],
    ['authMissing', 'voice_live_proxy_auth_verifications_total', { outcome: 'missing' }],
    ['authExpired', 'voice_live_proxy_auth_verifications_total', { outcome: 'expired' }],
    ['authInvalid', 'voice_live_proxy_auth_verifications_total', { outcome: 'invalid' }],
    ['authReplayed', 'voice_live_proxy_auth_verifications_total', { outcome: 'replayed' }],
    ['authUnavailable', 'voice_live_proxy_auth_verifications_total', { outcome: 'unavailable' }],
    ['httpRateLimited', 'voice_live_proxy_http_rate_limited_total', {}],
    ['upstreamConnectsOk', 'voice_live_proxy_upstream_connects_total', { outcome: 'ok' }],
    ['upstreamConnectsUnauthorized', 'voice_live_proxy_upstream_connects_total', { outcome: 'unauthorized' }],
    ['upstreamConnectsForbidden', 'voice_live_proxy_upstream_connects_total', { outcome: 'forbidden' }],
    ['upstreamConnectsTimeout', 'voice_live_proxy_upstream_connects_total', { outcome: 'timeout' }],
    ['upstreamConnectsError', 'voice_live_proxy_upstream_connects_total', { outcome: 'error' }],
    ['upstreamConnectsCredential', 'voice_live_proxy_upstream_connects_total', { outcome: 'credential' }],
    ['serverTokenOk', 'voice_live_proxy_server_token_requests_total', { outcome: 'ok' }],
    ['serverTokenErrors', 'voice_live_proxy_server_token_requests_total', { outcome: 'error' }],
    ['serverTokenTimeouts', 'voice_live_proxy_server_token_requests_total', { outcome: 'timeout' }],
    ['framesClientToUpstream', 'voice_live_proxy_frames_total', { direction: 'client_to_upstream' }],
    ['framesUpstreamToClient', 'voice_live_proxy_frames_total', { direction: 'upstream_to_client' }],
    ['bytesClientToUpstream', 'voice_live_proxy_bytes_total', { direction: 'client_to_upstream' }],
    ['bytesUpstreamToClient', 'voice_live_proxy_bytes_total', { direction: 'upstream_to_client' }],
    ['backpressurePauses', 'voice_live_proxy_backpressure_pauses_total', {}],
    ['slowClientCloses', 'voice_live_proxy_slow_client_closes_total', {}],
    ['slowUpstreamCloses', 'voice_live_proxy_slow_upstream_closes_total', {}],
    ['pendingOverflows', 'voice_live_proxy_pending_overflows_total', {}],
    ['bufferBudgetPauses', 'voice_live_proxy_buffer_budget_pauses_total', {}],
    ['bufferBudgetSheds', 'voice_live_proxy_buffer_budget_sheds_total', {}],
    ['closesClient', 'voice_live_proxy_closes_total', { initiator: 'client' }],
    ['closesUpstream', 'voice_live_proxy_closes_total', { initiator: 'upstream' }],
    ['closesProxy', 'voice_live_proxy_closes_total', { initiator: 'proxy' }],
    ['upgradesFleetCapacity', 'voice_live_proxy_upgrades_total', { outcome: 'fleet_capacity' }],
    ['upgradesFleetUnavailable', 'voice_live_proxy_upgrades_total', { outcome: 'fleet_unavailable' }],
    ['upgradesQuota', 'voice_live_proxy_upgrades_total', { outcome: 'quota' }],
    ['quotaCloses', 'voice_live_proxy_quota_closes_total', {}],
    ['fleetRedisErrors', 'voice_live_proxy_fleet_redis_errors_total', {}],
    ['fleetRedisUps', 'voice_live_proxy_fleet_redis_state_changes_total', { to: 'up' }],
    ['fleetRedisDowns', 'voice_live_proxy_fleet_redis_state_changes_total', { to: 'down' }],
    ['fleetLocalAdmits', 'voice_live_proxy_fleet_local_admits_total', {}],
    ['tlsReloadsOk', 'voice_live_proxy_tls_reloads_total', { outcome: 'ok' }],
    ['tlsReloadsFailed', 'voice_live_proxy_tls_reloads_total', { outcome: 'error' }],
  ];
  // Gauges (not series of their own here; see the fleet gauges test).
  const GAUGES = ['fleetEnabled', 'fleetRedisUp', 'fleetLeases', 'serverTokenExpiresAt', 'tlsCertExpiresAt'];
  const rec = m as unknown as Record<string, number>;
  expected.forEach(([field], i) => {
    rec[field] = i + 1;
  });
  const fams = parseExposition(m.render({ activeConnections: 0, maxConnections: 1, draining: false }));
  expected.forEach(([field, name, labels], i) => {
    t.equal(value(fams, name, labels), i + 1, `${field} -> ${name}${JSON.stringify(labels)}`);
  });
  // Every numeric own field of Metrics is covered above (a new field needs a series).
  const numeric = Object.keys(m)
    .filter((k) => typeof rec[k] === 'number' && !GAUGES.includes(k))
    .sort();
  t.same(numeric, expected.map(([f]) => f as string).sort());
});

t.test('fleet gauges: only with the fleet on; Redis is up only when every worker reaches it', async (t) => {
  const off = new Metrics();
  t.notMatch(off.render({ activeConnections: 0, maxConnections: 1, draining: false }), /fleet_redis_up|fleet_leases/);
  const a = new Metrics();
  const b = new Metrics();
  for (const m of [a, b]) {
    m.fleetEnabled = 1;
    m.fleetRedisUp = 1;
    m.fleetLeases = 3;
  }
  b.fleetRedisUp = 0;
  const extra = { activeConnections: 0, maxConnections: 1, draining: false };
  let fams = parseExposition(Metrics.renderSnapshots([a.snapshot(), b.snapshot()], extra));
  t.equal(value(fams, 'voice_live_proxy_fleet_redis_up'), 0, 'one worker down: down');
  t.equal(value(fams, 'voice_live_proxy_fleet_leases'), 6, 'leases add up');
  b.fleetRedisUp = 1;
  fams = parseExposition(Metrics.renderSnapshots([a.snapshot(), b.snapshot()], extra));
  t.equal(value(fams, 'voice_live_proxy_fleet_redis_up'), 1);
  t.equal(fams.get('voice_live_proxy_fleet_leases')?.type, 'gauge');
});

t.test('gauges come from the render arguments', async (t) => {
  const m = new Metrics();
  let fams = parseExposition(m.render({ activeConnections: 7, maxConnections: 50, draining: true }));
  t.equal(value(fams, 'voice_live_proxy_active_connections'), 7);
  t.equal(value(fams, 'voice_live_proxy_max_connections'), 50);
  t.equal(value(fams, 'voice_live_proxy_draining'), 1);
  let calls = 0;
  fams = parseExposition(
    m.render({
      activeConnections: () => {
        calls++;
        return 3;
      },
      maxConnections: 50,
      draining: false,
    }),
  );
  t.equal(value(fams, 'voice_live_proxy_active_connections'), 3);
  t.equal(value(fams, 'voice_live_proxy_draining'), 0);
  t.equal(calls, 1, 'callback read once per render');
});

t.test('histogram: buckets, cumulative rendering, sum and count', async (t) => {
  const m = new Metrics();
  const h = m.upstreamConnectSeconds;
  t.same([...h.bounds], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  for (const v of [0.005, 0.01, 0.02, 0.3, 0.3, 4, 11, 100]) h.observe(v);
  h.observe(NaN);
  h.observe(-1);
  t.equal(h.count, 8, 'NaN and negative ignored');
  t.same([...h.counts], [2, 1, 0, 0, 0, 2, 0, 0, 1, 0, 2], 'le is inclusive; overflow in +Inf slot');
  const fams = parseExposition(m.render({ activeConnections: 0, maxConnections: 1, draining: false }));
  const n = 'voice_live_proxy_upstream_connect_duration_seconds';
  t.equal(value(fams, `${n}_bucket`, { le: '0.01' }), 2);
  t.equal(value(fams, `${n}_bucket`, { le: '0.025' }), 3);
  t.equal(value(fams, `${n}_bucket`, { le: '0.5' }), 5);
  t.equal(value(fams, `${n}_bucket`, { le: '5' }), 6);
  t.equal(value(fams, `${n}_bucket`, { le: '10' }), 6);
  t.equal(value(fams, `${n}_bucket`, { le: '+Inf' }), 8);
  t.equal(value(fams, `${n}_count`), 8);
  t.ok(Math.abs(value(fams, `${n}_sum`) - 115.635) < 1e-9);
  t.throws(() => new Histogram([1, 1]), RangeError);
  t.throws(() => new Histogram([2, 1]), RangeError);
  t.same(UPSTREAM_CONNECT_BUCKETS, [...h.bounds]);
});

t.test('observe does not allocate (no garbage on the hot path)', async (t) => {
  const h = new Histogram(UPSTREAM_CONNECT_BUCKETS);
  for (let i = 0; i < 1e5; i++) h.observe((i % 1000) / 100); // warm up / optimise
  // The least growth of a few rounds: a round can include the test loop's own
  // allocations before the JIT has optimised it (seen on a loaded machine).
  let grown = Infinity;
  for (let round = 0; round < 5; round++) {
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1e6; i++) h.observe((i % 1000) / 100);
    grown = Math.min(grown, process.memoryUsage().heapUsed - before);
  }
  t.ok(grown < 1024 * 1024, `heap grew ${grown} bytes over 1e6 observations`);
  t.equal(h.count, 5.1e6);
});

t.test('snapshots sum across workers; lag takes the worst thread', async (t) => {
  const a = new Metrics();
  const b = new Metrics();
  a.framesClientToUpstream = 10;
  b.framesClientToUpstream = 5;
  a.closesProxy = 1;
  a.upstreamConnectSeconds.observe(0.2);
  b.upstreamConnectSeconds.observe(0.2);
  b.upstreamConnectSeconds.observe(20);
  const sa = a.snapshot();
  const sb = b.snapshot();
  t.same(JSON.parse(JSON.stringify(sa)), sa, 'snapshot is plain JSON data (postMessage-safe)');
  sa.eventLoopLagP99Seconds = 0.5;
  sb.eventLoopLagP99Seconds = 0.25;
  sa.eventLoopLagMaxSeconds = 0.1;
  sb.eventLoopLagMaxSeconds = 2;
  const merged = Metrics.mergeSnapshots([sa, sb, { framesClientToUpstream: 1, ignored: 'x' as unknown as number }]);
  t.equal(merged.framesClientToUpstream, 16);
  t.equal(merged.ignored, undefined, 'non-numbers skipped');
  t.equal(merged.heapUsedBytes, sa.heapUsedBytes + sb.heapUsedBytes);
  const fams = parseExposition(
    Metrics.renderSnapshots([sa, sb], { activeConnections: 4, maxConnections: 8, draining: false }),
  );
  t.equal(value(fams, 'voice_live_proxy_frames_total', { direction: 'client_to_upstream' }), 15);
  t.equal(value(fams, 'voice_live_proxy_closes_total', { initiator: 'proxy' }), 1);
  const n = 'voice_live_proxy_upstream_connect_duration_seconds';
  t.equal(value(fams, `${n}_bucket`, { le: '0.25' }), 2);
  t.equal(value(fams, `${n}_bucket`, { le: '+Inf' }), 3);
  t.equal(value(fams, `${n}_count`), 3);
  t.equal(value(fams, 'nodejs_eventloop_lag_p99_seconds'), 0.5);
  t.equal(value(fams, 'nodejs_eventloop_lag_max_seconds'), 2);
  t.notOk(
    fams.has('voice_live_proxy_server_token_expiry_timestamp_seconds'),
    'no token expiry gauge while no thread holds a token',
  );
  // The token that runs out first is the one to alert on; a thread without one is no expiry.
  const withTokens = [sa, sb, {}].map((s, i) => ({ ...s, serverTokenExpiresAt: [2_000_000_100, 0, 2_000_000_050][i] }));
  t.equal(Metrics.mergeSnapshots(withTokens).serverTokenExpiresAt, 2_000_000_050);
  const tokenFams = parseExposition(
    Metrics.renderSnapshots(withTokens, { activeConnections: 0, maxConnections: 1, draining: false }),
  );
  t.equal(value(tokenFams, 'voice_live_proxy_server_token_expiry_timestamp_seconds'), 2_000_000_050);
  // The listening port's certificate: only with TLS; a worker still on an older certificate shows.
  t.notOk(fams.has('voice_live_proxy_tls_certificate_expiry_timestamp_seconds'), 'no certificate gauge without TLS');
  const withCerts = [sa, sb].map((s, i) => ({ ...s, tlsCertExpiresAt: [1_900_000_000, 1_800_000_000][i] }));
  const certFams = parseExposition(
    Metrics.renderSnapshots(withCerts, { activeConnections: 0, maxConnections: 1, draining: false }),
  );
  t.equal(value(certFams, 'voice_live_proxy_tls_certificate_expiry_timestamp_seconds'), 1_800_000_000);
  // Empty input still renders a valid, all-zero page.
  const empty = parseExposition(
    Metrics.renderSnapshots([], { activeConnections: 0, maxConnections: 1, draining: false }),
  );
  t.equal(value(empty, `${n}_count`), 0);
  t.equal(value(empty, 'nodejs_heap_size_used_bytes'), 0);
});

t.test('event-loop lag comes from the monitor when one is given', async (t) => {
  const el = new EventLoopMonitor({ windowMs: 0, resolutionMs: 10 });
  el.start();
  t.teardown(() => el.stop());
  const m = new Metrics({ eventLoop: el });
  await new Promise((r) => setTimeout(r, 30)); // the first tick only sets the baseline
  const end = Date.now() + 60;
  while (Date.now() < end); // block the loop so there is lag to see
  await new Promise((r) => setTimeout(r, 30));
  const fams = parseExposition(m.render({ activeConnections: 0, maxConnections: 1, draining: false }));
  t.ok(value(fams, 'nodejs_eventloop_lag_max_seconds') >= 0.04, 'blocking shows up as lag');
  t.ok(value(fams, 'nodejs_eventloop_lag_p50_seconds') > 0);
});

t.test('special values are spelled the way Prometheus parses them', async (t) => {
  const m = new Metrics();
  const rec = m as unknown as Record<string, number>;
  rec.bytesClientToUpstream = 2 ** 53;
  m.upstreamConnectSeconds.sum = Infinity;
  let text = m.render({ activeConnections: NaN, maxConnections: -Infinity, draining: false });
  t.match(text, /\nvoice_live_proxy_active_connections NaN\n/);
  t.match(text, /\nvoice_live_proxy_max_connections -Inf\n/);
  t.match(text, /_sum \+Inf\n/);
  t.match(text, /direction="client_to_upstream"\} 9007199254740992\n/);
  parseExposition(text);
  m.upstreamConnectSeconds.sum = 1e-7;
  text = m.render({ activeConnections: 0, maxConnections: 0, draining: false });
  t.match(text, /_sum 1e-7\n/);
  parseExposition(text);
});

t.test('the validator itself rejects broken exposition text', async (t) => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total 1\n';
  parseExposition(ok);
  const bad = [
    'a_total 1', // no trailing newline
    '# HELP a_total x\n# TYPE a_total counter\na_total one\n',
    '# TYPE a_total counter\na_total 1\n# HELP a_total x\n',
    '# HELP a x\n# TYPE a counter\na 1\n',
    'b 1\n',
    '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n',
    '# TYPE a gauge\na 1\na 2\n',
    '# TYPE a gauge\n# TYPE b gauge\na 1\n',
    '# TYPE a weird\n',
    '# TYPE a gauge\n\na 1\n',
    '# TYPE 1a gauge\n',
    '# TYPE a gauge\na{x="1",x="2"} 1\n',
    '# TYPE a gauge\na{x=1} 1\n',
    '# HELP a bad \\escape\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1\nh_count 2\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n',
  ];
  for (const b of bad) t.throws(() => parseExposition(b), JSON.stringify(b));
  t.throws(() => value(parseExposition(ok), 'nope'));
});
