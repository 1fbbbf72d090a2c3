// Every upgrade is counted once in voice_live_proxy_upgrades_total, under the
// outcome that decided it.
import type { Outcome } from '../admission/gate';
import type { Metrics } from '../observability/metrics';
import type { ClientUserData } from '../relay/session';

/** An upgrade that goes through: `invalid` when its request error waits to be reported after it. */
export function countUpgrade(m: Metrics, ud: ClientUserData): void {
  if (ud.requestError !== null) m.upgradesInvalid++;
  else m.upgradesAccepted++;
}

/** A refusal by the local gate. */
export function countRefusal(m: Metrics, outcome: Outcome): void {
  if (outcome === 'origin') m.upgradesOrigin++;
  else if (outcome === 'rate') m.upgradesRate++;
  else if (outcome === 'capacity') m.upgradesCapacity++;
  else if (outcome === 'ip_capacity') m.upgradesIpCapacity++;
  else if (outcome === 'draining') m.upgradesDraining++;
}
