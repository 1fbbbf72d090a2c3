// What every handler reads from a request before deciding anything: the
// client's address and Origin, copied out of the stack-allocated HttpRequest
// synchronously, then the client identified and the response context made.
// A request that carries a body is answered 400 here and its connection
// closed: no route takes one (see carriesBody).
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newIdentity, type ClientIdentity, type RequestFacts } from '../admission/gate';
import { Errors } from '../errors';
import type { ProxyContext } from '../proxy-context';
import { sendError, type ResponseContext } from './respond';

// Filled by visitHeader during req.forEach, which calls it synchronously: one
// module-level object and function serve every request, no closure each.
const lines = { forwardedFor: '', forwardedProto: '', body: false };

/**
 * Every line of a header counts: RFC 9110 §5.3 makes repeated lines one
 * comma list in order. uWS's getHeader() returns only the first line, and a
 * front end that appends its own X-Forwarded-For line (HAProxy's
 * `option forwardfor`) puts the one address it vouches for in the last.
 */
function visitHeader(key: string, value: string): void {
  switch (key) {
    case 'x-forwarded-for':
      lines.forwardedFor = lines.forwardedFor === '' ? value : `${lines.forwardedFor},${value}`;
      return;
    case 'x-forwarded-proto':
      lines.forwardedProto = lines.forwardedProto === '' ? value : `${lines.forwardedProto},${value}`;
      return;
    case 'content-length':
      if (value !== '0') lines.body = true;
      return;
    case 'transfer-encoding':
      lines.body = true;
  }
}

function readAllLines(req: HttpRequest): void {
  lines.forwardedFor = '';
  lines.forwardedProto = '';
  lines.body = false;
  req.forEach(visitHeader);
}

/**
 * Whether the request carries a body: Content-Length other than 0 on any
 * line, or any Transfer-Encoding. uWS frames the request by the FIRST
 * Content-Length line, so `0` followed by `40` would let 40 bytes after the
 * headers be read as a second request that a front end never saw. Two
 * header scans in the common case; the full walk only when a `0` is seen.
 */
function carriesBody(req: HttpRequest): boolean {
  if (req.getHeader('transfer-encoding') !== '') return true;
  const length = req.getHeader('content-length');
  if (length === '') return false;
  if (length !== '0') return true;
  readAllLines(req);
  return lines.body;
}

/**
 * The request's facts, or null when it carries a body (then the 400 and the
 * close are under way: the caller does nothing more with `res`). The socket
 * address is taken as bytes, which uWS hands over cheaper than text.
 * Forwarded headers only when TRUST_PROXY gives them a meaning. Walking every
 * header (req.forEach) costs several times the two lookups, and uWS offers no
 * way to ask whether a header has a second line, so the walk is made only
 * when it can change the answer: a forwarded header is there and the socket
 * peer is a proxy whose headers are believed. It reads the body headers too.
 */
export function requestFacts(px: ProxyContext, res: HttpResponse, req: HttpRequest): RequestFacts | null {
  const remoteAddress = res.getRemoteAddress();
  let forwardedFor = '';
  let forwardedProto = '';
  let body: boolean;
  if (
    px.readsForwarded &&
    (req.getHeader('x-forwarded-for') !== '' || req.getHeader('x-forwarded-proto') !== '') &&
    px.gate.ips.isTrustedProxy(remoteAddress)
  ) {
    readAllLines(req);
    forwardedFor = lines.forwardedFor;
    forwardedProto = lines.forwardedProto;
    body = lines.body;
  } else {
    body = carriesBody(req);
  }
  const f: RequestFacts = { remoteAddress, forwardedFor, forwardedProto, origin: req.getHeader('origin') };
  if (!body) return f;
  refuseBody(res, identify(px, f, newIdentity()));
  return null;
}

/**
 * 400 and close, one turn of the event loop later. Answered at once, uWS would
 * go on to parse whatever follows the headers in the same read as the next
 * request (the hidden one) and dispatch it. While this response is pending,
 * uWS drops the connection instead when another request follows, unanswered;
 * otherwise the 400 goes out and the connection closes after it.
 */
function refuseBody(res: HttpResponse, ctx: ResponseContext): void {
  const pending = { aborted: false };
  res.onAborted(() => {
    pending.aborted = true;
  });
  setImmediate(() => {
    if (!pending.aborted) sendError(res, Errors.REQUEST_BODY_NOT_ACCEPTED, ctx, 0, true);
  });
}

/** The request's Origin when CORS may grant it, else ''. */
export function corsOrigin(px: ProxyContext, f: RequestFacts): string {
  return f.origin !== '' && px.gate.origins.isAllowed(f.origin) ? f.origin : '';
}

/** Identify the client (into `id`) and build the response context. */
export function identify(px: ProxyContext, f: RequestFacts, id: ClientIdentity): ResponseContext {
  px.gate.identify(f, id);
  return { tls: id.tls, corsOrigin: corsOrigin(px, f) };
}

/** Identify a request that takes no token (probes): the response context, or null when already answered. */
export function probeContext(px: ProxyContext, res: HttpResponse, req: HttpRequest): ResponseContext | null {
  const f = requestFacts(px, res, req);
  return f === null ? null : identify(px, f, newIdentity());
}

/**
 * A rate-limited plain HTTP request: identify the client and take a token.
 * Returns the response context, or null when it already answered (400, 429).
 */
export function admitHttp(px: ProxyContext, res: HttpResponse, req: HttpRequest): ResponseContext | null {
  const f = requestFacts(px, res, req);
  if (f === null) return null;
  const id = newIdentity();
  const ctx = identify(px, f, id);
  const wait = px.gate.rate(id.ipKey);
  if (wait === 0) return ctx;
  px.metrics.httpRateLimited++;
  sendError(res, Errors.RATE_LIMITED, ctx, wait);
  return null;
}
