// A verifier's answer: the caller's subject, or why it was refused, in the
// four classes a client is told (docs/contract.md §4), plus 'unavailable' for
// the proxy's own trouble (a JWKS it cannot fetch, a full replay table), which
// is not the caller's fault. Which error each reason is sent as is the
// caller step's (upgrade/caller-step.ts).

export type AuthReason = 'missing' | 'expired' | 'invalid' | 'replayed' | 'unavailable';

export type AuthOutcome =
  | {
      readonly ok: true;
      readonly subject: string;
      /**
       * A ticket's `jti` as a fleet-wide replay key (a digest, so its length
       * and characters are fixed) and the second it may be forgotten; absent
       * for tokens and for tickets without a `jti`. With REDIS_URL the fleet
       * step claims it once across every replica.
       */
      readonly ticket?: { readonly id: string; readonly untilS: number };
    }
  | {
      readonly ok: false;
      readonly reason: AuthReason;
      /** For the log line only: a jose error code, never the credential. */ readonly cause: string;
    };

export function refused(reason: AuthReason, cause: string): AuthOutcome {
  return { ok: false, reason, cause };
}

/**
 * jose's error codes to a reason. Anything about fetching keys (timeout, a
 * non-200 or malformed JWKS, a network error, which is no JOSEError at all)
 * is 'unavailable'; an unknown `kid`, a bad signature, a wrong or 'none'
 * algorithm, a wrong audience or issuer, a malformed token are 'invalid'.
 */
export function reasonOf(err: unknown): { reason: AuthReason; cause: string } {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  if (code === 'ERR_JWT_EXPIRED') return { reason: 'expired', cause: code };
  if (code === '' || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') {
    return { reason: 'unavailable', cause: code || (err instanceof Error ? err.name : 'error') };
  }
  return { reason: 'invalid', cause: code };
}
