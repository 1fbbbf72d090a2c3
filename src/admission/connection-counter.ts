// Live connection counts (docs/contract.md §4, §5): a global cap shared by every worker
// thread, lock-free, and a per-IP cap (plus, for IPv6, caps on wider prefixes).
//
// The global count is an Int32 cell in a SharedArrayBuffer. An acquire is a
// compare-exchange loop that only ever moves it from n < limit to n + 1, so
// concurrent workers can never push it past the cap (an add-then-undo would
// overshoot for a moment and refuse a third worker that should pass).
//
// Per-key counts: with one thread (no `shared` given) they are an exact Map.
// With workers they live in a KeyedTable (keyed-table.ts): each key's count is
// found by its full 128-bit keyed tag, so two clients never share a count
// (the old hashed slot index let colliding clients share a cap). A
// count that drops to zero frees its slot. The table has 8 slots per key that
// can be live at once, so a full set (16 live keys where 2 are expected) does
// not happen by chance; if it ever did, the connection is refused as capacity,
// never counted against someone else.
import { KeyedTable } from './keyed-table';

export type AcquireResult = 'ok' | 'global' | 'ip';

export interface ConnectionCounterOptions {
  /** MAX_CONNECTIONS: across every thread that shares `shared`. */
  readonly max: number;
  /** MAX_CONNECTIONS_PER_IP; 0 = no per-IP cap. */
  readonly maxPerIp: number;
  /** From createShared(), the same buffer in every worker; omit with one thread. */
  readonly shared?: SharedArrayBuffer;
}

/** Keys a connection can hold at once: its address and (default) three wider IPv6 prefixes. */
const KEYS_PER_CONNECTION = 4;
const SLOTS_PER_KEY = 8;

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
  /** [0]: the global count. */
  private readonly cells: Int32Array;
  private readonly max: number;
  private readonly maxPerIp: number;
  /** Exact per-key counts, used when the counter is not shared. */
  private readonly local: Map<string, number> | null;
  private readonly table: KeyedTable | null;

  /** The buffer to hand to every worker (workerData), sized from MAX_CONNECTIONS. */
  static createShared(maxConnections = 0): SharedArrayBuffer {
    return KeyedTable.createShared(Math.max(1024, maxConnections * KEYS_PER_CONNECTION * SLOTS_PER_KEY));
  }

  constructor(opts: ConnectionCounterOptions) {
    if (!(opts.max >= 1) || !(opts.maxPerIp >= 0)) {
      throw new RangeError('ConnectionCounter: max >= 1 and maxPerIp >= 0 are required');
    }
    this.max = opts.max;
    this.maxPerIp = opts.maxPerIp;
    if (opts.shared === undefined) {
      this.table = null;
      this.local = opts.maxPerIp > 0 ? new Map() : null;
      this.cells = new Int32Array(new SharedArrayBuffer(16));
    } else {
      this.table = new KeyedTable(opts.shared);
      this.local = null;
      this.cells = this.table.spare;
    }
  }

  /** Connections open now, across every thread sharing the buffer. */
  get active(): number {
    return Atomics.load(this.cells, 0);
  }

  /**
   * Take a slot for a new connection from ipKey (use rateKey(ip)). On 'ok' the
   * caller owns one slot and must release(ipKey) exactly once.
   */
  tryAcquire(ipKey: string): AcquireResult {
    const cells = this.cells;
    // Cheap read first so a full server answers 'global' without touching per-IP state.
    if (Atomics.load(cells, 0) >= this.max) return 'global';
    if (this.maxPerIp === 0) return incrementBelow(cells, 0, this.max) ? 'ok' : 'global';
    const got = this.acquireKey(ipKey, this.maxPerIp);
    if (got !== 'ok') return got;
    if (!incrementBelow(cells, 0, this.max)) {
      this.releaseKey(ipKey);
      return 'global';
    }
    return 'ok';
  }

  /** Give back a slot taken by tryAcquire. Never drives a count below zero. */
  release(ipKey: string): void {
    decrementAboveZero(this.cells, 0);
    if (this.maxPerIp > 0) this.releaseKey(ipKey);
  }

  /**
   * Count one more connection against `key` unless it holds `limit` already
   * ('ip'), or the shared table has no room for it ('global'). For keys beyond
   * the client's own (an IPv6 /48); pair with releaseKey().
   */
  acquireKey(key: string, limit: number): AcquireResult {
    if (this.local !== null) {
      const n = this.local.get(key) ?? 0;
      if (n >= limit) return 'ip';
      this.local.set(key, n + 1);
      return 'ok';
    }
    const table = this.table;
    if (table === null) return 'ok';
    const counts = table.a;
    const first = table.lock(key);
    let i = table.find(first);
    let result: AcquireResult = 'ok';
    if (i < 0) {
      i = table.empty(first);
      if (i < 0) result = 'global';
      else table.claim(i);
    }
    if (result === 'ok') {
      if (counts[i] >= limit) result = 'ip';
      else counts[i]++;
    }
    table.unlock(first);
    return result;
  }

  /** Give back one connection counted by acquireKey(). Never below zero. */
  releaseKey(key: string): void {
    if (this.local !== null) {
      const n = this.local.get(key);
      if (n === undefined) return;
      if (n > 1) this.local.set(key, n - 1);
      else this.local.delete(key);
      return;
    }
    const table = this.table;
    if (table === null) return;
    const first = table.lock(key);
    const i = table.find(first);
    if (i >= 0) {
      if (table.a[i] > 1) table.a[i]--;
      else table.clear(i);
    }
    table.unlock(first);
  }

  /**
   * Give back n global slots at once: the slots of a worker thread that died
   * with its sessions. (Its per-IP shares cannot be attributed and stay until
   * restart; that only ever makes one address's cap stricter.)
   */
  forfeit(n: number): void {
    for (let i = 0; i < n; i++) decrementAboveZero(this.cells, 0);
  }

  /** Connections counted against key. */
  activeFor(key: string): number {
    if (this.local !== null) return this.local.get(key) ?? 0;
    const table = this.table;
    if (table === null) return 0;
    const first = table.lock(key);
    const i = table.find(first);
    const n = i < 0 ? 0 : table.a[i];
    table.unlock(first);
    return n;
  }
}
