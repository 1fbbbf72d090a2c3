// Headers on every HTTP response (docs/contract.md §4). Each combination (CSP variant x
// TLS) is one frozen flat [name, value, name, value, ...] array built at load,
// so writing them is a loop over constants: no object, no string built per
// response. uWS writes the status line first: call writeStatus() before these.

/** The API and error responses: nothing on them may load, run or be framed. */
export const CSP_API = "default-src 'none'; frame-ancestors 'none'";
/** The demo page: its own script, style and media, sockets back to this host. */
export const CSP_DEMO =
  "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; script-src 'self'; style-src 'self'; frame-ancestors 'none'";
export const HSTS = 'max-age=31536000; includeSubDomains';

export type CspVariant = 'api' | 'demo';

function build(csp: string, tls: boolean): readonly string[] {
  const h = [
    'X-Content-Type-Options',
    'nosniff',
    'X-Frame-Options',
    'DENY',
    'Referrer-Policy',
    'no-referrer',
    'Content-Security-Policy',
    csp,
    'Cross-Origin-Resource-Policy',
    'same-origin',
  ];
  // HSTS over plain HTTP is ignored by browsers (RFC 6797 8.1) and would only
  // be noise; it is sent when the client reached us, or our proxy, over TLS.
  if (tls) h.push('Strict-Transport-Security', HSTS);
  return Object.freeze(h);
}

const API = build(CSP_API, false);
const API_TLS = build(CSP_API, true);
const DEMO = build(CSP_DEMO, false);
const DEMO_TLS = build(CSP_DEMO, true);

/** The precomputed flat [name, value, ...] list for one response kind. */
export function securityHeaders(tls: boolean, csp: CspVariant = 'api'): readonly string[] {
  if (csp === 'demo') return tls ? DEMO_TLS : DEMO;
  return tls ? API_TLS : API;
}

export interface HeaderWriter {
  writeHeader(key: string, value: string): unknown;
}

export function writeSecurityHeaders(res: HeaderWriter, tls: boolean, csp: CspVariant = 'api'): void {
  const h = securityHeaders(tls, csp);
  for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i], h[i + 1]);
}

const NO_HEADERS: readonly string[] = Object.freeze([]);

/**
 * Extra headers answering an OPTIONS preflight from an allowed origin. The
 * browser sends none of these on a WebSocket upgrade (it is not subject to
 * CORS); they serve fetch() calls to /health and / from a web page.
 */
export const CORS_PREFLIGHT_HEADERS: readonly string[] = Object.freeze([
  'Access-Control-Allow-Methods',
  'GET, OPTIONS',
  'Access-Control-Allow-Headers',
  'Authorization, Content-Type, x-ms-client-request-id',
  'Access-Control-Max-Age',
  '600',
]);

/**
 * CORS headers as a flat [name, value, ...] list: the origin reflected, with
 * `Vary: Origin`, only when it is allowed; nothing otherwise (the browser then
 * withholds the response from the page). Allocates one small array when
 * allowed; writeCorsHeaders is the allocation-free form.
 */
export function corsHeaders(origin: string, allowed: boolean): readonly string[] {
  if (!allowed || origin === '') return NO_HEADERS;
  return ['Access-Control-Allow-Origin', origin, 'Vary', 'Origin'];
}

/** Writes corsHeaders(origin, allowed), plus the preflight set when preflight is true. */
export function writeCorsHeaders(res: HeaderWriter, origin: string, allowed: boolean, preflight = false): void {
  if (!allowed || origin === '') return;
  res.writeHeader('Access-Control-Allow-Origin', origin);
  res.writeHeader('Vary', 'Origin');
  if (!preflight) return;
  const h = CORS_PREFLIGHT_HEADERS;
  for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i], h[i + 1]);
}
