// The token bucket of token-bucket.ts, shared by every worker thread so a
// client's allowance does not multiply by WORKERS (docs/operations.md: Scaling across cores). Buckets live in a
// KeyedTable: each key's bucket is found by its full 128-bit keyed tag, so two
// clients never share a bucket, whatever they send and even with the hash key
// in hand (the old 31-bit-seeded slot index let an attacker who
// recovered the seed lock out a chosen victim). A full set evicts its least
// recently used bucket; the evicted client later starts with a full bucket,
// which only ever errs toward letting a real client in.
import { KeyedTable, WAYS } from './keyed-table';

export interface SharedRateLimiterOptions {
  readonly windowMs: number;
  readonly maxRequests: number;
  /** From SharedRateLimiter.createShared(), the same buffer in every worker. */
  readonly shared: SharedArrayBuffer;
  /** Absolute milliseconds, the same clock in every thread. */
  readonly now?: () => number;
}

const EPSILON = 1e-9;

/** performance.now() is per thread (its own timeOrigin); this is comparable across threads. */
function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

export class SharedRateLimiter {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly table: KeyedTable;

  /** Room for at least maxKeys buckets (32 bytes each, rounded up to whole sets). */
  static createShared(maxKeys: number): SharedArrayBuffer {
    return KeyedTable.createShared(maxKeys);
  }

  constructor(opts: SharedRateLimiterOptions) {
    if (!(opts.windowMs > 0) || !(opts.maxRequests >= 1)) {
      throw new RangeError('SharedRateLimiter: windowMs > 0 and maxRequests >= 1 are required');
    }
    this.burst = opts.maxRequests;
    this.perMs = opts.maxRequests / opts.windowMs;
    this.now = opts.now ?? absoluteNow;
    this.table = new KeyedTable(opts.shared);
  }

  /** Keys with a bucket (a scan: for tests and diagnostics, not the hot path). */
  get size(): number {
    return this.table.size;
  }

  /**
   * Spend one token for key: 0 when allowed, else whole seconds (>= 1) until a
   * token is back. `scale` multiplies burst and refill (aggregate keys, e.g. an
   * IPv6 /48, get several times one address's allowance).
   */
  take(key: string, scale = 1): number {
    const table = this.table;
    const tokens = table.a;
    const stamps = table.b;
    const burst = this.burst * scale;
    const perMs = this.perMs * scale;
    const first = table.lock(key);
    const now = this.now();
    let i = table.find(first);
    let t: number;
    if (i < 0) {
      i = table.empty(first);
      if (i < 0) i = leastRecent(stamps, first);
      table.claim(i);
      t = burst;
    } else {
      t = tokens[i] + (now - stamps[i]) * perMs;
      if (t > burst) t = burst;
    }
    stamps[i] = now;
    let wait = 0;
    if (t >= 1 - EPSILON) {
      t -= 1;
    } else {
      const seconds = Math.ceil((1 - t) / perMs / 1000 - EPSILON * 1000);
      wait = seconds > 1 ? seconds : 1;
    }
    tokens[i] = t;
    table.unlock(first);
    return wait;
  }

  /** What take() would answer, without spending or tracking anything. */
  peek(key: string, scale = 1): number {
    const table = this.table;
    const first = table.lock(key);
    const i = table.find(first);
    let t = this.burst * scale;
    if (i >= 0) {
      const refilled = table.a[i] + (this.now() - table.b[i]) * this.perMs * scale;
      if (refilled < t) t = refilled;
    }
    table.unlock(first);
    if (t >= 1 - EPSILON) return 0;
    const seconds = Math.ceil((1 - t) / (this.perMs * scale) / 1000 - EPSILON * 1000);
    return seconds > 1 ? seconds : 1;
  }
}

function leastRecent(stamps: Float64Array, first: number): number {
  let best = first;
  for (let i = first + 1; i < first + WAYS; i++) if (stamps[i] < stamps[best]) best = i;
  return best;
}
