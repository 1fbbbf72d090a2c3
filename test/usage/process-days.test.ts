// Quotas for one process with worker threads and no Redis: each relay thread
// is a Quotas sink reaching the main thread's ProcessDays over its own real
// MessagePort, with real relay sessions. Two threads together are held to
// one quota, as two replicas are with Redis (quotas-redis.test.ts).
import t from 'tap';
import type { Test } from 'tap';
import pino from 'pino';
import { MessageChannel } from 'node:worker_threads';
import { Metrics } from '../../src/observability/metrics';
import { HOUR_MS, hourOf } from '../../src/usage/day-window';
import { ProcessDayClient, ProcessDays } from '../../src/usage/process-days';
import { Quotas } from '../../src/usage/quotas';
import { emptyUsage } from '../../src/usage/usage-sink';
import { startRelay } from '../helpers/relay-harness';

const MINUTE = 60_000;
const NONE = { audioMs: 0, tokens: 0 };

/** One relay thread's quotas, on its own line to `days`. */
function thread(t: Test, days: ProcessDays, metrics: Metrics, tokens = 0): Quotas {
  const line = new MessageChannel();
  days.serve(line.port1);
  const q = new Quotas(
    { limits: { audioMs: MINUTE, tokens }, graceMs: 2000, flushMs: 50 },
    new ProcessDayClient(line.port2),
    pino({ level: 'silent' }),
    metrics,
  );
  t.teardown(async () => {
    await q.close();
    line.port1.close();
  });
  return q;
}

t.test('the arithmetic of the rolling day, as the Redis scripts do it', (t) => {
  const days = new ProcessDays();
  const now = 2_000 * HOUR_MS + 30 * MINUTE; // half past an hour
  t.same(days.add(['ip:a', 30_000, 5, 'ip:b', 1_000, 0], now - 23 * HOUR_MS), [30_000, 5, 1_000, 0]);
  t.same(days.add(['ip:a', 40_000, 0], now), [70_000, 5], 'the answer is the window after the add');
  t.same(
    days.read('ip:a', { audioMs: MINUTE, tokens: 0 }, NONE, now),
    [70_000, 5, 30 * 60],
    'over: until the oldest hour leaves',
  );
  t.same(days.read('ip:a', { audioMs: 80_000, tokens: 0 }, NONE, now), [70_000, 5, 0], 'under: no wait');
  t.same(
    days.read('ip:a', { audioMs: 80_000, tokens: 0 }, { audioMs: 10_000, tokens: 0 }, now),
    [70_000, 5, 30 * 60],
    "a thread's unflushed use counts in the wait, not in the totals",
  );
  t.same(days.read('ip:nobody', { audioMs: MINUTE, tokens: 0 }, NONE, now), [0, 0, 0]);
  const later = (hourOf(now) + 24) * HOUR_MS;
  t.same(days.add(['ip:c', 1, 0], later), [1, 0]);
  t.equal(days.size, 1, 'callers whose window emptied are forgotten');
  t.end();
});

t.test('two relay threads: one quota for the caller, whichever thread carries the session', async (t) => {
  const h = await startRelay(t);
  const days = new ProcessDays();
  const one = thread(t, days, h.metrics);
  const two = thread(t, days, h.metrics);
  const a = await h.connect();
  const b = await h.connect();
  one.sessionOpened(a.s, 'ip:10.0.0.7');
  two.sessionOpened(b.s, 'ip:10.0.0.7');
  // 35 s on each thread: neither is over alone; the first flush that answers 70 s ends both.
  one.audioAdded(a.s, 35_000);
  two.audioAdded(b.s, 35_000);
  t.same(await a.browser.closed, { code: 1008, reason: 'Usage quota exhausted' }, 'the session on thread one');
  t.same(await b.browser.closed, { code: 1008, reason: 'Usage quota exhausted' }, 'the session on thread two');
  t.equal(h.metrics.quotaCloses, 2);
  await h.finishedOf(a.s);
  await h.finishedOf(b.s);
  one.sessionFinished(a.s, emptyUsage());
  two.sessionFinished(b.s, emptyUsage());

  t.same(
    days.read('ip:10.0.0.7', { audioMs: MINUTE, tokens: 0 }, NONE).slice(0, 2),
    [70_000, 0],
    'the process counted both',
  );
  for (const q of [one, two]) {
    const wait = await q.checkShared('ip:10.0.0.7');
    t.ok(wait >= 1 && wait <= 24 * 3600, `either thread refuses the next upgrade for ${wait} s`);
    t.match(await q.read('ip:10.0.0.7'), { audioMs: 70_000, retryAfterS: wait }, 'and reads the same day');
  }
  t.equal(await two.checkShared('ip:10.0.0.8'), 0, 'another caller is not affected');
});

t.test("a session starts from the process's totals its upgrade check read", async (t) => {
  const h = await startRelay(t);
  const days = new ProcessDays();
  days.add(['sub:erin', 50_000, 0]);
  const q = thread(t, days, h.metrics);
  t.equal(await q.checkShared('sub:erin'), 0, '50 s: admitted');
  const { browser, s } = await h.connect();
  q.sessionOpened(s, 'sub:erin');
  q.audioAdded(s, 10_000); // 60 s with what the check read: over at once, before any flush
  t.equal((await browser.closed).code, 1008);
});
