// Metrics of every worker thread, readable by whichever thread serves
// /metrics: each worker publishes its snapshot into its own row of one
// SharedArrayBuffer (on a 1 s timer and just before rendering), the renderer
// sums the rows. Counters stay plain fields on the hot path; only this
// once-a-second copy crosses threads.
import { Metrics, type MetricsSnapshot } from './metrics';
import { RUNTIME_KEYS, isLiveKey } from './runtime-stats';

/** Every snapshot has the same keys in the same order (fields and buckets are fixed). */
const KEYS: readonly string[] = Object.freeze(Object.keys(new Metrics().snapshot()));
/** Keys that describe a live thread, not a running total: a retired row drops them. */
const LIVE_KEYS = new Set(
  KEYS.filter((k) => k.startsWith('eventLoopLag') || (RUNTIME_KEYS.includes(k) && isLiveKey(k))),
);

export class MetricsBoard {
  private readonly cells: Float64Array;
  private readonly rows: number;

  /** One row per worker plus one for the totals of workers that died. */
  static createShared(workers: number): SharedArrayBuffer {
    return new SharedArrayBuffer((workers + 1) * KEYS.length * Float64Array.BYTES_PER_ELEMENT);
  }

  constructor(shared: SharedArrayBuffer) {
    this.cells = new Float64Array(shared);
    this.rows = this.cells.length / KEYS.length;
  }

  publish(row: number, snap: MetricsSnapshot): void {
    const base = row * KEYS.length;
    for (let k = 0; k < KEYS.length; k++) this.cells[base + k] = snap[KEYS[k]] ?? 0;
  }

  collect(): MetricsSnapshot[] {
    const out: MetricsSnapshot[] = [];
    for (let r = 0; r < this.rows; r++) {
      const snap: MetricsSnapshot = {};
      const base = r * KEYS.length;
      for (let k = 0; k < KEYS.length; k++) snap[KEYS[k]] = this.cells[base + k];
      out.push(snap);
    }
    return out;
  }

  /**
   * A worker died: fold its counters into the retired row, so totals never go
   * backwards when its replacement starts from zero in the same row.
   */
  retire(row: number): void {
    const base = row * KEYS.length;
    const retired = (this.rows - 1) * KEYS.length;
    for (let k = 0; k < KEYS.length; k++) {
      if (!LIVE_KEYS.has(KEYS[k])) this.cells[retired + k] += this.cells[base + k];
      this.cells[base + k] = 0;
    }
  }
}
