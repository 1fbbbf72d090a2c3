// Backpressure both ways with bounded memory (docs/contract.md §3).
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { startWsUpstream } from '../helpers/ws-upstream';
import { until } from '../helpers/wait';
import { socketOf } from '../../src/upstream/ws-adapter';

const MB = 1024 * 1024;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function roundTrips(
  c: ReturnType<Awaited<ReturnType<typeof startHarness>>['client']>,
  n: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    c.send(`ping-${i}`);
    await c.next();
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b);
}

t.test('a stalled reader against a 100 MB burst: memory bounded, others unaffected, nothing lost', async (t) => {
  const h = await startHarness(t);
  const other = h.client();
  await other.waitFor('session.created');
  other.send(JSON.stringify({ type: 'simulator.echo_raw' }));
  const baseline = await roundTrips(other, 100);

  const stalled = h.client('', { discard: true });
  await stalled.opened;
  await until(() => stalled.bytesReceived > 0, 'session.created');
  stalled.ws.pause();
  global.gc?.();
  const before = process.memoryUsage();
  const total = 100 * MB;
  stalled.send(JSON.stringify({ type: 'simulator.burst', bytes: total, frameBytes: 64 * 1024 }));
  await until(() => h.proxy.metrics.backpressurePauses >= 1, 'the proxy to pause the upstream');
  const during = await roundTrips(other, 200);
  const after = process.memoryUsage();
  const session = [...h.proxy.relay.sessions].find((s) => s.paused);
  t.ok(session, 'the stalled session is paused');
  t.ok(
    session!.client!.getBufferedAmount() <= h.cfg.clientHighWaterBytes + MB,
    'browser-side buffer stays near the high-water mark',
  );
  t.ok(
    h.sim.stats.bytesOut < total / 2,
    `the burst is held back at its source (${(h.sim.stats.bytesOut / MB).toFixed(1)} MB sent of 100)`,
  );
  const growth = (after.rss - before.rss) / MB;
  t.ok(growth < 40, `process grew ${growth.toFixed(1)} MB while 100 MB waited`);
  const p95 = percentile(during, 0.95);
  t.comment(
    `other client round trip: baseline p50 ${percentile(baseline, 0.5).toFixed(2)} ms, during burst p50 ${percentile(during, 0.5).toFixed(2)} ms p95 ${p95.toFixed(2)} ms p99 ${percentile(during, 0.99).toFixed(2)} ms`,
  );
  // p95, not p99: of 200 round trips the p99 is the second slowest, which one
  // GC pause or a busy shared machine decides (138 ms seen once under load).
  // A relay held up by the stalled reader would slow most of them, not two.
  t.ok(p95 < 100, 'another client keeps real-time latency while one reader is stalled');

  stalled.ws.resume();
  await until(() => stalled.bytesReceived >= total, 'all 100 MB to arrive', 60_000);
  t.ok(stalled.bytesReceived - total < 64 * 1024, 'every byte delivered once the reader resumes');
});

t.test('a slow upstream: what is buffered for it is bounded and the session closes 1013', async (t) => {
  const up = await startWsUpstream((c) => {
    // Never read: the upstream stops draining its socket.
    socketOf(c.ws)!.pause();
  });
  t.teardown(() => up.close());
  const h = await startHarness(t, {
    AZURE_VOICE_LIVE_ENDPOINT: up.origin,
    UPSTREAM_MAX_BUFFERED_BYTES: String(256 * 1024),
  });
  const c = h.client();
  await c.opened;
  await up.nextConnection();
  await until(() => [...h.proxy.relay.sessions].some((s) => s.upstreamOpen), 'upstream open');
  const chunk = Buffer.alloc(64 * 1024, 7);
  let sent = 0;
  const closed = c.closed;
  let done = false;
  closed.then(() => {
    done = true;
  });
  while (!done && sent < 200 * MB) {
    c.send(chunk, true);
    sent += chunk.length;
    if (c.ws.bufferedAmount > 4 * MB) await new Promise((r) => setImmediate(r));
  }
  t.same(await closed, { code: 1013, reason: 'Upstream too slow to accept data' });
  t.equal(h.proxy.metrics.slowUpstreamCloses, 1);
});

t.test('a reader stuck past SLOW_PEER_TIMEOUT_MS is closed 1008 and counted', async (t) => {
  const h = await startHarness(t, { SLOW_PEER_TIMEOUT_MS: '300' });
  const stalled = h.client('', { discard: true });
  await until(() => stalled.bytesReceived > 0, 'session.created');
  stalled.ws.pause();
  stalled.send(JSON.stringify({ type: 'simulator.burst', bytes: 50 * MB, frameBytes: 64 * 1024 }));
  await until(() => h.proxy.metrics.slowClientCloses === 1, 'the slow client close', 10_000);
  const line = await h.logLine('session closed');
  t.equal(line.closedBy, 'proxy');
  t.equal(line.clientCloseCode, 1008);
  t.equal(h.proxy.relay.sessions.size, 0);
});
