// Runtime and process series (prom-client's names): what a thread reports,
// what the process reports once, and that both read the real thing.
import t from 'tap';
import { closeSync, openSync, readFileSync } from 'node:fs';
import {
  GC_BUCKETS,
  HEAP_SPACES,
  RUNTIME_KEYS,
  RuntimeStats,
  isLiveKey,
  renderRuntime,
} from '../../src/observability/runtime-stats';
import { OpenFdCounter, maxFds, openFds, renderProcessStats, vm } from '../../src/observability/process-stats';
import { until } from '../helpers/wait';

function series(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name}`);
  return Number(line.slice(name.length + 1).replace('+Inf', 'Infinity'));
}

t.test('a thread snapshot: heap, heap spaces, handles, GC, under fixed keys', async (t) => {
  const rs = new RuntimeStats();
  const snap: Record<string, number> = {};
  rs.snapshotInto(snap);
  t.same(Object.keys(snap), RUNTIME_KEYS, 'the keys the metrics board lays out');
  t.ok(snap.heapUsedBytes > 0 && snap.heapTotalBytes >= snap.heapUsedBytes);
  t.ok(snap.activeResources >= 0);
  t.ok(HEAP_SPACES.includes('old_space'));
  t.ok(snap['heapSpace.old_space.used'] > 0);
  t.ok(isLiveKey('heapUsedBytes'));
  t.notOk(isLiveKey('gc.minor.count'), 'GC counts are totals: they survive a retired worker');
});

t.test("GC pauses land in prom-client's buckets, by kind", async (t) => {
  const rs = new RuntimeStats();
  rs.observeGc(1, 0.0005); // minor, first bucket
  rs.observeGc(4, 0.05); // major, (0.01, 0.1]
  rs.observeGc(4, 7); // major, +Inf
  rs.observeGc(99, 1); // unknown kind: ignored
  rs.observeGc(1, NaN); // ignored
  const snap: Record<string, number> = {};
  rs.snapshotInto(snap);
  const text = renderRuntime(snap);
  t.match(text, /# TYPE nodejs_gc_duration_seconds histogram\n/);
  t.equal(series(text, 'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"}'), 1);
  t.equal(series(text, 'nodejs_gc_duration_seconds_count{kind="minor"}'), 1);
  t.equal(series(text, 'nodejs_gc_duration_seconds_bucket{le="0.01",kind="major"}'), 0);
  t.equal(series(text, 'nodejs_gc_duration_seconds_bucket{le="0.1",kind="major"}'), 1);
  t.equal(series(text, `nodejs_gc_duration_seconds_bucket{le="${GC_BUCKETS[GC_BUCKETS.length - 1]}",kind="major"}`), 1);
  t.equal(series(text, 'nodejs_gc_duration_seconds_bucket{le="+Inf",kind="major"}'), 2);
  t.equal(series(text, 'nodejs_gc_duration_seconds_sum{kind="major"}'), 7.05);
  t.equal(series(text, 'nodejs_gc_duration_seconds_count{kind="weakcb"}'), 0);
  t.ok(
    series(text, 'nodejs_heap_space_size_used_bytes{space="old"}') > 0,
    'space names without _space, as prom-client',
  );
});

t.test("the GC observer sees this thread's real collections", async (t) => {
  const rs = new RuntimeStats();
  rs.start();
  rs.start(); // idempotent
  t.teardown(() => rs.stop());
  const snap: Record<string, number> = {};
  let keep: unknown[] = [];
  await until(
    () => {
      // Short-lived garbage makes the young generation collect.
      for (let i = 0; i < 20_000; i++) keep.push({ i, s: `x${i}` });
      keep = [];
      rs.snapshotInto(snap);
      return snap['gc.minor.count'] > 0;
    },
    'a minor GC',
    20_000,
  );
  t.ok(snap['gc.minor.sum'] > 0);
});

t.test('process series: descriptors, limit, memory, version', async (t) => {
  const before = openFds();
  t.ok(before !== null && before > 0, 'Linux: /proc/self/fd is readable');
  const fds = Array.from({ length: 50 }, () => openSync('/dev/null', 'r'));
  t.equal(openFds(), (before ?? 0) + 50, 'counts descriptors exactly');
  for (const fd of fds) closeSync(fd);
  const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  t.equal(maxFds(), Number(soft), 'the soft limit');
  t.equal(maxFds('Max open files            unlimited            unlimited            files\n'), Infinity);
  t.equal(maxFds('nothing here'), null);
  t.equal(maxFds(null), null);
  t.same(vm('VmSize:\t  1000 kB\nVmData:\t 200 kB\n'), { virtual: 1024000, data: 204800 });
  t.equal(vm('VmSize: 1 kB\n'), null);
  t.equal(vm(null), null);

  const text = renderProcessStats();
  for (const n of [
    'process_cpu_user_seconds_total',
    'process_cpu_system_seconds_total',
    'process_cpu_seconds_total',
    'process_start_time_seconds',
    'process_resident_memory_bytes',
    'process_virtual_memory_bytes',
    'process_heap_bytes',
    'process_open_fds',
    'process_max_fds',
  ]) {
    t.ok(series(text, n) > 0, n);
  }
  t.match(
    text,
    new RegExp(`nodejs_version_info\\{version="${process.version}",major="\\d+",minor="\\d+",patch="\\d+"\\} 1\\n`),
  );
});

t.test('open descriptors at scrape time: counted in the background, at most one scrape old', async (t) => {
  const counter = new OpenFdCounter();
  const first = counter.read();
  t.equal(first, openFds(), 'the first read counts at once');
  const fds = Array.from({ length: 30 }, () => openSync('/dev/null', 'r'));
  t.teardown(() => {
    for (const fd of fds) closeSync(fd);
  });
  t.equal(counter.read(), first, 'a read reports the previous count and starts the next');
  await counter.refresh();
  t.ok((counter.read() ?? 0) >= (first ?? 0) + 30, 'the background count sees the new descriptors');
});
