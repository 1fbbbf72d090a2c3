// Caller verification (CLIENT_AUTH), the first async step. The verifier
// answers in its own terms (auth/outcome.ts); here each reason becomes its
// entry of the errors table.
import type { CallerAuth, CallerCredentials } from '../auth/caller-auth';
import type { AuthOutcome, AuthReason } from '../auth/outcome';
import { Errors, type ProxyError } from '../errors';
import { refusal, type Refusal } from './refusal';

const REASON_ERRORS: Readonly<Record<AuthReason, ProxyError>> = Object.freeze({
  missing: Errors.AUTH_MISSING,
  expired: Errors.AUTH_EXPIRED,
  invalid: Errors.AUTH_INVALID,
  replayed: Errors.AUTH_REPLAYED,
  // The proxy's own trouble: 503 with the error's Retry-After.
  unavailable: Errors.AUTH_UNAVAILABLE,
});

/** A verifier that threw (it should not: it answers 'unavailable' itself). */
const VERIFIER_ERROR: AuthOutcome = Object.freeze({ ok: false, reason: 'unavailable', cause: 'verifier error' });

/** Never rejects: a verifier that throws is 'unavailable'. */
export function verifyCaller(auth: CallerAuth, credentials: CallerCredentials): Promise<AuthOutcome> {
  return auth.verify(credentials).then(undefined, () => VERIFIER_ERROR);
}

/** The verifier's refusal as a Refusal. */
export function callerRefusal(outcome: Extract<AuthOutcome, { ok: false }>): Refusal {
  return refusal('caller', REASON_ERRORS[outcome.reason], 'unauthorized', {
    reason: outcome.reason,
    cause: outcome.cause,
  });
}
