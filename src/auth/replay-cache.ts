// Single-use tickets (docs/contract.md §4): every `jti` seen is remembered until its
// ticket expires, in a fixed-size table over a SharedArrayBuffer, so the
// memory bound never moves and every worker thread sees the same table (a
// ticket replayed to another thread of the same process is caught too).
//
// Each slot is one 64-bit word, updated with a single compare-exchange:
// a 32-bit fingerprint of the jti (high half) and its expiry in Unix seconds
// (low half). A slot whose expiry has passed is free again, so nothing is ever
// swept. A claim probes a short window from the jti's home slot; if every slot
// there is live the table is full and the claim fails closed ('full').
//
// Two threads claiming the same jti at the same instant could each take a
// different free slot; so after taking one, a claim scans the window again and
// reports 'replayed' if another live slot holds the same fingerprint. In that
// race both are refused, which is the safe outcome. Across replicas the table
// is per process: see docs/security.md (Caller authentication).
import { randomInt } from 'node:crypto';
import { createHmac } from 'node:crypto';

export type ClaimResult = 'fresh' | 'replayed' | 'full';

// BigUint64 cells: [0] seeds (two 32-bit halves), [1] slot count (a power of two), then slots.
const HEADER = 2;
const WINDOW = 32;
const LOW = 0xffffffffn;

export class ReplayCache {
  private readonly cells: BigUint64Array;
  private readonly mask: number;
  private readonly key: Buffer;

  /** 8 bytes a slot; 2^18 slots (2 MiB) hold 870 tickets a second at a 300 s lifetime at half load. */
  static createShared(slots = 1 << 18): SharedArrayBuffer {
    if (slots < WINDOW || (slots & (slots - 1)) !== 0)
      throw new RangeError('ReplayCache: slots must be a power of two >= 32');
    const sab = new SharedArrayBuffer((HEADER + slots) * BigUint64Array.BYTES_PER_ELEMENT);
    const cells = new BigUint64Array(sab);
    cells[0] = (BigInt(randomInt(0x7fffffff)) << 32n) | BigInt(randomInt(0x7fffffff));
    cells[1] = BigInt(slots);
    return sab;
  }

  constructor(shared: SharedArrayBuffer = ReplayCache.createShared()) {
    this.cells = new BigUint64Array(shared);
    const slots = Number(this.cells[1]);
    if (this.cells.length !== HEADER + slots)
      throw new RangeError('ReplayCache: shared must come from ReplayCache.createShared()');
    this.mask = slots - 1;
    // The seeds in cell 0 key an HMAC (as the admission tables do): a ticket
    // holder who could predict slots could crowd one jti's window.
    this.key = Buffer.from(this.cells[0].toString(16));
  }

  /** Remember `jti` until `expSeconds`; 'replayed' if it is already remembered. */
  claim(jti: string, expSeconds: number, nowSeconds: number): ClaimResult {
    const digest = createHmac('sha256', this.key).update(jti).digest();
    const home = digest.readUInt32LE(0) & this.mask;
    const print = digest.readUInt32LE(4) || 1;
    const word = (BigInt(print) << 32n) | BigInt(Math.min(expSeconds, 0xffffffff) >>> 0);
    const cells = this.cells;
    let taken = -1;
    for (let k = 0; k < WINDOW && taken === -1; k++) {
      const i = HEADER + ((home + k) & this.mask);
      for (;;) {
        const cur = Atomics.load(cells, i);
        const live = cur !== 0n && Number(cur & LOW) > nowSeconds;
        if (live) {
          if (Number(cur >> 32n) === print) return 'replayed';
          break;
        }
        if (Atomics.compareExchange(cells, i, cur, word) === cur) {
          taken = i;
          break;
        }
        // Another thread changed this slot meanwhile: look at it again.
      }
    }
    if (taken === -1) return 'full';
    for (let k = 0; k < WINDOW; k++) {
      const i = HEADER + ((home + k) & this.mask);
      if (i === taken) continue;
      const cur = Atomics.load(cells, i);
      if (cur !== 0n && Number(cur >> 32n) === print && Number(cur & LOW) > nowSeconds) return 'replayed';
    }
    return 'fresh';
  }
}
