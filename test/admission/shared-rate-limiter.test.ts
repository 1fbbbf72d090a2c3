import t from 'tap';
import { SharedRateLimiter } from '../../src/admission/shared-rate-limiter';
import { KeyedTable, WAYS } from '../../src/admission/keyed-table';

function pair(
  maxRequests: number,
  windowMs: number,
  clock: { now: number },
  maxKeys = 100,
): [SharedRateLimiter, SharedRateLimiter, SharedArrayBuffer] {
  const shared = SharedRateLimiter.createShared(maxKeys);
  const now = (): number => clock.now;
  return [
    new SharedRateLimiter({ windowMs, maxRequests, shared, now }),
    new SharedRateLimiter({ windowMs, maxRequests, shared, now }),
    shared,
  ];
}

/** `n` keys that land in the same set as `victim`: what an attacker holding the hash key could compute. */
function sameSet(shared: SharedArrayBuffer, victim: string, n: number): string[] {
  const table = new KeyedTable(shared);
  const target = table.setOf(victim);
  const keys: string[] = [];
  for (let i = 0; keys.length < n; i++) if (table.setOf(`attacker-${i}`) === target) keys.push(`attacker-${i}`);
  return keys;
}

function drain(l: SharedRateLimiter, key: string): void {
  while (l.take(key) === 0);
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
  let passed = 0;
  while (a.take('2001:db8::/48', 4) === 0) passed++;
  t.equal(passed, 16, 'a scaled (aggregate) key gets its multiple of the burst');
  t.equal(a.take('2001:db8::/48', 4), 4, 'and of the refill (60 s / 16, rounded up)');
});

t.test('different keys never share a bucket', async (t) => {
  const clock = { now: 5_000 };
  // The smallest table: 1024 slots. The old hashed-slot table refused about a
  // third of never-seen clients once 300 keys had drained their buckets.
  const [a] = pair(2, 60_000, clock, 1);
  for (let i = 0; i < 300; i++) drain(a, `drained-${i}`);
  let refused = 0;
  for (let i = 0; i < 5000; i++) if (a.take(`fresh-${i}`) !== 0) refused++;
  t.equal(refused, 0, 'no never-seen client is refused on its first request');
  t.ok(a.size <= 1024, `memory stays bounded (${a.size} buckets)`);
});

t.test('a full set evicts its least recently used bucket; it never merges', async (t) => {
  const clock = { now: 5_000 };
  const [a, , shared] = pair(2, 60_000, clock, 1);
  drain(a, 'victim');
  t.ok(a.take('victim') > 0, 'the victim is limited');
  const crowd = sameSet(shared, 'victim', WAYS);
  for (const k of crowd) {
    clock.now += 1;
    drain(a, k);
  }
  t.equal(a.take('victim'), 0, 'pushed out of a full set, the victim starts again with a full bucket');
  t.ok(a.take(crowd[WAYS - 1]) > 0, 'the most recent keys kept their own buckets');
});

t.test('a recovered hash key is useless: an attacker cannot lock out a chosen client', async (t) => {
  const clock = { now: 5_000 };
  const [a, b, shared] = pair(5, 60_000, clock, 1);
  // The attacker knows the key (read straight from the buffer here) and fills
  // the victim's set with drained buckets before the victim's first request.
  for (const k of sameSet(shared, '198.51.100.7', 3 * WAYS)) drain(a, k);
  t.equal(b.take('198.51.100.7'), 0, "the victim's first request passes");
  for (let i = 0; i < 3; i++) t.equal(b.take('198.51.100.7'), 0, 'and so does the rest of its own burst');
});

t.test('peek answers what take would, without spending or tracking', async (t) => {
  const clock = { now: 1_000_000 };
  const [a, b, shared] = pair(3, 3000, clock);
  t.equal(a.peek('k'), 0, 'an unknown key has a full bucket');
  t.equal(new KeyedTable(shared).size, 0, 'and peeking did not track it');
  t.equal(a.take('k'), 0);
  t.equal(a.take('k'), 0);
  t.equal(b.peek('k'), 0, 'one token left, seen from the other worker');
  t.equal(b.peek('k'), 0, 'peeking again spent nothing');
  t.equal(b.take('k'), 0);
  t.equal(a.peek('k'), 1, 'empty: a whole second until the next token');
  t.equal(a.take('k'), 1, 'take agrees');
  clock.now += 1000;
  t.equal(a.peek('k'), 0, 'refilled');
  t.equal(a.peek('k', 2), 0, 'scaled keys refill faster');
});

t.test('invalid options', async (t) => {
  t.throws(
    () => new SharedRateLimiter({ windowMs: 0, maxRequests: 1, shared: SharedRateLimiter.createShared(1) }),
    RangeError,
  );
  t.throws(
    () => new SharedRateLimiter({ windowMs: 1, maxRequests: 0, shared: SharedRateLimiter.createShared(1) }),
    RangeError,
  );
  t.throws(
    () => new SharedRateLimiter({ windowMs: 1, maxRequests: 1, shared: new SharedArrayBuffer(64) }),
    RangeError,
    'not a table',
  );
  const real = new SharedRateLimiter({ windowMs: 1000, maxRequests: 1, shared: SharedRateLimiter.createShared(1) });
  t.equal(real.take('x'), 0, 'the default clock works');
});
