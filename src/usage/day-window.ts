// The rolling day, as 24 hourly buckets: a caller's usage over "the last 24
// hours" is the sum of the buckets of the current hour and the 23 before it,
// and a bucket leaves the window whole, at the end of its 24th hour. So a
// quota frees up an hour's usage at a time, and Retry-After is exact to the
// second: when enough of the oldest buckets have left for the sum to drop
// under the limit. The fleet keeps the same buckets in Redis
// (fleet/usage-scripts.ts, the same arithmetic in Lua); this is the
// per-process store.

export const HOUR_MS = 3_600_000;
export const WINDOW_HOURS = 24;

/** A caller's usage over the rolling day. */
export interface DayTotals {
  audioMs: number;
  tokens: number;
}

/** The quotas, in the units counted (0 = that quota is off). */
export interface QuotaLimits {
  readonly audioMs: number;
  readonly tokens: number;
}

export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** True when `t` has reached a limit that is on. */
export function exhausted(t: DayTotals, l: QuotaLimits): boolean {
  return (l.audioMs > 0 && t.audioMs >= l.audioMs) || (l.tokens > 0 && t.tokens >= l.tokens);
}

/** One caller's buckets; slot = hour mod 24, with the hour it holds. */
export class HourBuckets {
  private readonly hours = new Float64Array(WINDOW_HOURS).fill(-1);
  private readonly audio = new Float64Array(WINDOW_HOURS);
  private readonly tokens = new Float64Array(WINDOW_HOURS);

  add(hour: number, audioMs: number, tokens: number): void {
    const i = hour % WINDOW_HOURS;
    if (this.hours[i] !== hour) {
      this.hours[i] = hour;
      this.audio[i] = 0;
      this.tokens[i] = 0;
    }
    this.audio[i] += audioMs;
    this.tokens[i] += tokens;
  }

  /** The window ending with `hour`, into `out`. */
  totals(hour: number, out: DayTotals): DayTotals {
    out.audioMs = 0;
    out.tokens = 0;
    for (let i = 0; i < WINDOW_HOURS; i++) {
      if (this.hours[i] > hour - WINDOW_HOURS && this.hours[i] <= hour) {
        out.audioMs += this.audio[i];
        out.tokens += this.tokens[i];
      }
    }
    return out;
  }

  /** Nothing left in the window ending with `hour`: the caller can be forgotten. */
  idle(hour: number): boolean {
    for (let i = 0; i < WINDOW_HOURS; i++) if (this.hours[i] > hour - WINDOW_HOURS) return false;
    return true;
  }

  /**
   * Seconds from `nowMs` until the window's sum is under every limit that is
   * on, with `extra` (usage not yet in a bucket, counted in the current hour)
   * added; 0 when it already is.
   */
  retryAfterS(nowMs: number, limits: QuotaLimits, extra: DayTotals): number {
    const hour = hourOf(nowMs);
    const list: Array<[number, number, number]> = [];
    for (let i = 0; i < WINDOW_HOURS; i++) {
      if (this.hours[i] > hour - WINDOW_HOURS && this.hours[i] <= hour)
        list.push([this.hours[i], this.audio[i], this.tokens[i]]);
    }
    return secondsUntilUnder(list, hour, nowMs, limits, extra);
  }
}

/**
 * `buckets`: [hour, audioMs, tokens] within the window ending with `hour`.
 * The oldest bucket leaves first, at the end of its 24th hour; the answer is
 * the first such moment at which both sums are under their limits (at least
 * 1 s when not under now). The Lua in fleet/usage-scripts.ts does the same.
 */
export function secondsUntilUnder(
  buckets: Array<[number, number, number]>,
  hour: number,
  nowMs: number,
  limits: QuotaLimits,
  extra: DayTotals,
): number {
  let audio = extra.audioMs;
  let tokens = extra.tokens;
  for (const b of buckets) {
    audio += b[1];
    tokens += b[2];
  }
  const under = (): boolean => !exhausted({ audioMs: audio, tokens }, limits);
  if (under()) return 0;
  buckets.sort((x, y) => x[0] - y[0]);
  for (const b of buckets) {
    audio -= b[1];
    tokens -= b[2];
    if (under()) return Math.max(1, Math.ceil(((b[0] + WINDOW_HOURS) * HOUR_MS - nowMs) / 1000));
  }
  // Only the usage not yet in a bucket is over: it leaves with the current hour.
  return Math.max(1, Math.ceil(((hour + WINDOW_HOURS) * HOUR_MS - nowMs) / 1000));
}
