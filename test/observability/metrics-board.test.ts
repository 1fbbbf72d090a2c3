import t from 'tap';
import { Metrics } from '../../src/observability/metrics';
import { MetricsBoard } from '../../src/observability/metrics-board';
import { RuntimeStats } from '../../src/observability/runtime-stats';
import { constants } from 'node:perf_hooks';

t.test("rows from every worker are summed; a dead worker's counters are kept", async (t) => {
  const sab = MetricsBoard.createShared(2);
  const board = new MetricsBoard(sab);
  const other = new MetricsBoard(sab);
  const w0 = new Metrics();
  const w1 = new Metrics();
  w0.upgradesAccepted = 3;
  w0.framesClientToUpstream = 100;
  w1.upgradesAccepted = 4;
  w0.upstreamConnectSeconds.observe(0.02);
  board.publish(0, w0.snapshot());
  other.publish(1, w1.snapshot());
  const render = (): string =>
    Metrics.renderSnapshots(board.collect(), { activeConnections: 0, maxConnections: 10, draining: false });
  t.match(render(), /voice_live_proxy_upgrades_total\{outcome="accepted"\} 7\n/);
  t.match(render(), /voice_live_proxy_upstream_connect_duration_seconds_count 1\n/);
  board.retire(0);
  const fresh = new Metrics();
  fresh.upgradesAccepted = 1;
  board.publish(0, fresh.snapshot());
  t.match(render(), /voice_live_proxy_upgrades_total\{outcome="accepted"\} 8\n/, 'totals never go backwards');
  t.match(render(), /voice_live_proxy_frames_total\{direction="client_to_upstream"\} 100\n/);
  t.equal(board.collect().length, 3, 'two workers plus the retired row');
  t.equal(board.collect()[2].heapUsedBytes, 0, 'a retired row carries no live-thread gauges');
});

t.test('runtime series across workers: GC totals survive a dead worker, its heap does not', async (t) => {
  const board = new MetricsBoard(MetricsBoard.createShared(2));
  const runtime = new RuntimeStats();
  runtime.observeGc(constants.NODE_PERFORMANCE_GC_MINOR, 0.002);
  const w0 = new Metrics({ runtime });
  board.publish(0, w0.snapshot());
  board.publish(1, new Metrics().snapshot());
  const rows = board.collect();
  const merged = Metrics.mergeSnapshots(rows);
  t.equal(merged['gc.minor.count'], 1);
  t.equal(merged.heapUsedBytes, rows[0].heapUsedBytes + rows[1].heapUsedBytes, 'heaps add up over threads');
  board.retire(0);
  const after = board.collect();
  t.equal(after[2]['gc.minor.count'], 1, 'GC count kept in the retired row');
  t.equal(after[2]['heapSpace.old_space.used'], 0, 'heap spaces are live values: dropped');
  t.equal(after[2].activeHandles, 0);
});
