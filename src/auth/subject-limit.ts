// MAX_SESSIONS_PER_SUBJECT (docs/contract.md §4): concurrent sessions per verified subject
// (`sub` of the ticket or token). The per-key counting of the connection
// counter is reused: an exact Map with one thread, and with worker threads a
// shared table of hashed counters in a SharedArrayBuffer, so the cap holds
// across every thread of the process (two subjects that share a counter share
// a cap: it only ever gets stricter). Kept with REDIS_URL too: it is the cap
// while the fleet cannot decide; the fleet adds the count across replicas.
import { ConnectionCounter } from '../admission/connection-counter';

/** The per-subject counter has no global cap of its own (MAX_CONNECTIONS is the gate's). */
const NO_GLOBAL_CAP = 0x7fffffff;

export class SubjectLimit {
  private readonly counter: ConnectionCounter | null;

  static createShared(maxConnections: number): SharedArrayBuffer {
    return ConnectionCounter.createShared(maxConnections);
  }

  constructor(maxPerSubject: number, shared?: SharedArrayBuffer) {
    this.counter =
      maxPerSubject === 0 ? null : new ConnectionCounter({ max: NO_GLOBAL_CAP, maxPerIp: maxPerSubject, shared });
  }

  /** True when the subject may open one more session; then release() it exactly once. */
  tryAcquire(subject: string): boolean {
    return this.counter === null || this.counter.tryAcquire(subject) === 'ok';
  }

  release(subject: string): void {
    this.counter?.release(subject);
  }
}
