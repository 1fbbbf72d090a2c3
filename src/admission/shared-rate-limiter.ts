// The token bucket of token-bucket.ts, shared by every worker thread so a
// client's allowance does not multiply by WORKERS (README: Scaling across cores). The table lives
// in one SharedArrayBuffer; a key is hashed (seeded, so a client cannot aim at
// another's slot) to one slot, and each slot has a tiny spin lock because the
// (tokens, stamp) pair must change together, which one Atomics op cannot do.
//
// Tolerance: exact per key, except that two keys hashing to the same slot
// while both are active share one bucket, which is only ever stricter. A slot
// whose bucket has refilled is taken over by a new key (it forgets nothing).
import { randomInt } from 'node:crypto';
import { seededHash } from './seeded-hash';

export interface SharedRateLimiterOptions {
  readonly windowMs: number;
  readonly maxRequests: number;
  /** From SharedRateLimiter.createShared(), the same buffer in every worker. */
  readonly shared: SharedArrayBuffer;
  /** Absolute milliseconds, the same clock in every thread. */
  readonly now?: () => number;
}

const HEADER_BYTES = 16; // Int32: seed, slot count, 2 spare
const MIN_SLOTS = 1 << 10;
const MAX_SLOTS = 1 << 22;
const EPSILON = 1e-9;

/** performance.now() is per thread (its own timeOrigin); this is comparable across threads. */
function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

export class SharedRateLimiter {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly seed: number;
  private readonly mask: number;
  private readonly locks: Int32Array;
  private readonly tags: Int32Array;
  private readonly tokens: Float64Array;
  private readonly stamps: Float64Array;

  /** One slot per tracked key, rounded up to a power of two (24 bytes a slot). */
  static createShared(maxKeys: number): SharedArrayBuffer {
    let slots = MIN_SLOTS;
    while (slots < maxKeys && slots < MAX_SLOTS) slots *= 2;
    const sab = new SharedArrayBuffer(HEADER_BYTES + slots * 24);
    const head = new Int32Array(sab, 0, 4);
    head[0] = randomInt(0x7fffffff);
    head[1] = slots;
    return sab;
  }

  constructor(opts: SharedRateLimiterOptions) {
    if (!(opts.windowMs > 0) || !(opts.maxRequests >= 1)) {
      throw new RangeError('SharedRateLimiter: windowMs > 0 and maxRequests >= 1 are required');
    }
    const head = new Int32Array(opts.shared, 0, 4);
    const slots = head[1];
    this.seed = head[0];
    this.mask = slots - 1;
    this.burst = opts.maxRequests;
    this.perMs = opts.maxRequests / opts.windowMs;
    this.now = opts.now ?? absoluteNow;
    // Float64 arrays first so they stay 8-byte aligned after the 16-byte header.
    this.tokens = new Float64Array(opts.shared, HEADER_BYTES, slots);
    this.stamps = new Float64Array(opts.shared, HEADER_BYTES + slots * 8, slots);
    this.tags = new Int32Array(opts.shared, HEADER_BYTES + slots * 16, slots);
    this.locks = new Int32Array(opts.shared, HEADER_BYTES + slots * 20, slots);
  }

  /** Keys with a live bucket (a scan: for tests and diagnostics, not the hot path). */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.tags.length; i++) if (Atomics.load(this.tags, i) !== 0) n++;
    return n;
  }

  /** Spend one token for key: 0 when allowed, else whole seconds (>= 1) until a token is back. */
  take(key: string): number {
    const h = seededHash(key, this.seed);
    const i = h & this.mask;
    const tag = h | 1;
    const locks = this.locks;
    while (Atomics.compareExchange(locks, i, 0, 1) !== 0); // held for a few arithmetic ops
    const now = this.now();
    let t = this.tokens[i];
    const elapsed = now - this.stamps[i];
    if (elapsed > 0) {
      t += elapsed * this.perMs;
      if (t > this.burst) t = this.burst;
    }
    if (this.tags[i] !== tag && (this.tags[i] === 0 || t >= this.burst)) {
      // Empty, or a full bucket of another key: nothing to remember, take it.
      Atomics.store(this.tags, i, tag);
      t = this.burst;
    }
    this.stamps[i] = now;
    let wait = 0;
    if (t >= 1 - EPSILON) {
      t -= 1;
    } else {
      const seconds = Math.ceil((1 - t) / this.perMs / 1000 - EPSILON * 1000);
      wait = seconds > 1 ? seconds : 1;
    }
    this.tokens[i] = t;
    Atomics.store(locks, i, 0);
    return wait;
  }
}
