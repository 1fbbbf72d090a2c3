// GET /metrics: the guard first (token, loopback peer, wrong-token throttle, see
// admission/metrics-guard.ts), then the whole process's series. With worker
// threads this thread publishes its own snapshot just before summing the
// board, so its row is never a second old.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newIdentity } from '../admission/gate';
import { isLoopbackPeer, unforwarded } from '../admission/metrics-guard';
import { Errors } from '../errors';
import { Metrics, METRICS_CONTENT_TYPE, type RenderExtra } from '../observability/metrics';
import type { ProxyContext } from '../proxy-context';
import { identify, requestFacts } from './request-facts';
import { sendError, writeHead } from './respond';

export function metricsRoute(px: ProxyContext, res: HttpResponse, req: HttpRequest): void {
  const f = requestFacts(px, res, req);
  if (f === null) return;
  const id = newIdentity();
  const ctx = identify(px, f, id);
  const guard = px.metricsGuard;
  // The socket peer, not the resolved client: TRUST_PROXY must not turn a forwarded request into a local one.
  const localPeer = guard.asksPeer && isLoopbackPeer(f.remoteAddress) && unforwarded((name) => req.getHeader(name));
  const access = guard.check(req.getHeader('authorization'), id.ipKey, localPeer);
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
    usageRows: px.usageRows,
  };
  let body: string;
  if (px.board === null) {
    body = px.metrics.render(extra);
  } else {
    px.publishMetrics();
    body = Metrics.renderSnapshots(px.board.collect(), extra);
  }
  res.cork(() => {
    writeHead(res, 200, METRICS_CONTENT_TYPE, ctx);
    res.end(body);
  });
}
