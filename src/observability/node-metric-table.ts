// The process and runtime series under prom-client's default names, types and
// labels, so stock Node.js dashboards and alerts work unchanged. Defined here
// once, as the proxy's own series are in metric-table.ts; process-stats.ts
// (read once per scrape) and runtime-stats.ts (summed over threads) give them
// their values.
import { constants } from 'node:perf_hooks';
import { gauge, histogram, type MetricDef } from './metric-table';

/** prom-client's GC buckets (seconds). */
export const GC_BUCKETS: readonly number[] = Object.freeze([0.001, 0.01, 0.1, 1, 2, 5]);
/** perf_hooks' GC kind -> the `kind` label. */
export const GC_KINDS: ReadonlyArray<readonly [number, string]> = Object.freeze([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

function processCounter(name: string, help: string): MetricDef {
  return Object.freeze({ name, type: 'counter', help, labels: {}, appInsights: false });
}

export const PROCESS = Object.freeze({
  cpuUser: processCounter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.'),
  cpuSystem: processCounter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.'),
  cpu: processCounter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.'),
  startTime: gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.'),
  residentMemory: gauge('process_resident_memory_bytes', 'Resident memory size in bytes.'),
  virtualMemory: gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.'),
  heap: gauge('process_heap_bytes', 'Process heap size in bytes.'),
  openFds: gauge('process_open_fds', 'Number of open file descriptors.'),
  maxFds: gauge('process_max_fds', 'Maximum number of open file descriptors.'),
  versionInfo: gauge('nodejs_version_info', 'Node.js version info.', {
    version: null,
    major: null,
    minor: null,
    patch: null,
  }),
});

/** `space` values are V8's heap space names less `_space`: known at start, not here. */
const SPACE = { space: null };

export const RUNTIME = Object.freeze({
  heapTotal: gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes (all threads).'),
  heapUsed: gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes (all threads).'),
  external: gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes (all threads).'),
  activeHandles: gauge('nodejs_active_handles_total', 'Total number of active handles (all threads).'),
  activeRequests: gauge('nodejs_active_requests_total', 'Total number of active requests (all threads).'),
  activeResources: gauge(
    'nodejs_active_resources_total',
    'Total number of active resources keeping the event loops alive.',
  ),
  heapSpaceTotal: gauge(
    'nodejs_heap_space_size_total_bytes',
    'Process heap space size from Node.js in bytes (all threads).',
    SPACE,
  ),
  heapSpaceUsed: gauge(
    'nodejs_heap_space_size_used_bytes',
    'Process heap space used size from Node.js in bytes (all threads).',
    SPACE,
  ),
  heapSpaceAvailable: gauge(
    'nodejs_heap_space_size_available_bytes',
    'Process heap space available size from Node.js in bytes (all threads).',
    SPACE,
  ),
  gc: histogram(
    'nodejs_gc_duration_seconds',
    'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    GC_BUCKETS,
    { kind: GC_KINDS.map(([, kind]) => kind) },
  ),
});

const WINDOW = 'worst thread, last 60 s window';

/** Event-loop delay, per statistic: the snapshot key it reads and its series. */
export const EVENT_LOOP_LAG: ReadonlyArray<readonly [key: string, def: MetricDef]> = Object.freeze([
  // prom-client measures this one with a setImmediate per scrape; here it is the window's mean.
  ['eventLoopLagMeanSeconds', gauge('nodejs_eventloop_lag_seconds', `Lag of event loop in seconds (mean, ${WINDOW}).`)],
  [
    'eventLoopLagMinSeconds',
    gauge('nodejs_eventloop_lag_min_seconds', `The minimum recorded event loop delay (${WINDOW}).`),
  ],
  [
    'eventLoopLagMaxSeconds',
    gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay (worst thread).'),
  ],
  [
    'eventLoopLagMeanSeconds',
    gauge('nodejs_eventloop_lag_mean_seconds', `The mean of the recorded event loop delays (${WINDOW}).`),
  ],
  [
    'eventLoopLagStddevSeconds',
    gauge(
      'nodejs_eventloop_lag_stddev_seconds',
      `The standard deviation of the recorded event loop delays (${WINDOW}).`,
    ),
  ],
  [
    'eventLoopLagP50Seconds',
    gauge('nodejs_eventloop_lag_p50_seconds', `The 50th percentile of the recorded event loop delays (${WINDOW}).`),
  ],
  [
    'eventLoopLagP90Seconds',
    gauge('nodejs_eventloop_lag_p90_seconds', `The 90th percentile of the recorded event loop delays (${WINDOW}).`),
  ],
  [
    'eventLoopLagP99Seconds',
    gauge('nodejs_eventloop_lag_p99_seconds', `The 99th percentile of the recorded event loop delays (${WINDOW}).`),
  ],
]);

export const NODE_METRICS: readonly MetricDef[] = Object.freeze([
  ...Object.values(PROCESS),
  ...Object.values(RUNTIME),
  ...EVENT_LOOP_LAG.map(([, def]) => def),
]);
