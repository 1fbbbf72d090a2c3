import t from 'tap';
import { SharedRateLimiter } from '../../src/admission/shared-rate-limiter';

function pair(maxRequests: number, windowMs: number, clock: { now: number }, maxKeys = 100): [SharedRateLimiter, SharedRateLimiter] {
  const shared = SharedRateLimiter.createShared(maxKeys);
  const now = (): number => clock.now;
  return [new SharedRateLimiter({ windowMs, maxRequests, shared, now }), new SharedRateLimiter({ windowMs, maxRequests, shared, now })];
}

t.test('two workers on one buffer share one bucket per key', async (t) => {
  const clock = { now: 1_000_000 };
  const [a, b] = pair(4, 60_000, clock);
  t.equal(a.take('1.2.3.4'), 0);
  t.equal(b.take('1.2.3.4'), 0);
  t.equal(a.take('1.2.3.4'), 0);
  t.equal(b.take('1.2.3.4'), 0);
  t.equal(a.take('1.2.3.4'), 15, 'the fifth request waits for one token: 60 s / 4');
  t.equal(b.take('1.2.3.4'), 15, 'the other worker sees the same empty bucket');
  t.equal(b.take('5.6.7.8'), 0, 'another key has its own bucket');
  t.equal(a.size, 2);
  clock.now += 15_000;
  t.equal(b.take('1.2.3.4'), 0, 'refilled lazily after 15 s');
  t.equal(a.take('1.2.3.4'), 15);
  clock.now += 1_000;
  t.equal(a.take('1.2.3.4'), 14, 'Retry-After counts down');
});

t.test('a full bucket is forgotten and its slot reused; a busy one is shared (never looser)', async (t) => {
  const clock = { now: 5_000 };
  // The smallest table has 1024 slots, so some key among a few thousand lands on k0's slot.
  const [a] = pair(2, 1000, clock, 1);
  const keys: string[] = [];
  // Same-seed collisions are found through the shared limiter itself: exhaust k0, then look for a key already limited.
  a.take('k0');
  a.take('k0');
  for (let i = 1; i < 20_000 && keys.length === 0; i++) {
    if (a.take(`k${i}`) !== 0) keys.push(`k${i}`);
  }
  t.equal(keys.length, 1, 'found a key sharing k0\'s busy slot');
  t.ok(a.take(keys[0]) > 0, 'it shares the limit: stricter, not looser');
  clock.now += 10_000;
  t.equal(a.take(keys[0]), 0, 'once the bucket has refilled, the slot is taken over with a full burst');
});

t.test('invalid options', async (t) => {
  t.throws(() => new SharedRateLimiter({ windowMs: 0, maxRequests: 1, shared: SharedRateLimiter.createShared(1) }), RangeError);
  t.throws(() => new SharedRateLimiter({ windowMs: 1, maxRequests: 0, shared: SharedRateLimiter.createShared(1) }), RangeError);
  const real = new SharedRateLimiter({ windowMs: 1000, maxRequests: 1, shared: SharedRateLimiter.createShared(1) });
  t.equal(real.take('x'), 0, 'the default clock works');
});
