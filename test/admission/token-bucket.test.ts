import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RateLimiter } from '../../src/admission/token-bucket';

function clock(start = 1000): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    set: (ms) => {
      time = ms;
    },
  };
}

t.test('burst, then refused with Retry-After', async (t) => {
  const c = clock();
  const rl = new RateLimiter({ windowMs: 60_000, maxRequests: 5, maxKeys: 100, now: c.now });
  for (let i = 0; i < 5; i++) t.equal(rl.take('1.2.3.4'), 0, `request ${i + 1} of the burst`);
  // One token every 12 s.
  t.equal(rl.take('1.2.3.4'), 12, 'retry after a whole token interval');
  t.equal(rl.take('5.6.7.8'), 0, 'other keys have their own bucket');
  c.advance(5_000);
  t.equal(rl.take('1.2.3.4'), 7, 'ceil of the remaining 7 s');
  c.advance(6_500);
  t.equal(rl.take('1.2.3.4'), 1, 'never less than 1 s while refused');
  c.advance(500);
  t.equal(rl.take('1.2.3.4'), 0, 'token back after 12 s in total');
  t.equal(rl.take('1.2.3.4'), 12);
  t.equal(rl.size, 2);
});

t.test('lazy refill up to the burst, not beyond', async (t) => {
  const c = clock();
  const rl = new RateLimiter({ windowMs: 1_000, maxRequests: 10, maxKeys: 10, now: c.now });
  for (let i = 0; i < 10; i++) rl.take('k');
  t.ok(rl.take('k') > 0);
  c.advance(500);
  let allowed = 0;
  while (rl.take('k') === 0) allowed++;
  t.equal(allowed, 5, 'half a window refills half the burst');
  c.advance(3_600_000);
  allowed = 0;
  while (rl.take('k') === 0) allowed++;
  t.equal(allowed, 10, 'an idle hour refills only to the burst');
});

t.test('a clock that steps back does not drain or refill', async (t) => {
  const c = clock(10_000);
  const rl = new RateLimiter({ windowMs: 1_000, maxRequests: 2, maxKeys: 10, now: c.now });
  t.equal(rl.take('k'), 0);
  c.set(5_000);
  t.equal(rl.take('k'), 0, 'second token still there');
  t.ok(rl.take('k') > 0);
  c.advance(500);
  t.equal(rl.take('k'), 0, 'refill counts from the new time');
});

t.test('maxRequests = 1 and a long window', async (t) => {
  const c = clock();
  const rl = new RateLimiter({ windowMs: 86_400_000, maxRequests: 1, maxKeys: 10, now: c.now });
  t.equal(rl.take('k'), 0);
  t.equal(rl.take('k'), 86_400);
});

t.test('default clock is real time', async (t) => {
  const rl = new RateLimiter({ windowMs: 60_000, maxRequests: 2, maxKeys: 10 });
  t.equal(rl.take('k'), 0);
  t.equal(rl.take('k'), 0);
  t.equal(rl.take('k'), 30);
});

t.test('invalid options', async (t) => {
  t.throws(() => new RateLimiter({ windowMs: 0, maxRequests: 1, maxKeys: 1 }), RangeError);
  t.throws(() => new RateLimiter({ windowMs: 1, maxRequests: 0, maxKeys: 1 }), RangeError);
  t.throws(() => new RateLimiter({ windowMs: 1, maxRequests: 1, maxKeys: 0 }), RangeError);
  t.throws(() => new RateLimiter({ windowMs: NaN, maxRequests: 1, maxKeys: 1 }), RangeError);
});

t.test('eviction keeps size <= maxKeys and keeps returning clients', async (t) => {
  const c = clock();
  const rl = new RateLimiter({ windowMs: 60_000, maxRequests: 3, maxKeys: 50, now: c.now });
  // A client that is rate limited and keeps coming back.
  for (let i = 0; i < 3; i++) rl.take('busy');
  t.ok(rl.take('busy') > 0);
  let limited = 0;
  let maxSize = 0;
  for (let i = 0; i < 10_000; i++) {
    rl.take(`flood-${i}`);
    if (i % 10 === 0 && rl.take('busy') > 0) limited++; // keeps it referenced
    maxSize = Math.max(maxSize, rl.size);
  }
  t.equal(limited, 1_000, 'still limited throughout the flood');
  t.equal(maxSize, 50);
  t.ok(rl.take('busy') > 0, 'the busy client was never forgotten');
});

t.test('eviction prefers buckets that refilled anyway', async (t) => {
  const c = clock();
  const rl = new RateLimiter({ windowMs: 1_000, maxRequests: 2, maxKeys: 4, now: c.now });
  for (const k of ['a', 'b', 'c', 'd']) {
    rl.take(k);
    rl.take(k);
    rl.take(k);
  } // all referenced, all empty
  c.advance(2_000); // every bucket is full again
  t.equal(rl.take('e'), 0);
  t.equal(rl.size, 4);
  // All referenced and none full: the hand clears bits and takes one after its probe budget.
  const rl2 = new RateLimiter({ windowMs: 60_000, maxRequests: 2, maxKeys: 16, now: c.now });
  for (let i = 0; i < 16; i++) {
    rl2.take(`k${i}`);
    rl2.take(`k${i}`);
  }
  t.equal(rl2.take('new'), 0);
  t.equal(rl2.size, 16);
});

t.test('a million distinct addresses: size and heap stay bounded', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const maxKeys = 10_000;
  const rl = new RateLimiter({ windowMs: 60_000, maxRequests: 100, maxKeys });
  const key = (i: number): string => `${(i >>> 24) & 255}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  for (let i = 0; i < maxKeys * 2; i++) rl.take(key(i)); // warm up to the bound
  gc();
  const before = process.memoryUsage().heapUsed;
  let maxSize = 0;
  for (let i = 0; i < 1_000_000; i++) {
    rl.take(key(i + 0x01000000));
    if (rl.size > maxSize) maxSize = rl.size;
  }
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  t.ok(maxSize <= maxKeys, `size never above maxKeys (max seen ${maxSize})`);
  t.equal(rl.size, maxKeys);
  t.ok(growth < 8 * 1024 * 1024, `heap growth ${Math.round(growth / 1024)} KiB`);
});

t.test('scaled keys (IPv6 prefixes) get a multiple of burst and refill; peek spends nothing', async (t) => {
  const clock = { now: 0 };
  const rl = new RateLimiter({ windowMs: 60_000, maxRequests: 2, maxKeys: 10, now: () => clock.now });
  t.equal(rl.peek('2001:db8::/48', 4), 0, 'an unknown key would pass');
  t.equal(rl.size, 0, 'and peek does not track it');
  let passed = 0;
  while (rl.take('2001:db8::/48', 4) === 0) passed++;
  t.equal(passed, 8, 'burst 2 x 4');
  t.equal(rl.peek('2001:db8::/48', 4), 8, 'refill 8 a minute: 7.5 s, rounded up');
  t.equal(rl.peek('2001:db8::/48', 4), 8, 'peeking again changes nothing');
  clock.now += 7_500;
  t.equal(rl.peek('2001:db8::/48', 4), 0);
  t.equal(rl.take('2001:db8::/48', 4), 0);
  t.equal(rl.take('2001:db8::/48', 4), 8);
});
