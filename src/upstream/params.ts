// The client half of the URL contract (SPEC 1): parse the raw query string of
// `/ws?...` into validated values. Parsing is done by hand rather than with
// URLSearchParams so that a repeated parameter is an error, not "last wins",
// and so that broken percent-encoding is reported instead of passed along.
import { Errors, type ProxyError } from '../errors';

export interface ClientParams {
  model: string;
  token: string;
  agentId: string;
  agentName: string;
  agentVersion: string;
  conversationId: string;
  projectName: string;
  apiVersion: string;
}

type ParamName = keyof ClientParams;

/**
 * Character set and length per parameter. Everything outside these sets (CR,
 * LF, NUL, '&', '=', spaces, quotes) is refused, so nothing can be smuggled
 * into the upstream URL or a header even before encoding.
 */
const RULES: Readonly<Record<ParamName, RegExp>> = {
  model: /^[A-Za-z0-9._:-]{1,64}$/,
  // JWTs are base64url segments joined by dots; MSAL tokens run to ~4 KB.
  token: /^[A-Za-z0-9._~+/=-]{1,8192}$/,
  agentId: /^[A-Za-z0-9._:-]{1,128}$/,
  agentName: /^[A-Za-z0-9._-]{1,128}$/,
  agentVersion: /^[A-Za-z0-9._-]{1,32}$/,
  conversationId: /^[A-Za-z0-9._:-]{1,128}$/,
  projectName: /^[A-Za-z0-9._-]{1,128}$/,
  apiVersion: /^\d{4}-\d{2}-\d{2}(-preview)?$/,
};

/** Longest raw query string accepted (a 8 KB token plus everything else). */
export const MAX_QUERY_LENGTH = 12 * 1024;

export type ParseResult = { ok: true; params: ClientParams } | { ok: false; error: ProxyError; param: string };

function fail(error: ProxyError, param: string): ParseResult {
  return { ok: false, error, param };
}

function isParamName(key: string): key is ParamName {
  return Object.prototype.hasOwnProperty.call(RULES, key);
}

function decode(raw: string): string | null {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * Parse and validate the query string. Unknown parameters are ignored (older
 * clients send cache-busters and SDK markers) and are never forwarded.
 */
export function parseClientParams(query: string, allowedApiVersions: readonly string[]): ParseResult {
  const params: ClientParams = {
    model: '', token: '', agentId: '', agentName: '', agentVersion: '',
    conversationId: '', projectName: '', apiVersion: '',
  };
  if (query.length > MAX_QUERY_LENGTH) return fail(Errors.INVALID_PARAMETER, 'query');
  if (query === '') return { ok: true, params };
  const seen = new Set<string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const key = decode(rawKey);
    if (key === null) return fail(Errors.INVALID_PARAMETER, 'query');
    if (!isParamName(key)) continue;
    if (seen.has(key)) return fail(Errors.DUPLICATE_PARAMETER, key);
    seen.add(key);
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    if (value === null || !RULES[key].test(value)) return fail(Errors.INVALID_PARAMETER, key);
    params[key] = value;
  }
  if (params.apiVersion !== '' && !allowedApiVersions.includes(params.apiVersion)) {
    return fail(Errors.UNSUPPORTED_API_VERSION, 'apiVersion');
  }
  return { ok: true, params };
}

/** A client-supplied x-ms-client-request-id is kept only when it is a plain id. */
const REQUEST_ID_RE = /^[A-Za-z0-9-]{1,64}$/;

export function acceptRequestId(header: string): string {
  return REQUEST_ID_RE.test(header) ? header : '';
}
