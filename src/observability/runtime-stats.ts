// Per-thread runtime series under prom-client's default names (nodejs_*), so
// stock Node.js dashboards work: V8 heap and its spaces, live libuv handles
// and requests, and GC pauses by kind. Each worker thread has its own V8
// isolate and libuv loop, so these are read per thread and summed over the
// threads by the metrics board; process-wide series live in process-stats.ts.
//
// Why not prom-client's collectors: they assume one isolate per process (or
// one process per worker, for cluster mode, where process_* series are summed).
// With worker threads the process series must be read once and the isolate
// series summed; the board already carries fixed numeric keys across threads,
// so these are a few dozen lines rather than a registry per thread plus a merge.
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { header, histogramSamples, num, single, type Snapshot } from './exposition';
import { GC_BUCKETS, GC_KINDS, RUNTIME } from './node-metric-table';

export type { Snapshot } from './exposition';
export { GC_BUCKETS } from './node-metric-table';
/** V8's heap spaces: the same in every thread of one process (one V8 build). */
export const HEAP_SPACES: readonly string[] = Object.freeze(getHeapSpaceStatistics().map((s) => s.space_name));

const gcKey = (kind: string, slot: string): string => `gc.${kind}.${slot}`;
const spaceKey = (space: string, what: string): string => `heapSpace.${space}.${what}`;

/** Keys describing a live thread (not running totals): dropped when a worker's row is retired. */
export function isLiveKey(key: string): boolean {
  return !key.startsWith('gc.');
}

/** Undocumented but stable since Node 0.x; prom-client reads the same two. */
interface ProcessInternals {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

export class RuntimeStats {
  /** Per kind: per-bucket counts (not cumulative, so snapshots add up), then sum and count. */
  private readonly gc = new Float64Array(GC_KINDS.length * (GC_BUCKETS.length + 3));
  private observer: PerformanceObserver | null = null;

  start(): void {
    if (this.observer !== null) return;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.observeGc(gcKind(e), e.duration / 1000);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
  }

  observeGc(kind: number, seconds: number): void {
    const k = GC_KINDS.findIndex(([flag]) => flag === kind);
    if (k < 0 || !(seconds >= 0)) return;
    const base = k * (GC_BUCKETS.length + 3);
    let i = 0;
    while (i < GC_BUCKETS.length && seconds > GC_BUCKETS[i]) i++;
    this.gc[base + i]++;
    this.gc[base + GC_BUCKETS.length + 1] += seconds;
    this.gc[base + GC_BUCKETS.length + 2]++;
  }

  /** This thread's values, added to `out` under fixed keys (see RUNTIME_KEYS). */
  snapshotInto(out: Snapshot): void {
    const mem = process.memoryUsage();
    out.heapUsedBytes = mem.heapUsed;
    out.heapTotalBytes = mem.heapTotal;
    out.externalMemoryBytes = mem.external;
    const p = process as unknown as ProcessInternals;
    out.activeHandles = p._getActiveHandles?.().length ?? 0;
    out.activeRequests = p._getActiveRequests?.().length ?? 0;
    out.activeResources = process.getActiveResourcesInfo().length;
    for (const s of getHeapSpaceStatistics()) {
      out[spaceKey(s.space_name, 'total')] = s.space_size;
      out[spaceKey(s.space_name, 'used')] = s.space_used_size;
      out[spaceKey(s.space_name, 'available')] = s.space_available_size;
    }
    for (let k = 0; k < GC_KINDS.length; k++) {
      const base = k * (GC_BUCKETS.length + 3);
      const kind = GC_KINDS[k][1];
      for (let i = 0; i <= GC_BUCKETS.length; i++) out[gcKey(kind, `bucket.${i}`)] = this.gc[base + i];
      out[gcKey(kind, 'sum')] = this.gc[base + GC_BUCKETS.length + 1];
      out[gcKey(kind, 'count')] = this.gc[base + GC_BUCKETS.length + 2];
    }
  }
}

function gcKind(e: PerformanceEntry): number {
  // `detail.kind` since Node 16; the entry's own `kind` before (deprecated).
  const entry = e as unknown as { detail?: { kind?: number } | null; kind?: number };
  return entry.detail?.kind ?? entry.kind ?? -1;
}

/** Every key snapshotInto writes, in a fixed order (the board's layout depends on it). */
export const RUNTIME_KEYS: readonly string[] = Object.freeze(
  (() => {
    const out: Snapshot = {};
    new RuntimeStats().snapshotInto(out);
    return Object.keys(out);
  })(),
);

/** The per-thread series of a merged snapshot (sums over threads). */
export function renderRuntime(s: Snapshot): string {
  let out = single(RUNTIME.heapTotal, s.heapTotalBytes);
  out += single(RUNTIME.heapUsed, s.heapUsedBytes);
  out += single(RUNTIME.external, s.externalMemoryBytes);
  out += single(RUNTIME.activeHandles, s.activeHandles);
  out += single(RUNTIME.activeRequests, s.activeRequests);
  out += single(RUNTIME.activeResources, s.activeResources);
  for (const [what, def] of [
    ['total', RUNTIME.heapSpaceTotal],
    ['used', RUNTIME.heapSpaceUsed],
    ['available', RUNTIME.heapSpaceAvailable],
  ] as const) {
    out += header(def);
    for (const space of HEAP_SPACES) {
      out += `${def.name}{space="${space.replace(/_space$/, '')}"} ${num(s[spaceKey(space, what)])}\n`;
    }
  }
  out += header(RUNTIME.gc);
  for (const [, kind] of GC_KINDS) out += histogramSamples(RUNTIME.gc, s, `gc.${kind}`, `kind="${kind}"`);
  return out;
}
