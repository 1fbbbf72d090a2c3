// Every upgrade is counted once in voice_live_proxy_upgrades_total, under the
// outcome that decided it: the label value names its series in the metric
// table, so a new outcome is one table row, not another branch here.
import type { Metrics } from '../observability/metrics';
import { UPGRADE_FIELDS, type UpgradeOutcome } from '../observability/metric-table';
import type { ClientUserData } from '../relay/session';

export function countUpgrade(m: Metrics, outcome: UpgradeOutcome): void {
  m[UPGRADE_FIELDS[outcome]]++;
}

/** An upgrade that goes through: `invalid` when its request error waits to be reported after it. */
export function countUpgraded(m: Metrics, ud: ClientUserData): void {
  countUpgrade(m, ud.requestError !== null ? 'invalid' : 'accepted');
}
