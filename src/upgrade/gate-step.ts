// The first step, synchronous, in the handler (docs/contract.md §4):
// draining -> client IP -> rate limit -> origin -> capacity. Cheapest and
// most telling first: a draining replica refuses before it spends a token, a
// flood is cut by the bucket before the origin is looked at, and a capacity
// slot is taken last because it is the only thing that must be given back.
import type { AdmissionGate, ClientIdentity, RequestFacts } from '../admission/gate';
import { Errors, type ProxyError } from '../errors';
import { refusal, withRetryAfter, type Refusal } from './refusal';

function gateRefusal(error: ProxyError, outcome: Refusal['outcome']): Refusal {
  return Object.freeze(refusal('gate', error, outcome, Object.freeze({ outcome })));
}

/** Also what every later step is refused with when the proxy began draining during its wait. */
export const DRAINING = gateRefusal(Errors.DRAINING, 'draining');
export const RATE_LIMITED = gateRefusal(Errors.RATE_LIMITED, 'rate');
export const ORIGIN_REFUSED = gateRefusal(Errors.ORIGIN_REFUSED, 'origin');
export const AT_CAPACITY = gateRefusal(Errors.AT_CAPACITY, 'capacity');
export const IP_AT_CAPACITY = gateRefusal(Errors.IP_AT_CAPACITY, 'ip_capacity');

/**
 * Identifies the client (into `id`), then decides. On null a capacity slot is
 * held for id.ipKey: the caller gives it back exactly once (releaseSlots).
 */
export function gateStep(gate: AdmissionGate, f: RequestFacts, id: ClientIdentity): Refusal | null {
  gate.identify(f, id);
  if (gate.draining) return DRAINING;
  const wait = gate.rateUpgrade(id.ipKey);
  if (wait > 0) return withRetryAfter(RATE_LIMITED, wait);
  if (gate.origins.check(f.origin) !== 'ok') return ORIGIN_REFUSED;
  const slot = gate.acquire(id.ipKey);
  if (slot === 'global') return AT_CAPACITY;
  if (slot === 'ip') return IP_AT_CAPACITY;
  return null;
}
