// The WWW-Authenticate challenge a 401 carries (RFC 9110 §11.6.1 requires one).
// Every credential the proxy checks is a bearer credential (a ticket or a token
// in the query or the Authorization header, or the /metrics token), so the
// challenge is RFC 6750's: a realm and, when a credential was sent and failed,
// `invalid_token`. The description is a fixed word, never the credential.
import { Errors, type ProxyError } from '../errors';

const REALM = 'Bearer realm="voice-live-proxy"';

const CHALLENGES: ReadonlyMap<ProxyError, string> = new Map([
  [Errors.AUTH_MISSING, REALM],
  [Errors.AUTH_EXPIRED, `${REALM}, error="invalid_token", error_description="expired"`],
  [Errors.AUTH_INVALID, `${REALM}, error="invalid_token", error_description="invalid"`],
  [Errors.AUTH_REPLAYED, `${REALM}, error="invalid_token", error_description="already used"`],
  [Errors.METRICS_UNAUTHORIZED, 'Bearer realm="metrics"'],
]);

/** The challenge for a 401 refusal, or '' for any other refusal. */
export function authChallenge(err: ProxyError): string {
  return CHALLENGES.get(err) ?? '';
}
