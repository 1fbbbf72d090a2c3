// Live connection counts (docs/contract.md §4, §5): a global cap shared by every worker
// thread, lock-free, and an optional per-IP cap.
//
// The counts live in an Int32Array over a SharedArrayBuffer. An acquire is a
// compare-exchange loop that only ever moves a count from n < limit to n + 1,
// so concurrent workers can never push it past the cap (an add-then-undo
// would overshoot for a moment and refuse a third worker that should pass).
//
// Per-IP counts: with one thread (no `shared` given) they are an exact Map.
// With workers they must be shared too, or the cap would be per worker and a
// client could hold WORKERS x the cap. A shared hash table of strings cannot
// be updated lock-free with Atomics, so each key is hashed (seeded, so a client
// cannot aim at another's slot) to one of many counters. Two keys that share a
// counter share a cap: the cap can only get stricter, never looser. With
// 64 counters per allowed connection, a colliding pair at full load is rare, and
// a refusal needs the pair together to reach the cap.
import { randomInt } from 'node:crypto';
import { seededHash } from './seeded-hash';

export type AcquireResult = 'ok' | 'global' | 'ip';

export interface ConnectionCounterOptions {
  /** MAX_CONNECTIONS: across every thread that shares `shared`. */
  readonly max: number;
  /** MAX_CONNECTIONS_PER_IP; 0 = no per-IP cap. */
  readonly maxPerIp: number;
  /** From createShared(), the same buffer in every worker; omit with one thread. */
  readonly shared?: SharedArrayBuffer;
}

// Int32 cells: [0] global count, [1] hash seed, [2] slot count (a power of two), [3] spare, then slots.
const GLOBAL = 0;
const SEED = 1;
const SLOTS = 2;
const HEADER = 4;
const MIN_SLOTS = 1 << 16;
const MAX_SLOTS = 1 << 22; // 16 MiB

/** Increment cell i unless it is already >= limit. */
function incrementBelow(cells: Int32Array, i: number, limit: number): boolean {
  for (;;) {
    const cur = Atomics.load(cells, i);
    if (cur >= limit) return false;
    if (Atomics.compareExchange(cells, i, cur, cur + 1) === cur) return true;
  }
}

/** Decrement cell i unless it is already <= 0. */
function decrementAboveZero(cells: Int32Array, i: number): void {
  for (;;) {
    const cur = Atomics.load(cells, i);
    if (cur <= 0) return;
    if (Atomics.compareExchange(cells, i, cur, cur - 1) === cur) return;
  }
}

export class ConnectionCounter {
  private readonly cells: Int32Array;
  private readonly max: number;
  private readonly maxPerIp: number;
  /** Exact per-IP counts, used when the counter is not shared. */
  private readonly local: Map<string, number> | null;
  private readonly seed: number;
  private readonly slotMask: number;

  /**
   * The buffer to hand to every worker (workerData). Size the per-IP slots
   * from MAX_CONNECTIONS: 64 per connection, at least 65536, at most 4M.
   */
  static createShared(maxConnections = 0): SharedArrayBuffer {
    let slots = MIN_SLOTS;
    while (slots < maxConnections * 64 && slots < MAX_SLOTS) slots *= 2;
    const sab = new SharedArrayBuffer((HEADER + slots) * Int32Array.BYTES_PER_ELEMENT);
    const cells = new Int32Array(sab);
    cells[SEED] = randomInt(0x7fffffff);
    cells[SLOTS] = slots;
    return sab;
  }

  constructor(opts: ConnectionCounterOptions) {
    if (!(opts.max >= 1) || !(opts.maxPerIp >= 0)) {
      throw new RangeError('ConnectionCounter: max >= 1 and maxPerIp >= 0 are required');
    }
    this.max = opts.max;
    this.maxPerIp = opts.maxPerIp;
    this.local = opts.shared === undefined && opts.maxPerIp > 0 ? new Map() : null;
    this.cells = new Int32Array(opts.shared ?? new SharedArrayBuffer(HEADER * Int32Array.BYTES_PER_ELEMENT));
    const slots = this.cells.length > HEADER ? this.cells[SLOTS] : 0;
    if (opts.shared !== undefined && (slots < 1 || (slots & (slots - 1)) !== 0 || this.cells.length !== HEADER + slots)) {
      throw new RangeError('ConnectionCounter: shared must come from ConnectionCounter.createShared()');
    }
    this.seed = this.cells[SEED];
    this.slotMask = slots - 1;
  }

  /** Connections open now, across every thread sharing the buffer. */
  get active(): number {
    return Atomics.load(this.cells, GLOBAL);
  }

  /**
   * Take a slot for a new connection from ipKey (use rateKey(ip)). On 'ok' the
   * caller owns one slot and must release(ipKey) exactly once.
   */
  tryAcquire(ipKey: string): AcquireResult {
    const cells = this.cells;
    // Cheap read first so a full server answers 'global' without touching per-IP state.
    if (Atomics.load(cells, GLOBAL) >= this.max) return 'global';
    if (this.maxPerIp > 0) {
      if (this.local !== null) {
        const n = this.local.get(ipKey) ?? 0;
        if (n >= this.maxPerIp) return 'ip';
        if (!incrementBelow(cells, GLOBAL, this.max)) return 'global';
        this.local.set(ipKey, n + 1);
        return 'ok';
      }
      const slot = this.slotOf(ipKey);
      if (!incrementBelow(cells, slot, this.maxPerIp)) return 'ip';
      if (!incrementBelow(cells, GLOBAL, this.max)) {
        decrementAboveZero(cells, slot);
        return 'global';
      }
      return 'ok';
    }
    return incrementBelow(cells, GLOBAL, this.max) ? 'ok' : 'global';
  }

  /** Give back a slot taken by tryAcquire. Never drives a count below zero. */
  release(ipKey: string): void {
    decrementAboveZero(this.cells, GLOBAL);
    if (this.maxPerIp === 0) return;
    if (this.local !== null) {
      const n = this.local.get(ipKey);
      if (n === undefined) return;
      if (n > 1) this.local.set(ipKey, n - 1);
      else this.local.delete(ipKey);
      return;
    }
    decrementAboveZero(this.cells, this.slotOf(ipKey));
  }

  /**
   * Give back n global slots at once: the slots of a worker thread that died
   * with its sessions. (Its per-IP shares cannot be attributed and stay until
   * restart; that only ever makes the per-IP cap stricter.)
   */
  forfeit(n: number): void {
    for (let i = 0; i < n; i++) decrementAboveZero(this.cells, GLOBAL);
  }

  /** Connections counted against ipKey's cap (shared mode: includes keys hashed to the same slot). */
  activeFor(ipKey: string): number {
    if (this.maxPerIp === 0) return 0;
    if (this.local !== null) return this.local.get(ipKey) ?? 0;
    return Atomics.load(this.cells, this.slotOf(ipKey));
  }

  private slotOf(key: string): number {
    return HEADER + (seededHash(key, this.seed) & this.slotMask);
  }
}
