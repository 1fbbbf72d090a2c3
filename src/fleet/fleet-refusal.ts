// Each fleet verdict as an entry of the errors table, with its Retry-After and
// the series it is counted in: one row per verdict, the counters named by the
// metric table's outcomes (upgrades_total, and auth_verifications_total for a
// ticket already spent on another replica).
import { Errors, type ProxyError } from '../errors';
import {
  AUTH_FIELDS,
  UPGRADE_FIELDS,
  type AuthVerificationOutcome,
  type UpgradeOutcome,
} from '../observability/metric-table';
import type { Metrics } from '../observability/metrics';
import type { FleetVerdict } from './fleet-limiter';

/** Seconds a client refused for capacity should wait (as the local gate says). */
const CAPACITY_RETRY_AFTER = 5;

interface Refusal {
  readonly error: ProxyError;
  readonly upgrade: UpgradeOutcome;
  /** Also counted as a caller verification outcome. */
  readonly auth?: AuthVerificationOutcome;
  /** Retry-After in seconds; 'bucket' = when the fleet's token bucket refills. */
  readonly retryAfter: number | 'bucket';
}

const REFUSALS: Readonly<Record<Exclude<FleetVerdict, 'ok'>, Refusal>> = Object.freeze({
  rate: { error: Errors.RATE_LIMITED, upgrade: 'rate', retryAfter: 'bucket' },
  ip: { error: Errors.IP_AT_CAPACITY, upgrade: 'ip_capacity', retryAfter: CAPACITY_RETRY_AFTER },
  subject: { error: Errors.SUBJECT_AT_CAPACITY, upgrade: 'subject_capacity', retryAfter: CAPACITY_RETRY_AFTER },
  fleet: { error: Errors.FLEET_AT_CAPACITY, upgrade: 'fleet_capacity', retryAfter: CAPACITY_RETRY_AFTER },
  // Verified here (counted ok), but already spent on another replica.
  replayed: { error: Errors.AUTH_REPLAYED, upgrade: 'unauthorized', auth: 'replayed', retryAfter: 0 },
  unavailable: { error: Errors.FLEET_UNAVAILABLE, upgrade: 'fleet_unavailable', retryAfter: CAPACITY_RETRY_AFTER },
});

/** A refusal's error and Retry-After, counted; null for 'ok'. */
export function fleetRefusal(verdict: FleetVerdict, retryAfter: number, m: Metrics): [ProxyError, number] | null {
  if (verdict === 'ok') return null;
  const r = REFUSALS[verdict];
  m[UPGRADE_FIELDS[r.upgrade]]++;
  if (r.auth !== undefined) m[AUTH_FIELDS[r.auth]]++;
  return [r.error, r.retryAfter === 'bucket' ? retryAfter : r.retryAfter];
}
