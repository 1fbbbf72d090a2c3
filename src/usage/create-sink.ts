// The one UsageSink a proxy instance's meter tells (ProxyContext.usageSink).
// Built here so what is done with usage is chosen in one place: the totals
// behind /metrics always; a sink with more to do (quotas, day totals) wraps
// or follows this one.
import { usageRows, type UsageRow } from '../observability/usage-metric-table';
import type { Config } from '../config';
import type { Totaled } from './usage-totals';
import { UsageTotals } from './usage-totals';
import type { Metered } from './meter';
import type { UsageSink } from './usage-sink';

/** The session shape every sink here may read: relay/session.ts's Session has it all. */
export type UsageSession = Metered & Totaled;

export interface UsageSinkDeps {
  /** Metrics.usage. */
  readonly cells: Float64Array;
}

export function createUsageSink(cfg: Config, deps: UsageSinkDeps): UsageSink<UsageSession> {
  return new UsageTotals(deps.cells, rowsFor(cfg));
}

/** The /metrics rows for this configuration (the renderer needs the same list). */
export function rowsFor(cfg: Pick<Config, 'allowedModels' | 'defaultModel'>): UsageRow[] {
  return usageRows(cfg);
}
