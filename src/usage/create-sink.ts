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
import { UsageChain } from './usage-chain';

/** The session shape every sink here may read: relay/session.ts's Session has it all. */
export type UsageSession = Metered & Totaled;

export interface UsageSinkDeps<S> {
  /** Metrics.usage. */
  readonly cells: Float64Array;
  /** Told after the totals: the daily quotas and day totals (usage/quotas.ts); null or absent when off. */
  readonly then?: UsageSink<S> | null;
}

export function createUsageSink<S extends UsageSession = UsageSession>(
  cfg: Config,
  deps: UsageSinkDeps<S>,
): UsageSink<S> {
  const totals = new UsageTotals(deps.cells, rowsFor(cfg));
  return deps.then == null ? totals : new UsageChain<S>(totals, deps.then);
}

/** The /metrics rows for this configuration (the renderer needs the same list). */
export function rowsFor(cfg: Pick<Config, 'allowedModels' | 'defaultModel'>): UsageRow[] {
  return usageRows(cfg);
}
