// The fleet's decision (REDIS_URL), the last async step: one Redis round trip
// for the shared per-IP bucket and caps, the subject's cap,
// FLEET_MAX_SESSIONS and a ticket's single use across replicas. Each verdict
// is one row: its entry of the errors table and the series it is counted in.
import { Errors, type ProxyError } from '../errors';
import type { FleetDecision, FleetVerdict } from '../fleet/fleet-limiter';
import { refusal, withRetryAfter, type Refusal } from './refusal';

function fleetRefusal(
  verdict: Exclude<FleetVerdict, 'ok'>,
  error: ProxyError,
  outcome: Refusal['outcome'],
  auth: Refusal['auth'] = null,
): Refusal {
  return Object.freeze(refusal('fleet', error, outcome, Object.freeze({ outcome: verdict }), error.retryAfter, auth));
}

const REFUSALS: Readonly<Record<Exclude<FleetVerdict, 'ok'>, Refusal>> = Object.freeze({
  // Its Retry-After is when the fleet's token bucket refills (the decision's retryAfter).
  rate: fleetRefusal('rate', Errors.RATE_LIMITED, 'rate'),
  ip: fleetRefusal('ip', Errors.IP_AT_CAPACITY, 'ip_capacity'),
  subject: fleetRefusal('subject', Errors.SUBJECT_AT_CAPACITY, 'subject_capacity'),
  fleet: fleetRefusal('fleet', Errors.FLEET_AT_CAPACITY, 'fleet_capacity'),
  // Verified here (counted ok), but already spent on another replica.
  replayed: fleetRefusal('replayed', Errors.AUTH_REPLAYED, 'unauthorized', 'replayed'),
  unavailable: fleetRefusal('unavailable', Errors.FLEET_UNAVAILABLE, 'fleet_unavailable'),
});

/** The decision as a Refusal; null on 'ok' (the lease is then held). */
export function fleetStep(d: Pick<FleetDecision, 'verdict' | 'retryAfter'>): Refusal | null {
  if (d.verdict === 'ok') return null;
  const r = REFUSALS[d.verdict];
  return d.verdict === 'rate' ? withRetryAfter(r, d.retryAfter) : r;
}
