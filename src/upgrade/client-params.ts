// The client half of the URL contract (docs/contract.md §1): parse the raw query string of
// a socket path into validated values. Parsing is done by hand rather than with
// URLSearchParams so that a repeated parameter is an error, not "last wins",
// and so that broken percent-encoding is reported instead of passed along.
//
// Every parameter is accepted in two spellings: the older proxies' camelCase
// (`apiVersion`, `agentName`, ...) and the service's own kebab-case names
// (`api-version`, `agent-name`, ...), which the official SDK and the
// successor's direct mode send. Both spellings fill the same field, so naming a
// parameter twice in any mix of spellings is `duplicate_parameter`.
//
// The `openai` clients add two more spellings: Azure OpenAI's `deployment`
// for `model`, and its api-versions (mapped, see config/api-versions.ts).
// No client secret is ever taken for the user's token: a bearer value or a
// `token=` that is not a JWT (an OpenAI `sk-...` key, a placeholder) is dropped
// like an api-key.
import { ALLOWED_API_VERSION_RE, upstreamApiVersion, type RouteProtocol } from '../config/api-versions';
import { Errors, type ProxyError } from '../errors';

export type Transport = 'websocket' | 'webrtc';

/** Where the user's own credential came from ('' = none). Never holds the credential itself. */
export type TokenSource = '' | 'token' | 'authorization' | 'header';

export interface ClientParams {
  model: string;
  /** The user's own bearer token (from `token=`, `authorization=Bearer`, or the Authorization header). */
  token: string;
  agentId: string;
  agentName: string;
  agentVersion: string;
  conversationId: string;
  projectName: string;
  apiVersion: string;
  agentAuthIdentityClientId: string;
  foundryResourceOverride: string;
  /** `client-request-id=` (the SDK's browser build); '' when absent. */
  clientRequestId: string;
  /** '' when the client did not ask (the path decides). */
  transport: '' | Transport;
  /** The caller's proof of identity for the proxy itself (CLIENT_AUTH): never forwarded upstream. */
  ticket: string;
  tokenSource: TokenSource;
  /** True when the client sent an `api-key` (query or header): accepted and never forwarded. */
  apiKeyIgnored: boolean;
  /** True when a bearer value that is not a JWT (`sk-...`, a placeholder) was dropped, never forwarded. */
  bearerDropped: boolean;
  /** True when a `token=` that is not a JWT (a key, a placeholder) was dropped, never forwarded. */
  tokenDropped: boolean;
  /** The api-version the client sent, before mapping ('' when none); `apiVersion` is what goes upstream. */
  clientApiVersion: string;
  /** Names of parameters the proxy does not know (sanitised, at most MAX_UNKNOWN_NAMES). */
  unknown: string[];
  /** How many unknown parameters there were in all. */
  unknownCount: number;
}

/** Fields a query parameter fills (the others are derived). */
type ParamField =
  | 'model'
  | 'token'
  | 'agentId'
  | 'agentName'
  | 'agentVersion'
  | 'conversationId'
  | 'projectName'
  | 'apiVersion'
  | 'agentAuthIdentityClientId'
  | 'foundryResourceOverride'
  | 'clientRequestId'
  | 'transport'
  | 'ticket';

const JWT_RE = /^[A-Za-z0-9._~+/=-]{1,8192}$/;

/**
 * Character set and length per field. Everything outside these sets (CR,
 * LF, NUL, '&', '=', spaces, quotes) is refused, so nothing can be smuggled
 * into the upstream URL or a header even before encoding.
 */
const RULES: Readonly<Record<ParamField, RegExp>> = {
  model: /^[A-Za-z0-9._:-]{1,64}$/,
  // JWTs are base64url segments joined by dots; MSAL tokens run to ~4 KB.
  token: JWT_RE,
  agentId: /^[A-Za-z0-9._:-]{1,128}$/,
  agentName: /^[A-Za-z0-9._-]{1,128}$/,
  agentVersion: /^[A-Za-z0-9._-]{1,32}$/,
  conversationId: /^[A-Za-z0-9._:-]{1,128}$/,
  projectName: /^[A-Za-z0-9._-]{1,128}$/,
  apiVersion: ALLOWED_API_VERSION_RE,
  // A managed identity's client id (a GUID).
  agentAuthIdentityClientId: /^[A-Za-z0-9-]{1,64}$/,
  // A Foundry resource name or host name.
  foundryResourceOverride: /^[A-Za-z0-9.-]{1,253}$/,
  // The SDK sends `<ms>-<base36>`; UUIDs and other plain ids also fit.
  clientRequestId: /^[A-Za-z0-9-]{1,64}$/,
  transport: /^(websocket|webrtc)$/i,
  ticket: JWT_RE,
};

