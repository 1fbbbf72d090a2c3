// Verification keys, made once: an HS256 secret as a KeyObject (jose turns a
// KeyObject into a CryptoKey once and caches it; a raw Uint8Array would be
// imported again on every verify), and a remote JWKS whose keys jose fetches on first use, caches
// (imported) by `kid`, refetches at most every 30 s when an unknown `kid`
// appears (key rotation) and otherwise every 10 minutes.
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';

/** The asymmetric algorithms accepted from a JWKS; everything else (none, HS* with a public key) is refused. */
export const JWKS_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256']);

export function remoteKeys(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  });
}

export function hmacKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret));
}
