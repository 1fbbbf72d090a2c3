// Liveness and readiness over a real socket: a draining replica is
// alive but not ready; /health keeps its contract; probes are never rate limited.
import t from 'tap';
import { startHarness } from '../helpers/harness';

t.test('/livez stays 200 while draining, /readyz and /health turn 503', async (t) => {
  const h = await startHarness(t, { RATE_LIMIT_MAX_REQUESTS: '1' });
  const live = await h.http('/livez');
  t.equal(live.status, 200);
  t.same(await live.json(), { status: 'ok' });
  const ready = await h.http('/readyz');
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready' });
  t.equal(ready.headers.get('x-content-type-options'), 'nosniff', 'security headers like every route');
  // A probe storm from one address is never throttled (the bucket holds 1).
  for (let i = 0; i < 5; i++) {
    t.equal((await h.http('/livez')).status, 200);
    t.equal((await h.http('/readyz')).status, 200);
  }

  // Drain with a live session, so the process keeps serving during the grace period.
  const c = h.client();
  await c.waitFor('session.created');
  const stopped = h.proxy.shutdown(60_000);
  const readyDraining = await h.http('/readyz');
  t.equal(readyDraining.status, 503, 'not ready: no new sessions');
  t.same(await readyDraining.json(), { status: 'draining' });
  t.equal((await h.http('/livez')).status, 200, 'still alive: no restart mid-drain');
  const health = await h.http('/health');
  t.equal(health.status, 503, '/health keeps its contract');
  t.equal(((await health.json()) as { status: string }).status, 'draining');
  c.ws.terminate();
  await stopped;
});