/**
 * Query name -> field. `authorization` (lower case from the SDK's browser
 * build, capitalised from the successor's direct mode) carries `Bearer <jwt>`
 * and fills the same field as `token`.
 */
const NAMES: ReadonlyMap<string, ParamField> = new Map<string, ParamField>([
  ['model', 'model'],
  // Azure OpenAI's name for it (the beta `openai` .azure() client).
  ['deployment', 'model'],
  ['token', 'token'],
  ['authorization', 'token'],
  ['Authorization', 'token'],
  ['agentId', 'agentId'],
  ['agent-id', 'agentId'],
  ['agentName', 'agentName'],
  ['agent-name', 'agentName'],
  ['agentVersion', 'agentVersion'],
  ['agent-version', 'agentVersion'],
  ['conversationId', 'conversationId'],
  ['conversation-id', 'conversationId'],
  ['projectName', 'projectName'],
  ['agent-project-name', 'projectName'],
  ['apiVersion', 'apiVersion'],
  ['api-version', 'apiVersion'],
  ['agentAuthenticationIdentityClientId', 'agentAuthIdentityClientId'],
  ['agent-authentication-identity-client-id', 'agentAuthIdentityClientId'],
  ['foundryResourceOverride', 'foundryResourceOverride'],
  ['foundry-resource-override', 'foundryResourceOverride'],
  ['clientRequestId', 'clientRequestId'],
  ['client-request-id', 'clientRequestId'],
  ['transport', 'transport'],
  ['ticket', 'ticket'],
]);

/** Spellings of a client API key: accepted (apps on the server key pass a placeholder) and dropped. */
const API_KEY_NAMES: ReadonlySet<string> = new Set(['api-key', 'apiKey', 'api_key']);

/** Longest raw query string accepted (a 8 KB token, a ticket and everything else). */
export const MAX_QUERY_LENGTH = 20 * 1024;
/** Unknown parameter names kept for the debug log line. */
export const MAX_UNKNOWN_NAMES = 8;

const BEARER_RE = /^Bearer +([^ ]+)$/i;

/** Credential-related request headers, read synchronously in the upgrade handler. */
export interface CredentialHeaders {
  /** The `Authorization` request header ('' when absent). */
  authorization: string;
  /** The `api-key` request header ('' when absent): never forwarded. */
  apiKey: string;
}

const NO_HEADERS: CredentialHeaders = { authorization: '', apiKey: '' };

export type ParseResult = { ok: true; params: ClientParams } | { ok: false; error: ProxyError; param: string };

function fail(error: ProxyError, param: string): ParseResult {
  return { ok: false, error, param };
}

