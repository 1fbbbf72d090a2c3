// The fleet's day totals in Redis (usage-scripts.ts), as the quotas' store:
// each answer or failure also tells the limiter whether Redis is up.
import type { DayStore } from '../usage/day-store';
import type { DayTotals, QuotaLimits } from '../usage/day-window';
import type { FleetLimiter } from './fleet-limiter';

export class FleetDayStore implements DayStore {
  constructor(private readonly fleet: FleetLimiter) {}

  get up(): boolean {
    return this.fleet.up;
  }

  get onDown(): 'open' | 'closed' {
    return this.fleet.opts.onRedisDown;
  }

  async add(entries: ReadonlyArray<string | number>): Promise<number[]> {
    try {
      const totals = await this.fleet.redis.vlpUsageAdd(this.fleet.opts.prefix, ...entries);
      this.fleet.noteAnswer();
      return totals;
    } catch (err) {
      this.fleet.noteFailure(err);
      throw err;
    }
  }

  async read(key: string, limits: QuotaLimits, extra: DayTotals): Promise<[number, number, number]> {
    try {
      const answer = await this.fleet.redis.vlpUsageRead(
        this.fleet.opts.prefix,
        key,
        limits.audioMs,
        limits.tokens,
        extra.audioMs,
        extra.tokens,
      );
      this.fleet.noteAnswer();
      return answer;
    } catch (err) {
      this.fleet.noteFailure(err);
      throw err;
    }
  }
}
