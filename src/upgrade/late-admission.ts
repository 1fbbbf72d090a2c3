// The async half of an upgrade (CLIENT_AUTH verification, then the fleet's
// Redis decision): each step first checks that the client is still there
// (DeferredUpgrade.aborted; onAborted has then given its slots back), and
// ends in exactly one corked upgrade or one HTTP refusal.
import { errorFor, type AuthOutcome } from '../auth/refusal';
import { Errors } from '../errors';
import type { AcquireRequest } from '../fleet/fleet-limiter';
import { fleetRefusal } from '../fleet/fleet-refusal';
import type { DeferredUpgrade } from '../http/deferred-upgrade';
import type { ProxyContext } from '../proxy-context';
import type { ClientUserData } from '../relay/session';
import { releaseSlots } from './slots';
import { countUpgrade, countUpgraded } from './upgrade-counters';

/** Retry-After for a verifier that could not answer and for a subject at its cap. */
export const AUTH_RETRY_AFTER = 5;
export const AUTH_UNAVAILABLE: AuthOutcome = { ok: false, reason: 'unavailable', cause: 'verifier error' };

/** After CLIENT_AUTH's verdict: refuse with 401/503/429, or go on to the fleet, or upgrade. */
export function admitCaller(
  px: ProxyContext,
  later: DeferredUpgrade<ClientUserData>,
  ud: ClientUserData,
  outcome: AuthOutcome,
): void {
  if (later.aborted) return;
  if (!outcome.ok) {
    releaseSlots(px, ud);
    countUpgrade(px.metrics, 'unauthorized');
    // The cause is a jose error code or a claim name, never the credential.
    px.log.info({ ip: ud.ip, reason: outcome.reason, cause: outcome.cause }, 'caller refused');
    later.refuse(errorFor(outcome.reason), outcome.reason === 'unavailable' ? AUTH_RETRY_AFTER : 0);
    return;
  }
  if (!px.subjects.tryAcquire(outcome.subject)) {
    releaseSlots(px, ud);
    countUpgrade(px.metrics, 'subject_capacity');
    px.log.info({ ip: ud.ip, subject: outcome.subject }, 'subject at capacity');
    later.refuse(Errors.SUBJECT_AT_CAPACITY, AUTH_RETRY_AFTER);
    return;
  }
  ud.subject = outcome.subject;
  if (px.fleet !== null) {
    admitFleet(px, later, ud, outcome.ticket);
    return;
  }
  countUpgraded(px.metrics, ud);
  later.upgrade(ud);
}

/**
 * The fleet's decision (REDIS_URL): one Redis round trip for the shared
 * per-IP bucket and caps, the subject's cap, FLEET_MAX_SESSIONS and a
 * ticket's single use across replicas.
 */
export function admitFleet(
  px: ProxyContext,
  later: DeferredUpgrade<ClientUserData>,
  ud: ClientUserData,
  ticket?: AcquireRequest['ticket'],
): void {
  const fleet = px.fleet as NonNullable<ProxyContext['fleet']>;
  void fleet.acquire({ ipKey: ud.ipKey, subject: ud.subject || undefined, ticket }).then((d) => {
    // The client left while Redis decided: onAborted gave the rest back.
    if (later.aborted) {
      if (d.lease !== null) fleet.release(d.lease);
      return;
    }
    ud.lease = d.lease;
    const draining = px.gate.draining;
    if (draining) countUpgrade(px.metrics, 'draining');
    const refusal = draining ? ([Errors.DRAINING, 5] as const) : fleetRefusal(d.verdict, d.retryAfter, px.metrics);
    if (refusal !== null) {
      releaseSlots(px, ud);
      px.log.debug({ ip: ud.ip, outcome: d.verdict }, 'upgrade refused by the fleet');
      later.refuse(refusal[0], refusal[1]);
      return;
    }
    countUpgraded(px.metrics, ud);
    later.upgrade(ud);
  });
}
