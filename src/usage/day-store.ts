// Where a caller's day totals live when more than one relay thread spends
// them: Redis for the fleet (fleet/fleet-day-store.ts), or the main thread
// for one process with worker threads (process-days.ts). Without either, a
// single relay thread keeps them itself (quotas.ts, synchronously).
import type { DayTotals, QuotaLimits } from './day-window';

export interface DayStore {
  /** False while it cannot answer (Redis away): use waits in the thread and goes with the first add after. */
  readonly up: boolean;
  /** What an upgrade check does while it is not up (FLEET_ON_REDIS_DOWN). */
  readonly onDown: 'open' | 'closed';
  /**
   * `entries`: caller key, audio ms, tokens, repeated (whole units). Answers
   * each caller's window totals after the add, audio and tokens alternating.
   * Rejects when it cannot answer.
   */
  add(entries: ReadonlyArray<string | number>): Promise<number[]>;
  /**
   * The caller's window totals (without `extra`) and the seconds until they
   * are under `limits` with `extra` counted in the current hour (0: they are).
   */
  read(key: string, limits: QuotaLimits, extra: DayTotals): Promise<[number, number, number]>;
}
