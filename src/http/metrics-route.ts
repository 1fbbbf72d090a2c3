// GET /metrics: the guard first (token, loopback, wrong-token throttle, see
// admission/metrics-guard.ts), then the whole process's series. With worker
// threads this thread publishes its own snapshot just before summing the
// board, so its row is never a second old.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newIdentity } from '../admission/gate';
import { Errors } from '../errors';
import { Metrics, METRICS_CONTENT_TYPE, type RenderExtra } from '../observability/metrics';
import type { ProxyContext } from '../proxy-context';
import { identify, requestFacts } from './request-facts';
import { sendError, writeHead } from './respond';

export function metricsRoute(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const id = newIdentity();
  const ctx = identify(px, requestFacts(px, res, req), id);
  const access = px.metricsGuard.check(req.getHeader('authorization'), id.ipKey);
  if (access !== 'ok') {
    if (access === 'rate') px.metrics.httpRateLimited++;
    sendError(
      res,
      access === 'disabled'
        ? Errors.METRICS_DISABLED
        : access === 'rate'
          ? Errors.RATE_LIMITED
          : Errors.METRICS_UNAUTHORIZED,
      ctx,
      access === 'rate' ? px.metricsGuard.retryAfter : 0,
    );
    return;
  }
  const extra: RenderExtra = {
    activeConnections: () => px.gate.counter.active,
    maxConnections: px.cfg.maxConnections,
    draining: px.gate.draining,
    bufferedBytes: () => px.budget.heldKiB * 1024,
    bufferBudgetBytes: px.budget.limitBytes,
  };
  let body: string;
  if (px.board === null) {
    body = px.metrics.render(extra);
  } else {
    px.board.publish(px.workerIndex, px.metrics.snapshot());
    body = Metrics.renderSnapshots(px.board.collect(), extra);
  }
  res.cork(() => {
    writeHead(res, 200, METRICS_CONTENT_TYPE, ctx);
    res.end(body);
  });
}
