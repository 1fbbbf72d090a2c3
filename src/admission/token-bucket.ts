// Token bucket per client key (docs/contract.md §4): burst = maxRequests, refilled at
// maxRequests per windowMs, lazily when the key is seen again, so there are no
// timers. State lives in parallel typed arrays indexed by a slot number; the
// Map holds key -> slot only. Memory is bounded by maxKeys: when every slot is
// taken, a CLOCK hand picks the slot to reuse, preferring a bucket that has
// refilled anyway (forgetting it loses nothing) or one not used since the hand
// last passed. CLOCK rather than a Map-ordered LRU because a hit then costs one
// Map lookup and a byte store instead of a delete and a re-insert.

export interface RateLimiterOptions {
  readonly windowMs: number;
  readonly maxRequests: number;
  readonly maxKeys: number;
  /** Milliseconds from any fixed point; defaults to performance.now (monotonic). */
  readonly now?: () => number;
}

/** Slots the hand looks at before it takes one regardless: keeps eviction O(1). */
const EVICT_PROBES = 8;
const INITIAL_SLOTS = 1024;
/**
 * Float slack: refill is elapsed x (max/window), which is not exact in binary
 * (5/60000 per ms x 12000 ms = 0.99999...). Without it a token due at a whole
 * millisecond arrives one call late and Retry-After rounds up a second too far.
 */
const EPSILON = 1e-9;

export class RateLimiter {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly slots = new Map<string, number>();
  private keys: string[] = [];
  private tokens: Float64Array;
  private stamps: Float64Array;
  /** CLOCK reference bits: 1 = used since the hand last passed. */
  private used: Uint8Array;
  private hand = 0;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.windowMs > 0) || !(opts.maxRequests >= 1) || !(opts.maxKeys >= 1)) {
      throw new RangeError('RateLimiter: windowMs > 0, maxRequests >= 1 and maxKeys >= 1 are required');
    }
    this.burst = opts.maxRequests;
    this.perMs = opts.maxRequests / opts.windowMs;
    this.maxKeys = Math.floor(opts.maxKeys);
    this.now = opts.now ?? performance.now.bind(performance);
    // Arrays grow by doubling up to maxKeys, so a large RATE_LIMIT_MAX_KEYS costs nothing until used.
    const initial = Math.min(this.maxKeys, INITIAL_SLOTS);
    this.tokens = new Float64Array(initial);
    this.stamps = new Float64Array(initial);
    this.used = new Uint8Array(initial);
  }

  /** Keys currently tracked (never more than maxKeys). */
  get size(): number {
    return this.slots.size;
  }

  /**
   * Spend one token for key: 0 when allowed, else whole seconds (>= 1) until a
   * token is back. `scale` multiplies burst and refill, for aggregate keys (an
   * IPv6 /48 gets several times one /64's allowance); a key is always taken
   * with the same scale.
   */
  take(key: string, scale = 1): number {
    const now = this.now();
    const i = this.slots.get(key);
    if (i === undefined) return this.admitNew(key, now, scale);
    const perMs = this.perMs * scale;
    const t = this.refilled(i, now, scale);
    this.stamps[i] = now;
    this.used[i] = 1;
    if (t >= 1 - EPSILON) {
      this.tokens[i] = t - 1;
      return 0;
    }
    this.tokens[i] = t;
    const seconds = Math.ceil((1 - t) / perMs / 1000 - EPSILON * 1000);
    return seconds > 1 ? seconds : 1;
  }

  /** What take() would answer, without spending or tracking anything. */
  peek(key: string, scale = 1): number {
    const i = this.slots.get(key);
    if (i === undefined) return 0;
    const t = this.refilled(i, this.now(), scale);
    if (t >= 1 - EPSILON) return 0;
    const seconds = Math.ceil((1 - t) / (this.perMs * scale) / 1000 - EPSILON * 1000);
    return seconds > 1 ? seconds : 1;
  }

  private refilled(i: number, now: number, scale: number): number {
    let t = this.tokens[i];
    const elapsed = now - this.stamps[i];
    if (elapsed > 0) {
      t += elapsed * this.perMs * scale;
      if (t > this.burst * scale) t = this.burst * scale;
    }
    return t;
  }

  private admitNew(key: string, now: number, scale: number): number {
    let i: number;
    if (this.keys.length < this.maxKeys) {
      i = this.keys.length;
      if (i === this.tokens.length) this.grow();
      this.keys.push(key);
    } else {
      i = this.victim(now);
      this.slots.delete(this.keys[i]);
      this.keys[i] = key;
    }
    this.slots.set(key, i);
    this.tokens[i] = this.burst * scale - 1;
    this.stamps[i] = now;
    // A new key starts unreferenced: a flood of one-shot addresses recycles
    // its own slots and leaves keys that come back alone.
    this.used[i] = 0;
    return 0;
  }

  private victim(now: number): number {
    const n = this.keys.length;
    let i = this.hand;
    for (let probe = 0; probe < EVICT_PROBES; probe++) {
      i = this.hand;
      this.hand = i + 1 === n ? 0 : i + 1;
      // An aggregate (scaled) bucket counts as refilled once it holds one key's
      // burst: forgetting it a little early only ever errs toward admitting.
      if (this.used[i] === 0 || this.tokens[i] + (now - this.stamps[i]) * this.perMs >= this.burst - EPSILON) return i;
      this.used[i] = 0;
    }
    return i;
  }

  private grow(): void {
    const size = Math.min(this.maxKeys, this.tokens.length * 2);
    const tokens = new Float64Array(size);
    const stamps = new Float64Array(size);
    const used = new Uint8Array(size);
    tokens.set(this.tokens);
    stamps.set(this.stamps);
    used.set(this.used);
    this.tokens = tokens;
    this.stamps = stamps;
    this.used = used;
  }
}
