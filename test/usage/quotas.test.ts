// Quotas per process, on a real relay (uWS browser leg, ws upstream): the
// sink is told what the meter would tell it, and a session that crosses its
// quota ends as docs/contract.md says: the response in progress finishes
// (QUOTA_GRACE_MS at most), then an `error` event quota_exhausted, then 1008.
import t from 'tap';
import pino from 'pino';
import { Quotas } from '../../src/usage/quotas';
import { HOUR_MS, HourBuckets, hourOf } from '../../src/usage/day-window';
import { emptyUsage } from '../../src/usage/usage-sink';
import { startRelay, type Browser } from '../helpers/relay-harness';
import { until } from '../helpers/wait';

const MINUTE = 60_000;

function quotas(metrics: { quotaCloses: number }, graceMs = 5000, tokens = 0) {
  return new Quotas(
    { limits: { audioMs: MINUTE, tokens }, graceMs, flushMs: 50 },
    null,
    pino({ level: 'silent' }),
    metrics,
  );
}

function texts(b: Browser): string[] {
  return b.messages.filter((m) => !m.isBinary).map((m) => m.data.toString());
}

t.test('crossed during a response: the response finishes, then the error event, then 1008', async (t) => {
  const h = await startRelay(t);
  const q = quotas(h.metrics);
  t.teardown(() => q.close());
  const { browser, s } = await h.connect();
  const up = await h.upstream.nextConnection();
  q.sessionOpened(s, 'sub:alice');
  q.responseStarted(s);
  q.audioAdded(s, 30_000);
  q.audioAdded(s, 31_000); // over the minute, mid-response
  up.ws.send(JSON.stringify({ type: 'response.audio.delta', delta: 'AAAA' }));
  await until(() => browser.messages.length === 1, 'the delta relayed after the crossing');
  t.equal(h.metrics.quotaCloses, 0, 'not closed while the response is in progress');
  up.ws.send(JSON.stringify({ type: 'response.done' }));
  await until(() => browser.messages.length === 2, 'response.done relayed');
  q.responseDone(s, 12);
  const closed = await browser.closed;
  t.same(closed, { code: 1008, reason: 'Usage quota exhausted' }, 'closed 1008 with the reason');
  const all = texts(browser);
  t.equal(all.length, 3, 'delta, response.done, error event');
  t.match(JSON.parse(all[1]), { type: 'response.done' }, 'the response finished first');
  t.same(
    JSON.parse(all[2]),
    {
      type: 'error',
      error: { type: 'invalid_request_error', code: 'quota_exhausted', message: 'Usage quota exhausted' },
    },
    'then the error event',
  );
  t.equal((await up.closed).code, 1008, 'the upstream is closed 1008 too');
  t.equal(h.metrics.quotaCloses, 1, 'counted');
  await h.finishedOf(s);
  q.sessionFinished(s, emptyUsage());
  const wait = q.checkLocal('sub:alice');
  t.ok(wait >= 1 && wait <= 24 * 3600, `the next upgrade waits ${wait} s`);
  t.equal(q.checkLocal('sub:bob'), 0, 'another caller is not affected');
  const u = await q.read('sub:alice');
  t.match(u, { audioMs: 61_000, tokens: 12 }, "the caller's day");
});

t.test('a response that does not finish within the grace is cut, after the error event', async (t) => {
  const h = await startRelay(t);
  const q = quotas(h.metrics, 150);
  t.teardown(() => q.close());
  const { browser, s } = await h.connect();
  await h.upstream.nextConnection();
  q.sessionOpened(s, 'ip:10.0.0.1');
  q.responseStarted(s);
  const started = Date.now();
  q.audioAdded(s, MINUTE);
  const closed = await browser.closed;
  t.ok(Date.now() - started >= 140, 'waited for the grace');
  t.equal(closed.code, 1008);
  t.match(JSON.parse(texts(browser).at(-1)!), { error: { code: 'quota_exhausted' } }, 'told why');
});

