// `CLIENT_AUTH=ticket` (docs/contract.md §4): the app's backend mints a short-lived JWT for
// a signed-in user (mintTicket(), or any JWT library) and the page passes it
// as `?ticket=`. Checked here: signature (HS256 with TICKET_SECRET, RS256/ES256
// from TICKET_JWKS_URL, nothing else), `aud`, `sub`, `exp`, a lifetime of at
// most TICKET_MAX_TTL_S, the optional `origin` claim against the request's
// Origin, and `jti` single use (a ticket without `jti` is refused unless
// TICKET_REQUIRE_JTI=false: it could otherwise be used again until it expires).
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { createHash, type KeyObject } from 'node:crypto';
import type { Config } from '../config';
import { hmacKey, JWKS_ALGORITHMS, remoteKeys } from './jwt-keys';
import { reasonOf, refused, type AuthOutcome } from './outcome';
import type { ReplayCache } from './replay-cache';

/** Clock skew allowed between the minting backend and the proxy. */
export const CLOCK_TOLERANCE_S = 30;
/** Longest `sub` and `jti` accepted (they are logged and used as table keys). */
const MAX_CLAIM_LENGTH = 256;

type TicketConfig = Pick<
  Config,
  'ticketSecret' | 'ticketJwksUrl' | 'ticketAudience' | 'ticketMaxTtlS' | 'ticketRequireJti'
>;

export class TicketVerifier {
  private readonly secret: KeyObject | null;
  private readonly jwks: JWTVerifyGetKey | null;
  private readonly algorithms: string[];
  private readonly getKey: JWTVerifyGetKey;

  constructor(
    private readonly cfg: TicketConfig,
    private readonly replays: ReplayCache,
  ) {
    this.secret = cfg.ticketSecret === '' ? null : hmacKey(cfg.ticketSecret);
    this.jwks = cfg.ticketJwksUrl === '' ? null : remoteKeys(cfg.ticketJwksUrl);
    this.algorithms = [...(this.secret !== null ? ['HS256'] : []), ...(this.jwks !== null ? JWKS_ALGORITHMS : [])];
    // jose has already refused any algorithm outside `algorithms` when this runs.
    this.getKey = (header, token) => (header.alg === 'HS256' ? this.secret! : this.jwks!(header, token));
  }

  async verify(ticket: string, origin: string): Promise<AuthOutcome> {
    if (ticket === '') return refused('missing', 'no ticket');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(ticket, this.getKey, {
        algorithms: this.algorithms,
        audience: this.cfg.ticketAudience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      const { reason, cause } = reasonOf(err);
      return refused(reason, cause);
    }
    return this.checkClaims(payload, origin);
  }

  private checkClaims(p: JWTPayload, origin: string): AuthOutcome {
    const now = Math.floor(Date.now() / 1000);
    const exp = p.exp as number;
    const sub = p.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_CLAIM_LENGTH) return refused('invalid', 'sub');
    // A ticket is a short-lived pass, not a session token: its lifetime is
    // capped whether or not it states `iat`.
    const maxTtl = this.cfg.ticketMaxTtlS;
    if (exp - now > maxTtl + CLOCK_TOLERANCE_S) return refused('invalid', 'ttl');
    if (typeof p.iat === 'number' && exp - p.iat > maxTtl) return refused('invalid', 'ttl');
    if (p.origin !== undefined && p.origin !== origin) return refused('invalid', 'origin');
    if (p.jti !== undefined) {
      if (typeof p.jti !== 'string' || p.jti === '' || p.jti.length > MAX_CLAIM_LENGTH)
        return refused('invalid', 'jti');
      const untilS = exp + CLOCK_TOLERANCE_S;
      const claim = this.replays.claim(p.jti, untilS, now);
      if (claim === 'replayed') return refused('replayed', 'jti');
      if (claim === 'full') return refused('unavailable', 'replay table full');
      // Unkeyed on purpose: every replica must derive the same key. A jti is
      // not a secret; hashing only fixes the Redis key's length and alphabet.
      const id = createHash('sha256').update(p.jti).digest('base64url').slice(0, 22);
      return { ok: true, subject: sub, ticket: { id, untilS } };
    }
    if (this.cfg.ticketRequireJti) return refused('invalid', 'no jti');
    return { ok: true, subject: sub };
  }
}
