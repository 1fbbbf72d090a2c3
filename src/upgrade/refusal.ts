// The one vocabulary of admission: every step answers admit (null) or a
// Refusal, and pipeline.ts alone counts it, logs it, gives back what the
// client held and answers. A refusal names its entry in the errors table
// (code, status, public message, Retry-After), the series it is counted in,
// and what its log line says beside the client's address.
import type { ProxyError } from '../errors';
import {
  AUTH_FIELDS,
  UPGRADE_FIELDS,
  type AuthVerificationOutcome,
  type UpgradeOutcome,
} from '../observability/metric-table';
import type { Metrics } from '../observability/metrics';

/** The step that refused: it picks the log line's level and message. */
export type Step = 'gate' | 'caller' | 'subject' | 'fleet' | 'quota';

/** Log fields beside `ip`: what the step saw, never a credential. */
export type RefusalDetail = Readonly<Record<string, string>>;

export interface Refusal {
  readonly step: Step;
  readonly error: ProxyError;
  /** Seconds for Retry-After (0: none): the error's own, or what a rate limiter computed. */
  readonly retryAfter: number;
  /** Its series in voice_live_proxy_upgrades_total. */
  readonly outcome: UpgradeOutcome;
  /** Also a series in auth_verifications_total (a ticket spent on another replica), else null. */
  readonly auth: AuthVerificationOutcome | null;
  readonly detail: RefusalDetail;
}

export function refusal(
  step: Step,
  error: ProxyError,
  outcome: UpgradeOutcome,
  detail: RefusalDetail,
  retryAfter = error.retryAfter,
  auth: AuthVerificationOutcome | null = null,
): Refusal {
  return { step, error, retryAfter, outcome, auth, detail };
}

/** The same refusal with the wait a rate limiter computed. */
export function withRetryAfter(r: Refusal, seconds: number): Refusal {
  return { step: r.step, error: r.error, retryAfter: seconds, outcome: r.outcome, auth: r.auth, detail: r.detail };
}

/** Each step's log line, as operators grep for it. */
export const STEP_LOG: Readonly<Record<Step, { readonly level: 'debug' | 'info'; readonly msg: string }>> =
  Object.freeze({
    gate: { level: 'debug', msg: 'upgrade refused' },
    // The cause is a jose error code or a claim name, never the credential.
    caller: { level: 'info', msg: 'caller refused' },
    subject: { level: 'info', msg: 'subject at capacity' },
    fleet: { level: 'debug', msg: 'upgrade refused by the fleet' },
    quota: { level: 'info', msg: 'caller over quota' },
  });

/** An upgrade's one count in voice_live_proxy_upgrades_total (and, for a fleet replay, in auth_verifications_total). */
export function countRefusal(m: Metrics, r: Refusal): void {
  m[UPGRADE_FIELDS[r.outcome]]++;
  if (r.auth !== null) m[AUTH_FIELDS[r.auth]]++;
}

/** An upgrade that goes through: `invalid` when its request error waits to be reported after it. */
export function countAdmitted(m: Metrics, requestError: ProxyError | null): void {
  m[UPGRADE_FIELDS[requestError !== null ? 'invalid' : 'accepted']]++;
}