t.test('no response in progress: closed at once; a second session of the caller is closed too', async (t) => {
  const h = await startRelay(t);
  const q = quotas(h.metrics);
  t.teardown(() => q.close());
  const one = await h.connect();
  const two = await h.connect();
  q.sessionOpened(one.s, 'sub:carol');
  q.sessionOpened(two.s, 'sub:carol');
  q.audioAdded(one.s, 40_000);
  t.equal(h.metrics.quotaCloses, 0);
  q.audioAdded(two.s, 20_000); // the caller's sum reaches the minute
  t.equal((await one.browser.closed).code, 1008, 'the first session');
  t.equal((await two.browser.closed).code, 1008, 'the second session');
  t.equal(h.metrics.quotaCloses, 2);
  // A session opened for a caller already over is ended as well.
  const three = await h.connect();
  q.sessionOpened(three.s, 'sub:carol');
  t.equal((await three.browser.closed).code, 1008, 'a late session of the same caller');
});

t.test('tokens: the quota counts response.done usage', async (t) => {
  const h = await startRelay(t);
  const q = new Quotas(
    { limits: { audioMs: 0, tokens: 1000 }, graceMs: 1000, flushMs: 50 },
    null,
    pino({ level: 'silent' }),
    h.metrics,
  );
  t.teardown(() => q.close());
  const { browser, s } = await h.connect();
  q.sessionOpened(s, 'sub:dan');
  q.audioAdded(s, 10 * MINUTE);
  q.responseStarted(s);
  q.responseDone(s, 600);
  t.equal(h.metrics.quotaCloses, 0, 'audio is not limited, 600 tokens is under');
  q.responseStarted(s);
  q.responseDone(s, 400);
  t.equal((await browser.closed).code, 1008, 'closed at 1000 tokens');
});

t.test('the rolling day: Retry-After is when enough of the oldest hours have left', async (t) => {
  const now = 1_000 * HOUR_MS + 15 * MINUTE; // a quarter past an hour
  const hour = hourOf(now);
  const b = new HourBuckets();
  b.add(hour - 23, 30_000, 0);
  b.add(hour - 1, 40_000, 0);
  b.add(hour - 24, 99_000, 0); // already out of the window
  const none = { audioMs: 0, tokens: 0 };
  t.same(b.totals(hour, { audioMs: 0, tokens: 0 }), { audioMs: 70_000, tokens: 0 });
  // Over 60 s: the hour-23 bucket leaves at the end of this hour (45 min from now).
  t.equal(b.retryAfterS(now, { audioMs: MINUTE, tokens: 0 }, none), 45 * 60);
  // Over 30 s: the hour-1 bucket must leave too, at the end of hour + 22 (22 h 45 min from now).
  t.equal(b.retryAfterS(now, { audioMs: 30_000, tokens: 0 }, none), 22 * 3600 + 45 * 60);
  t.equal(b.retryAfterS(now, { audioMs: 80_000, tokens: 0 }, none), 0, 'under: no wait');
  t.equal(b.retryAfterS(now, { audioMs: 80_000, tokens: 0 }, { audioMs: 10_000, tokens: 0 }), 45 * 60, 'with extra');
  t.notOk(b.idle(hour));
  t.ok(b.idle(hour + 23), 'forgotten once every bucket left');
});

t.test('totals without a quota: nothing refused, nothing closed', async (t) => {
  const h = await startRelay(t);
  const q = new Quotas(
    { limits: { audioMs: 0, tokens: 0 }, graceMs: 1000, flushMs: 20 },
    null,
    pino({ level: 'silent' }),
    h.metrics,
  );
  t.teardown(() => q.close());
  const { s } = await h.connect();
  q.sessionOpened(s, 'ip:10.0.0.9');
  q.audioAdded(s, 100 * MINUTE);
  t.notOk(q.enforcing);
  t.equal(q.checkLocal('ip:10.0.0.9'), 0);
  await until(() => h.metrics.quotaCloses === 0 && s.client !== null, 'still open');
  t.match(await q.read('ip:10.0.0.9'), { audioMs: 100 * MINUTE, retryAfterS: 0 });
});
