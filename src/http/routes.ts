// The plain HTTP routes: probes, the endpoint list, CORS preflight, a GET on
// a socket path, and 404 for everything else. Probes are exempt from the rate
// limiter (a probe storm must not mark a healthy instance down); every other
// route spends the client's HTTP bucket.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { SOCKET_ENDPOINTS } from '../constants';
import { Errors } from '../errors';
import type { ProxyContext } from '../proxy-context';
import { metricsRoute } from './metrics-route';
import { admitHttp, probeContext } from './request-facts';
import { sendError, sendJson, writeHead } from './respond';
import { USAGE_PATH, usageRoute } from './usage-route';

const PKG = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};
/**
 * The body of `GET /`: every path this instance serves. Made once when the routes
 * are registered, because it differs per instance (`usage` only where that route
 * is) and never per request. The major version only: the exact one tells a
 * scanner which advisories apply and tells a client nothing it can use.
 */
function rootBody(usage: boolean): string {
  const endpoints: Record<string, string> = {
    ...SOCKET_ENDPOINTS,
    health: '/health',
    liveness: '/livez',
    readiness: '/readyz',
    metrics: '/metrics',
  };
  if (usage) endpoints.usage = USAGE_PATH;
  return JSON.stringify({ name: PKG.name, version: PKG.version.split('.')[0], endpoints });
}
const LIVE_BODY = '{"status":"ok"}';
const READY_BODY = '{"status":"ready"}';
const DRAINING_BODY = '{"status":"draining"}';

/** /health, /livez, /readyz, /metrics, /, /usage (with quotas) and OPTIONS; registered before the socket paths and the 404. */
export function registerHttpRoutes(px: ProxyContext, app: TemplatedApp): void {
  app.get('/health', (res, req) => health(px, res, req));
  // Kubernetes-style probes, exempt like /health. Liveness: the process still
  // serves, so a draining replica is not restarted mid-drain. Readiness: send
  // it new sessions or not (503 while draining, as /health).
  app.get('/livez', (res, req) => liveness(px, res, req));
  app.get('/readyz', (res, req) => readiness(px, res, req));
  app.get('/metrics', (res, req) => metricsRoute(px, res, req));
  // The caller's own day, where it is kept (a quota, or REDIS_URL).
  const usage = px.quotas !== null;
  if (usage) app.get(USAGE_PATH, (res, req) => usageRoute(px, res, req));
  const rootJson = rootBody(usage);
  app.get('/', (res, req) => root(px, res, req, rootJson));
  app.options('/*', (res, req) => preflight(px, res, req));
}

/** A plain GET on a socket path (no Upgrade header) is a client mistake worth naming. */
export function upgradeRequired(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = admitHttp(px, res, req);
  if (ctx !== null) sendError(res, Errors.UPGRADE_REQUIRED, ctx);
}

export function notFound(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = admitHttp(px, res, req);
  if (ctx !== null) sendError(res, Errors.NOT_FOUND, ctx);
}

function liveness(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = probeContext(px, res, req);
  if (ctx !== null) sendJson(res, 200, LIVE_BODY, ctx);
}

function health(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = probeContext(px, res, req);
  if (ctx === null) return;
  const draining = px.gate.draining;
  const body = JSON.stringify({
    status: draining ? 'draining' : 'ok',
    activeConnections: px.gate.counter.active,
    maxConnections: px.cfg.maxConnections,
    timestamp: new Date().toISOString(),
  });
  sendJson(res, draining ? 503 : 200, body, ctx);
}

function readiness(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = probeContext(px, res, req);
  if (ctx === null) return;
  const draining = px.gate.draining;
  sendJson(res, draining ? 503 : 200, draining ? DRAINING_BODY : READY_BODY, ctx);
}

function root(px: ProxyContext, res: HttpResponse, req: HttpRequest, body: string): void {
  const ctx = admitHttp(px, res, req);
  if (ctx !== null) sendJson(res, 200, body, ctx);
}

function preflight(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = admitHttp(px, res, req);
  if (ctx === null) return;
  res.cork(() => {
    writeHead(res, 204, 'text/plain', ctx, true);
    res.endWithoutBody();
  });
}
