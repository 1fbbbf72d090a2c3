import t from 'tap';
import { EventLoopMonitor } from '../../src/observability/event-loop';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

t.test('stopped monitor reads zeros and ignores rotate/stop', async (t) => {
  const m = new EventLoopMonitor();
  t.equal(m.running, false);
  t.same(m.read(), { min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  m.rotate();
  m.stop();
  t.same(m.read(), { min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});

t.test('start is idempotent, the window timer is unref-ed, stop clears it', async (t) => {
  const m = new EventLoopMonitor({ windowMs: 1000 });
  m.start();
  const timer = (m as unknown as { timer: NodeJS.Timeout }).timer;
  m.start();
  t.equal((m as unknown as { timer: NodeJS.Timeout }).timer, timer, 'second start is a no-op');
  t.equal(m.running, true);
  t.equal(timer.hasRef(), false, 'never keeps the process alive');
  m.stop();
  t.equal(m.running, false);
  t.equal((m as unknown as { timer: NodeJS.Timeout | null }).timer, null);
});

t.test('windowMs 0 starts no timer and reports lifetime values in seconds', async (t) => {
  const m = new EventLoopMonitor({ windowMs: 0, resolutionMs: 10 });
  m.start();
  t.teardown(() => m.stop());
  t.equal((m as unknown as { timer: NodeJS.Timeout | null }).timer, null);
  await tick(30);
  block(80);
  await tick(30);
  const lag = m.read();
  t.ok(lag.max >= 0.05 && lag.max < 5, `max ${lag.max}s is in seconds, not ns`);
  t.ok(lag.p99 >= lag.p50 && lag.p50 >= 0);
});

t.test('after a window closes, percentiles come from it; max also covers the open window', async (t) => {
  const m = new EventLoopMonitor({ windowMs: 0, resolutionMs: 10 });
  m.start();
  t.teardown(() => m.stop());
  await tick(30);
  block(60);
  await tick(30);
  m.rotate();
  const closed = m.read();
  t.ok(closed.max >= 0.04, 'window kept the stall');
  await tick(30);
  t.equal(m.read().p99, closed.p99, 'p99 from the closed window');
  block(150);
  await tick(30);
  t.ok(m.read().max >= 0.13, 'a new stall in the open window raises max at once');
  m.rotate();
  m.rotate(); // an empty window reads as zeros, not NaN
  const empty = m.read();
  t.ok(Number.isFinite(empty.p50) && Number.isFinite(empty.max));
});

t.test('the interval rotates windows on its own', async (t) => {
  const m = new EventLoopMonitor({ windowMs: 40, resolutionMs: 10 });
  m.start();
  t.teardown(() => m.stop());
  await tick(150);
  t.ok((m as unknown as { windows: number }).windows >= 1);
});

t.test('an idle thread reads about 0, not the sampling interval; a stall reads as itself', async (t) => {
  const m = new EventLoopMonitor({ windowMs: 0, resolutionMs: 20 });
  m.start();
  t.teardown(() => m.stop());
  // Enough ticks of the 20 ms sampling timer to fill the histogram.
  await tick(250);
  const idle = m.read();
  t.ok(idle.p50 < 0.015, `idle p50 ${idle.p50}s (perf_hooks alone reads about 0.020)`);
  t.ok(idle.min >= 0 && idle.min < 0.005, `idle min ${idle.min}s`);
  block(100);
  await tick(30);
  const lag = m.read();
  t.ok(lag.max >= 0.07 && lag.max < 5, `a 100 ms block reads ${lag.max}s: the block less at most the interval`);
});
