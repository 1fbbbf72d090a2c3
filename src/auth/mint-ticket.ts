// What an app's backend calls to let a signed-in user connect when the proxy
// runs with CLIENT_AUTH=ticket: a short-lived, single-use JWT for that user.
// HS256 with the proxy's TICKET_SECRET, or RS256/ES256 with a private key
// whose public half the proxy reads from TICKET_JWKS_URL (then pass its kid).
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { hmacKey } from './jwt-keys';

export interface MintTicketOptions {
  /** The user: logged with the session and counted by MAX_SESSIONS_PER_SUBJECT. */
  readonly sub: string;
  /** TICKET_SECRET (HS256). Give this or privateKey. */
  readonly secret?: string;
  /** A private key (KeyObject or JWK) for RS256/ES256; its public key is in the proxy's TICKET_JWKS_URL. */
  readonly privateKey?: KeyObject | JWK;
  readonly alg?: 'HS256' | 'RS256' | 'ES256';
  readonly kid?: string;
  /** Seconds until it expires: default 60, at most the proxy's TICKET_MAX_TTL_S (300 by default). */
  readonly ttlSeconds?: number;
  /** TICKET_AUDIENCE; default `voice-live-proxy`. */
  readonly audience?: string;
  /** When set, the ticket is only good for a page on this origin (checked against the Origin header). */
  readonly origin?: string;
  /** Default: a random UUID, so the ticket is single-use (always set: the proxy refuses a ticket without one). */
  readonly jti?: string;
}

export const DEFAULT_TICKET_TTL_S = 60;

export async function mintTicket(opts: MintTicketOptions): Promise<string> {
  if (typeof opts.sub !== 'string' || opts.sub === '') throw new TypeError('mintTicket: sub is required');
  // The proxy refuses a ticket without jti by default (TICKET_REQUIRE_JTI): one is always set.
  if (opts.jti !== undefined && (typeof opts.jti !== 'string' || opts.jti === '' || opts.jti.length > 256))
    throw new RangeError('mintTicket: jti must be 1 to 256 characters');
  const ttl = opts.ttlSeconds ?? DEFAULT_TICKET_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400)
    throw new RangeError('mintTicket: ttlSeconds must be an integer from 1 to 86400');
  let key: KeyObject | JWK;
  let alg: string;
  if (opts.privateKey !== undefined) {
    key = opts.privateKey;
    alg = opts.alg ?? 'RS256';
    if (alg !== 'RS256' && alg !== 'ES256') throw new RangeError('mintTicket: a private key signs RS256 or ES256');
  } else if (opts.secret !== undefined && opts.secret !== '') {
    if (Buffer.byteLength(opts.secret) < 32) throw new RangeError('mintTicket: secret must be at least 32 bytes');
    key = hmacKey(opts.secret);
    alg = 'HS256';
  } else {
    throw new TypeError('mintTicket: secret or privateKey is required');
  }
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, string> = {};
  if (opts.origin !== undefined) claims.origin = opts.origin;
  const jwt = new SignJWT(claims)
    .setProtectedHeader(opts.kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid: opts.kid })
    .setSubject(opts.sub)
    .setAudience(opts.audience ?? 'voice-live-proxy')
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(opts.jti ?? randomUUID());
  return jwt.sign(key);
}
