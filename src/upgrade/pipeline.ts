// Admission as one pipeline (docs/contract.md §4):
//   gate (draining, rate, origin, capacity) -> caller (CLIENT_AUTH)
//   -> subject cap -> fleet (REDIS_URL) -> daily quotas (QUOTA_*_PER_DAY) -> 101.
// Each step answers admit (null) or a Refusal (refusal.ts); this module alone
// counts the outcome, logs it, gives back what the client held (releaseSlots)
// and answers. With no async step configured the 101 is given in the handler
// call itself. Otherwise the reply is deferred, and after EVERY wait two
// things may have changed: the client left (onAborted gave back its slots;
// whatever the wait brought is given back now), or the proxy began draining
// (refused as the gate would: 503 draining).
import type { AuthOutcome } from '../auth/outcome';
import type { FleetDecision } from '../fleet/fleet-limiter';
import type { ProxyContext } from '../proxy-context';
import type { Attempt } from './attempt';
import { callerRefusal, verifyCaller } from './caller-step';
import { subjectStep } from './subject-step';
import { fleetStep } from './fleet-step';
import { quotaStep } from './quota-step';
import { callerKey } from '../usage/quotas';
import { DRAINING } from './gate-step';
import { countAdmitted, countRefusal, STEP_LOG, type Refusal } from './refusal';
import { releaseSlots } from './slots';

/** The steps after the gate, which already holds the client's capacity slot. */
export function admit(px: ProxyContext, a: Attempt): void {
  const auth = px.auth;
  // A request error never reaches the upstream, so in token mode (where the
  // credential to verify is the one it would forward) it is reported as
  // usual, after the upgrade, without asking anyone.
  const verifier = auth !== null && !(auth.mode === 'token' && a.ud.requestError !== null) ? auth : null;
  const askFleet = px.fleet !== null && (auth === null || verifier !== null);
  if (verifier === null && !askFleet && !quotaWaits(px, a)) {
    checkQuota(px, a);
    return;
  }
  a.reply.defer(px.corkAnchor, () => clientLeft(px, a));
  if (verifier !== null) void verifyCaller(verifier, a.credentials).then((o) => afterCaller(px, a, o));
  else if (askFleet) startFleet(px, a);
  else checkQuota(px, a);
}

/** The quota check reads a store (Redis, or the main thread with worker threads): a wait. */
function quotaWaits(px: ProxyContext, a: Attempt): boolean {
  const q = px.quotas;
  return q !== null && q.enforcing && q.shared && a.ud.requestError === null;
}

/** The one place a refusal is counted, logged, given back and answered. */
export function refuse(px: ProxyContext, a: Attempt, r: Refusal): void {
  releaseSlots(px, a.ud);
  countRefusal(px.metrics, r);
  const line = STEP_LOG[r.step];
  if (px.log.isLevelEnabled(line.level)) px.log[line.level]({ ip: a.ud.ip, ...r.detail }, line.msg);
  a.reply.refuse(r.error, r.retryAfter);
}

function accept(px: ProxyContext, a: Attempt): void {
  countAdmitted(px.metrics, a.ud.requestError);
  a.reply.upgrade(a.ud);
}

function clientLeft(px: ProxyContext, a: Attempt): void {
  px.log.debug({ ip: a.ud.ip }, 'client left before admission was decided');
  releaseSlots(px, a.ud);
}

/** After every wait: false when the attempt ended here (client gone, or refused for draining). */
function stillWanted(px: ProxyContext, a: Attempt): boolean {
  if (a.reply.aborted) {
    releaseSlots(px, a.ud);
    return false;
  }
  if (px.gate.draining) {
    refuse(px, a, DRAINING);
    return false;
  }
  return true;
}

function afterCaller(px: ProxyContext, a: Attempt, o: AuthOutcome): void {
  if (!stillWanted(px, a)) return;
  if (!o.ok) {
    refuse(px, a, callerRefusal(o));
    return;
  }
  const r = subjectStep(px.subjects, o.subject);
  if (r !== null) {
    refuse(px, a, r);
    return;
  }
  a.ud.subject = o.subject;
  a.ticket = o.ticket;
  if (px.fleet !== null) startFleet(px, a);
  else checkQuota(px, a);
}

function startFleet(px: ProxyContext, a: Attempt): void {
  const fleet = px.fleet as NonNullable<ProxyContext['fleet']>;
  void fleet
    .acquire({ ipKey: a.ud.ipKey, subject: a.ud.subject || undefined, ticket: a.ticket })
    .then((d) => afterFleet(px, a, d));
}

function afterFleet(px: ProxyContext, a: Attempt, d: FleetDecision): void {
  // Recorded first, so that every path but the upgrade gives it back.
  a.ud.lease = d.lease;
  if (!stillWanted(px, a)) return;
  const r = fleetStep(d);
  if (r !== null) refuse(px, a, r);
  else checkQuota(px, a);
}

/**
 * The last step. In a single relay thread it is decided now; with a store
 * (REDIS_URL, or the main thread with worker threads) after one read of its
 * totals, the reply deferred by then (quotaWaits). A request error is
 * reported after the upgrade and uses nothing: not asked.
 */
function checkQuota(px: ProxyContext, a: Attempt): void {
  const q = px.quotas;
  if (q === null || !q.enforcing || a.ud.requestError !== null) {
    accept(px, a);
    return;
  }
  const caller = callerKey(a.ud.subject, a.ud.ipKey);
  if (!q.shared) {
    afterQuota(px, a, q.checkLocal(caller), caller);
    return;
  }
  void q.checkShared(caller).then((wait) => {
    if (stillWanted(px, a)) afterQuota(px, a, wait, caller);
  });
}

function afterQuota(px: ProxyContext, a: Attempt, wait: number, caller: string): void {
  const r = quotaStep(wait, caller);
  if (r !== null) refuse(px, a, r);
  else accept(px, a);
}
