// A set-associative table over one SharedArrayBuffer, for per-client state
// that every worker thread must see (docs/operations.md: Scaling across cores): the shared token buckets and
// the shared per-IP connection counts. Each key's 128-bit keyed tag (see
// seeded-hash.ts) picks a set of WAYS slots; the slot holding that exact tag is
// the key's, so two different keys never share state. When a set is full the
// owner (rate limiter or counter) chooses what to evict or refuses; nothing is
// ever merged. A spin lock per set guards a few loads and stores.
//
// Layout: header (hash key, set count, 4 spare Int32 cells for the owner),
// then per slot two Float64 values whose meaning the owner picks and a
// 4 x Int32 tag, then one Int32 lock per set.
import { HASH_KEY_BYTES, keyedTag, newHashKey } from './seeded-hash';

/** Slots per set: a key has this many places; 16 makes a full set rare at any real load. */
export const WAYS = 16;
const HEADER_BYTES = 64; // hash key (32), set count (4), padding, spare cells (48..63)
const SPARE_OFFSET = 48;
const SLOT_BYTES = 16 + 8 + 8;
const MIN_SETS = 64;
const MAX_SETS = 1 << 18; // 4M slots, 128 MiB at most

export class KeyedTable {
  readonly sets: number;
  /** Owner-defined values per slot (e.g. tokens and last-use stamp). */
  readonly a: Float64Array;
  readonly b: Float64Array;
  /** Four Int32 cells the owner may use (the connection counter keeps its global count in [0]). */
  readonly spare: Int32Array;
  private readonly key: Uint8Array;
  private readonly setMask: number;
  private readonly locks: Int32Array;
  private readonly tags: Int32Array;
  /** The tag of the key being looked up (tables are used synchronously, one call at a time). */
  private readonly tag = new Int32Array(4);

  /** A table with room for at least `slots` keys (rounded up to a power of two sets). */
  static createShared(slots: number): SharedArrayBuffer {
    let sets = MIN_SETS;
    while (sets * WAYS < slots && sets < MAX_SETS) sets *= 2;
    const sab = new SharedArrayBuffer(HEADER_BYTES + sets * 4 + sets * WAYS * SLOT_BYTES);
    newHashKey(new Uint8Array(sab, 0, HASH_KEY_BYTES));
    new Int32Array(sab, HASH_KEY_BYTES, 1)[0] = sets;
    return sab;
  }

  constructor(shared: SharedArrayBuffer) {
    const sets = new Int32Array(shared, HASH_KEY_BYTES, 1)[0];
    if (
      !(sets >= MIN_SETS) ||
      (sets & (sets - 1)) !== 0 ||
      shared.byteLength !== HEADER_BYTES + sets * 4 + sets * WAYS * SLOT_BYTES
    ) {
      throw new RangeError('KeyedTable: shared must come from KeyedTable.createShared()');
    }
    const slots = sets * WAYS;
    this.sets = sets;
    this.setMask = sets - 1;
    this.key = new Uint8Array(shared, 0, HASH_KEY_BYTES);
    this.spare = new Int32Array(shared, SPARE_OFFSET, 4);
    // Float64 views first so they stay 8-byte aligned.
    this.a = new Float64Array(shared, HEADER_BYTES, slots);
    this.b = new Float64Array(shared, HEADER_BYTES + slots * 8, slots);
    this.tags = new Int32Array(shared, HEADER_BYTES + slots * 16, slots * 4);
    this.locks = new Int32Array(shared, HEADER_BYTES + slots * 32, sets);
  }

  /** The set `key` belongs to (tests and diagnostics: it is what an attacker holding the hash key could compute). */
  setOf(key: string): number {
    keyedTag(this.key, key, this.tag);
    return (this.tag[0] >>> 0) & this.setMask;
  }

  /** Hash `key`, lock its set and return the set's first slot. Pair with unlock(). */
  lock(key: string): number {
    keyedTag(this.key, key, this.tag);
    const set = (this.tag[0] >>> 0) & this.setMask;
    while (Atomics.compareExchange(this.locks, set, 0, 1) !== 0); // held for a few loads and stores
    return set * WAYS;
  }

  unlock(first: number): void {
    Atomics.store(this.locks, first / WAYS, 0);
  }

  /** In the locked set starting at `first`: the slot holding the key's tag, else -1. */
  find(first: number): number {
    const tags = this.tags;
    const t = this.tag;
    for (let i = first; i < first + WAYS; i++) {
      const o = i * 4;
      if (tags[o] === t[0] && tags[o + 1] === t[1] && tags[o + 2] === t[2] && tags[o + 3] === t[3]) return i;
    }
    return -1;
  }

  /** An empty slot in the locked set, else -1. */
  empty(first: number): number {
    for (let i = first; i < first + WAYS; i++) if (this.tags[i * 4 + 3] === 0) return i;
    return -1;
  }

  /** Give slot i to the key last passed to lock(). */
  claim(i: number): void {
    const o = i * 4;
    this.tags[o] = this.tag[0];
    this.tags[o + 1] = this.tag[1];
    this.tags[o + 2] = this.tag[2];
    this.tags[o + 3] = this.tag[3];
  }

  /** Empty slot i. */
  clear(i: number): void {
    this.tags.fill(0, i * 4, i * 4 + 4);
    this.a[i] = 0;
    this.b[i] = 0;
  }

  /** Slots in use (a scan: for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (let i = 3; i < this.tags.length; i += 4) if (this.tags[i] !== 0) n++;
    return n;
  }
}