function decode(raw: string): string | null {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Longest unknown parameter name logged as itself. */
const MAX_LOGGED_NAME = 24;

/**
 * A parameter name safe to put in a log line: plain characters only, and a
 * long name is not logged at all, because a client that pastes a bare token
 * or key into the query (no `=`) sends its secret as a name. Real parameter
 * names are short; JWTs and Azure keys are 32 characters and more.
 */
function loggable(name: string): string {
  if (name.length > MAX_LOGGED_NAME) return `(${name.length} characters)`;
  return name.replace(/[^A-Za-z0-9_.-]/g, '?');
}

export function emptyParams(): ClientParams {
  return {
    model: '',
    token: '',
    agentId: '',
    agentName: '',
    agentVersion: '',
    conversationId: '',
    projectName: '',
    apiVersion: '',
    agentAuthIdentityClientId: '',
    foundryResourceOverride: '',
    clientRequestId: '',
    transport: '',
    ticket: '',
    tokenSource: '',
    apiKeyIgnored: false,
    bearerDropped: false,
    tokenDropped: false,
    clientApiVersion: '',
    unknown: [],
    unknownCount: 0,
  };
}

/** Validate `value` for `field` and store it; the error name is the spelling the client used. */
function assign(params: ClientParams, field: ParamField, key: string, value: string): ParseResult | null {
  if (field === 'token' && key !== 'token') {
    // `authorization=Bearer <jwt>`: the scheme is required, the JWT rules apply to the rest.
    const m = BEARER_RE.exec(value);
    if (m === null || !RULES.token.test(m[1])) return fail(Errors.INVALID_PARAMETER, 'authorization');
    if (!isJwt(m[1])) {
      params.bearerDropped = true;
      return null;
    }
    params.token = m[1];
    params.tokenSource = 'authorization';
    return null;
  }
  if (!RULES[field].test(value)) return fail(Errors.INVALID_PARAMETER, key);
  if (field === 'transport') {
    params.transport = value.toLowerCase() as Transport;
    return null;
  }
  if (field === 'token') {
    // The older proxies' spelling of the same bearer, so the same rule: an MSAL token is
    // always a JWT, and anything else (a client secret, a placeholder) would reach Azure verbatim.
    if (!isJwt(value)) {
      params.tokenDropped = true;
      return null;
    }
    params.tokenSource = 'token';
  }
  params[field] = value;
  return null;
}

const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/**
 * True when `value` is shaped like a JWT: three base64url parts (the last may be
 * empty) whose first decodes to a JSON object naming an `alg`. Only such a
 * value can be the user's Entra ID token; an OpenAI key (`sk-...`) or a
 * placeholder never is, and forwarding it would hand a client secret to Azure.
 * Runs once per upgrade, never per frame.
 */
export function isJwt(value: string): boolean {
  const first = value.indexOf('.');
  const second = first === -1 ? -1 : value.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || value.indexOf('.', second + 1) !== -1) return false;
  const head = value.slice(0, first);
  if (!B64URL_RE.test(head) || !B64URL_RE.test(value.slice(first + 1, second))) return false;
  const sig = value.slice(second + 1);
  if (sig !== '' && !B64URL_RE.test(sig)) return false;
  try {
    const h: unknown = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    return typeof h === 'object' && h !== null && !Array.isArray(h) && typeof (h as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/**
 * Parse and validate the query string (and the credential headers). Unknown
 * parameters are ignored (older clients send cache-busters, the SDK's browser
 * build sends `h-*` copies of its headers) and are never forwarded; they are
 * listed in `unknown` for the debug log and the metric. `route` is the
 * protocol the socket path implies when the client names no api-version.
 */
export function parseClientParams(
  query: string,
  allowedApiVersions: readonly string[],
  headers: CredentialHeaders = NO_HEADERS,
  route: RouteProtocol = 'voice-live',
): ParseResult {
  const params = emptyParams();
  if (query.length > MAX_QUERY_LENGTH) return fail(Errors.INVALID_PARAMETER, 'query');
  const seen = new Set<ParamField>();
  const modelKeys = new Set<string>();
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      const key = decode(rawKey);
      if (key === null) return fail(Errors.INVALID_PARAMETER, 'query');
      const field = NAMES.get(key);
      if (field === undefined) {
        if (API_KEY_NAMES.has(key)) {
          if (params.apiKeyIgnored) return fail(Errors.DUPLICATE_PARAMETER, key);
          params.apiKeyIgnored = true;
          continue;
        }
        if (params.unknownCount++ < MAX_UNKNOWN_NAMES) params.unknown.push(loggable(key));
        continue;
      }
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
      if (seen.has(field)) {
        // `model` and `deployment` naming the same model is one request said twice (some
        // Azure OpenAI samples send both); any other repeat, or two models, is refused.
        if (field === 'model' && value === params.model && !modelKeys.has(key)) {
          modelKeys.add(key);
          continue;
        }
        return fail(Errors.DUPLICATE_PARAMETER, key);
      }
      seen.add(field);
      if (field === 'model') modelKeys.add(key);
      if (value === null) return fail(Errors.INVALID_PARAMETER, key);
      const failed = assign(params, field, key, value);
      if (failed !== null) return failed;
    }
  }
  if (headers.apiKey !== '') params.apiKeyIgnored = true;
  if (headers.authorization !== '') {
    const m = BEARER_RE.exec(headers.authorization.trim());
    if (m === null || !RULES.token.test(m[1])) return fail(Errors.INVALID_PARAMETER, 'authorization');
    if (!isJwt(m[1])) {
      // The openai clients send their API key here (`Bearer sk-...`): dropped, never the user's token.
      params.bearerDropped = true;
    } else {
      // The SDK's Node build sends the user's token as a header; the query must not name another.
      // A query value that was dropped (not a JWT) names none, as a dropped header names none.
      if (params.token !== '') return fail(Errors.DUPLICATE_PARAMETER, 'authorization');
      params.token = m[1];
      params.tokenSource = 'header';
    }
  }
  params.clientApiVersion = params.apiVersion;
  const upstream = upstreamApiVersion(params.apiVersion, allowedApiVersions, route);
  if (upstream === null) return fail(Errors.UNSUPPORTED_API_VERSION, 'apiVersion');
  params.apiVersion = upstream;
  return { ok: true, params };
}

/** A client-supplied x-ms-client-request-id is kept only when it is a plain id. */
const REQUEST_ID_RE = /^[A-Za-z0-9-]{1,64}$/;

export function acceptRequestId(header: string): string {
  return REQUEST_ID_RE.test(header) ? header : '';
}
