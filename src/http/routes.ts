// The plain HTTP routes: probes, the endpoint list, CORS preflight, a GET on
// a socket path, and 404 for everything else. Probes are exempt from the rate
// limiter (a probe storm must not mark a healthy instance down); every other
// route spends the client's HTTP bucket.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { UPSTREAM_CALLS_PATH, UPSTREAM_PATH } from '../constants';
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
// The major version only: the exact one tells a scanner which advisories apply
// and tells a client nothing it can use.
const ROOT_BODY = JSON.stringify({
  name: PKG.name,
  version: PKG.version.split('.')[0],
  endpoints: {
    websocket: '/ws',
    realtime: UPSTREAM_PATH,
    webrtc: UPSTREAM_CALLS_PATH,
    health: '/health',
    liveness: '/livez',
    readiness: '/readyz',
    metrics: '/metrics',
  },
});
const LIVE_BODY = '{"status":"ok"}';
const READY_BODY = '{"status":"ready"}';
const DRAINING_BODY = '{"status":"draining"}';

/** /health, /livez, /readyz, /metrics, / and OPTIONS; registered before the socket paths and the 404. */
export function registerHttpRoutes(px: ProxyContext, app: TemplatedApp): void {
  app.get('/health', (res, req) => health(px, res, req));
  // Kubernetes-style probes, exempt like /health. Liveness: the process still
  // serves, so a draining replica is not restarted mid-drain. Readiness: send
  // it new sessions or not (503 while draining, as /health).
  app.get('/livez', (res, req) => liveness(px, res, req));
  app.get('/readyz', (res, req) => readiness(px, res, req));
  app.get('/metrics', (res, req) => metricsRoute(px, res, req));
  app.get('/', (res, req) => root(px, res, req));
  // The caller's own day, where it is kept (a quota, or REDIS_URL).
  if (px.quotas !== null) app.get(USAGE_PATH, (res, req) => usageRoute(px, res, req));
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

function root(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = admitHttp(px, res, req);
  if (ctx !== null) sendJson(res, 200, ROOT_BODY, ctx);
}

function preflight(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const ctx = admitHttp(px, res, req);
  if (ctx === null) return;
  res.cork(() => {
    writeHead(res, 204, 'text/plain', ctx, true);
    res.endWithoutBody();
  });
}
