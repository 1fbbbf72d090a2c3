// One memory budget for the whole process (docs/contract.md §3, BUFFER_BUDGET_BYTES): the
// bytes held for slow peers by every session on every worker thread, that is
// what waits in uWS toward a slow browser, the queue kept while an upstream
// connects, what waits in an upstream socket's write buffer, and the blocks
// of an upstream message still arriving (message-assembly.ts).
//
// The total lives in one Int32 of a SharedArrayBuffer (handed to every worker
// like the connection counter), counted in KiB so that 2^31 units cover 2 TiB;
// each session adds the KiB it holds, rounded up, and takes them back when it
// holds less. Sessions touch it only when what they hold changes by a KiB or
// more, which a reader that keeps up never does: the hot path pays one field
// compare per send run, and one per upstream read.
const KIB = 1024;

/** Past this share of the budget it is "short": any session that builds backpressure is paused. */
export const SHORT_FRACTION = 0.5;

export class BufferBudget {
  /** [0]: KiB held by all threads; [1 + i]: KiB held by worker i, so a dead worker's share can be given back. */
  private readonly cells: Int32Array;
  private readonly own: number;
  readonly limitKiB: number;
  readonly shortKiB: number;

  constructor(limitBytes: number, shared?: SharedArrayBuffer, workerIndex = 0) {
    this.cells = new Int32Array(shared ?? BufferBudget.createShared(1));
    this.own = 1 + workerIndex;
    this.limitKiB = Math.max(1, Math.floor(limitBytes / KIB));
    this.shortKiB = Math.floor(this.limitKiB * SHORT_FRACTION);
  }

  static createShared(workers: number): SharedArrayBuffer {
    return new SharedArrayBuffer((1 + workers) * Int32Array.BYTES_PER_ELEMENT);
  }

  /** The primary, when worker `index` died: its sockets are gone, and so is what they held. */
  static forfeit(shared: SharedArrayBuffer, index: number): number {
    const cells = new Int32Array(shared);
    const lost = Atomics.exchange(cells, 1 + index, 0);
    Atomics.sub(cells, 0, lost);
    return lost;
  }

  /** KiB held across all threads now. */
  get heldKiB(): number {
    return Atomics.load(this.cells, 0);
  }

  get limitBytes(): number {
    return this.limitKiB * KIB;
  }

  /** Past SHORT_FRACTION of the budget: stop reading upstreams for any browser that is behind at all. */
  get short(): boolean {
    return Atomics.load(this.cells, 0) >= this.shortKiB;
  }

  /** Over the budget: shed the sessions holding the most. */
  get spent(): boolean {
    return Atomics.load(this.cells, 0) > this.limitKiB;
  }

  /** Moves the total (and this thread's share) by `deltaKiB`; returns the new total. */
  add(deltaKiB: number): number {
    Atomics.add(this.cells, this.own, deltaKiB);
    return Atomics.add(this.cells, 0, deltaKiB) + deltaKiB;
  }
}

/** Bytes -> the KiB a session is charged for (rounded up: never under-count). */
export function toKiB(bytes: number): number {
  return Math.ceil(bytes / KIB);
}
