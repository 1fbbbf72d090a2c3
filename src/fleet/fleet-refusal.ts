// Each fleet verdict as an entry of the errors table, with its Retry-After,
// counted in the upgrade metric of its outcome.
import { Errors, type ProxyError } from '../errors';
import type { FleetVerdict } from './fleet-limiter';

/** Counters for refused upgrades (the metrics registry satisfies this shape). */
export interface FleetRefusalMetrics {
  upgradesRate: number;
  upgradesIpCapacity: number;
  upgradesFleetCapacity: number;
  upgradesSubjectCapacity: number;
  upgradesFleetUnavailable: number;
  upgradesUnauthorized: number;
  authReplayed: number;
}

/** Seconds a client refused for capacity should wait (as the local gate says). */
const CAPACITY_RETRY_AFTER = 5;

/** A refusal's error and Retry-After, counted; null for 'ok'. */
export function fleetRefusal(
  verdict: FleetVerdict,
  retryAfter: number,
  m: FleetRefusalMetrics,
): [ProxyError, number] | null {
  switch (verdict) {
    case 'ok':
      return null;
    case 'rate':
      m.upgradesRate++;
      return [Errors.RATE_LIMITED, retryAfter];
    case 'ip':
      m.upgradesIpCapacity++;
      return [Errors.IP_AT_CAPACITY, CAPACITY_RETRY_AFTER];
    case 'subject':
      m.upgradesSubjectCapacity++;
      return [Errors.SUBJECT_AT_CAPACITY, CAPACITY_RETRY_AFTER];
    case 'replayed':
      // Verified here (counted ok), but already spent on another replica.
      m.upgradesUnauthorized++;
      m.authReplayed++;
      return [Errors.AUTH_REPLAYED, 0];
    case 'fleet':
      m.upgradesFleetCapacity++;
      return [Errors.FLEET_AT_CAPACITY, CAPACITY_RETRY_AFTER];
    default:
      m.upgradesFleetUnavailable++;
      return [Errors.FLEET_UNAVAILABLE, CAPACITY_RETRY_AFTER];
  }
}
