// Writing HTTP responses on uWS: status line, security headers, CORS, body,
// in one corked write. Status lines are precomputed per code.
import type { HttpResponse } from 'uWebSockets.js';
import { errorBody, type ProxyError } from '../errors';
import { authChallenge } from './auth-challenge';
import { writeCorsHeaders, writeSecurityHeaders } from './security-headers';

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_LINES[status] ?? `${status} Unknown`;
}

/** Per-request facts the response needs; filled once, synchronously, in the handler. */
export interface ResponseContext {
  tls: boolean;
  /** The request's Origin when it is allowed (CORS), else ''. */
  corsOrigin: string;
}

export function writeHead(
  res: HttpResponse,
  status: number,
  contentType: string,
  ctx: ResponseContext,
  preflight = false,
): void {
  res.writeStatus(statusLine(status));
  writeSecurityHeaders(res, ctx.tls, 'api');
  writeCorsHeaders(res, ctx.corsOrigin, ctx.corsOrigin !== '', preflight);
  res.writeHeader('Content-Type', contentType);
  res.writeHeader('Cache-Control', 'no-store');
}

export function sendJson(res: HttpResponse, status: number, body: string, ctx: ResponseContext): void {
  res.cork(() => {
    writeHead(res, status, 'application/json', ctx);
    res.end(body);
  });
}

/**
 * An HTTP refusal; Retry-After is the error's own unless a limiter computed
 * one. `close`: uWS adds `Connection: close` and closes once it is written,
 * so nothing after this request on the connection is read.
 */
export function sendError(
  res: HttpResponse,
  err: ProxyError,
  ctx: ResponseContext,
  retryAfterSeconds = err.retryAfter,
  close = false,
): void {
  res.cork(() => {
    writeHead(res, err.status, 'application/json', ctx);
    if (retryAfterSeconds > 0) res.writeHeader('Retry-After', String(retryAfterSeconds));
    if (err.status === 401) res.writeHeader('WWW-Authenticate', authChallenge(err));
    res.end(errorBody(err), close);
  });
}
