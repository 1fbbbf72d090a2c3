// `CLIENT_AUTH=token` (docs/contract.md §4): the user's own token, which the proxy forwards
// to Voice Live as `Authorization: Bearer`, is verified first against the
// tenant's JWKS, issuer and audience, so no unverified token ever reaches
// Azure and the subject it names can be limited. Entra ID: TOKEN_JWKS_URL =
// https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys.
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import { JWKS_ALGORITHMS, remoteKeys } from './jwt-keys';
import { reasonOf, refused, type AuthOutcome } from './outcome';
import { CLOCK_TOLERANCE_S } from './ticket-verifier';

type TokenConfig = Pick<Config, 'tokenJwksUrl' | 'tokenIssuers' | 'tokenAudiences'>;

export class TokenVerifier {
  private readonly jwks: JWTVerifyGetKey;
  private readonly issuers: string[];
  private readonly audiences: string[];

  constructor(cfg: TokenConfig) {
    this.jwks = remoteKeys(cfg.tokenJwksUrl);
    this.issuers = [...cfg.tokenIssuers];
    this.audiences = [...cfg.tokenAudiences];
  }

  async verify(bearer: string): Promise<AuthOutcome> {
    if (bearer === '') return refused('missing', 'no token');
    try {
      const { payload } = await jwtVerify(bearer, this.jwks, {
        algorithms: [...JWKS_ALGORITHMS],
        issuer: this.issuers,
        audience: this.audiences,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub === '' || sub.length > 256) return refused('invalid', 'sub');
      return { ok: true, subject: sub };
    } catch (err) {
      const { reason, cause } = reasonOf(err);
      return refused(reason, cause);
    }
  }
}
