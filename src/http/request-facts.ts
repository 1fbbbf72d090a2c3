// What every handler reads from a request before deciding anything: the
// client's address and Origin, copied out of the stack-allocated HttpRequest
// synchronously, then the client identified and the response context made.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newIdentity, type ClientIdentity, type RequestFacts } from '../admission/gate';
import { Errors } from '../errors';
import type { ProxyContext } from '../proxy-context';
import { sendError, type ResponseContext } from './respond';

/**
 * The socket address is taken as bytes, which uWS hands over cheaper than
 * text; forwarded headers only when TRUST_PROXY gives them a meaning.
 */
export function requestFacts(px: ProxyContext, res: HttpResponse, req: HttpRequest): RequestFacts {
  return {
    remoteAddress: res.getRemoteAddress(),
    forwardedFor: px.readsForwarded ? req.getHeader('x-forwarded-for') : '',
    forwardedProto: px.readsForwarded ? req.getHeader('x-forwarded-proto') : '',
    origin: req.getHeader('origin'),
  };
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

/** Identify a request that takes no token (probes): the response context only. */
export function probeContext(px: ProxyContext, res: HttpResponse, req: HttpRequest): ResponseContext {
  return identify(px, requestFacts(px, res, req), newIdentity());
}

/**
 * A rate-limited plain HTTP request: identify the client and take a token.
 * Returns the response context, or null when it already answered 429.
 */
export function admitHttp(px: ProxyContext, res: HttpResponse, req: HttpRequest): ResponseContext | null {
  const id = newIdentity();
  const ctx = identify(px, requestFacts(px, res, req), id);
  const wait = px.gate.rate(id.ipKey);
  if (wait === 0) return ctx;
  px.metrics.httpRateLimited++;
  sendError(res, Errors.RATE_LIMITED, ctx, wait);
  return null;
}
