// IPv6 prefix limits (IPV6_PREFIX_LIMITS): by default up to a provider's /32,
// so many /48s from one allocation are bounded; with REDIS_URL every prefix's
// cap and bucket holds across replicas, not only the /64's.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import type { TestClient } from '../helpers/client';
import { redisMissing, startRedis } from '../helpers/redis-server';

const skip = redisMissing();

function from(h: Harness, addr: string): TestClient {
  return h.client('', { headers: { 'x-forwarded-for': addr } });
}

/** 101, or the refusal's status and code. */
async function outcome(c: TestClient): Promise<string> {
  return Promise.race([
    c.opened.then(() => '101'),
    c.refused.then((r) => `${r.status} ${(JSON.parse(r.body) as { error: { code: string } }).error.code}`),
  ]);
}

t.test('default limits: many /48s of one /32 are bounded (64 x the per-address cap)', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1', MAX_CONNECTIONS_PER_IP: '1', MAX_CONNECTIONS: '1000' });
  const opened: string[] = [];
  for (let i = 0; i < 64; i++) opened.push(await outcome(from(h, `2001:db8:${i.toString(16)}::1`)));
  t.equal(opened.filter((o) => o === '101').length, 64, '64 /48s of the /32, one session each');
  t.equal(await outcome(from(h, '2001:db8:ff::1')), '503 ip_at_capacity', 'a 65th /48 of the same /32');
  t.equal(await outcome(from(h, '2001:db9::1')), '101', 'another /32 is untouched');
});

async function fleet(t: Test, env: Record<string, string>): Promise<[Harness, Harness]> {
  const redis = await startRedis(t);
  const common = { REDIS_URL: redis.url, FLEET_KEY_PREFIX: 'v6', TRUST_PROXY: '1', ...env };
  const a = await startHarness(t, common);
  const b = await startHarness(t, common);
  await Promise.all([a.logLine('fleet: redis up'), b.logLine('fleet: redis up')]);
  return [a, b];
}

t.test('REDIS_URL: two replicas share the /56 and /48 caps', { skip }, async (t) => {
  const [a, b] = await fleet(t, { MAX_CONNECTIONS_PER_IP: '1', IPV6_PREFIX_LIMITS: '56:2,48:3' });
  t.equal(await outcome(from(a, '2001:db8:0:1::1')), '101');
  t.equal(await outcome(from(b, '2001:db8:0:2::1')), '101');
  t.equal(await outcome(from(a, '2001:db8:0:3::1')), '503 ip_at_capacity', 'the /56 holds 2 across both');
  t.equal(await outcome(from(b, '2001:db8:0:4::1')), '503 ip_at_capacity', 'on either replica');
  t.equal(await outcome(from(b, '2001:db8:0:100::1')), '101', 'another /56 of the /48');
  t.equal(await outcome(from(a, '2001:db8:0:200::1')), '503 ip_at_capacity', 'the /48 holds 3 across both');
  t.equal(await outcome(from(a, '2001:db8:1::1')), '101', 'another /48 is untouched');
});

t.test('REDIS_URL: two replicas share the /56 upgrade bucket', { skip }, async (t) => {
  const [a, b] = await fleet(t, {
    MAX_CONNECTIONS_PER_IP: '1000',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1',
    IPV6_PREFIX_LIMITS: '56:2',
  });
  t.equal(await outcome(from(a, '2001:db8:0:1::1')), '101');
  t.equal(await outcome(from(b, '2001:db8:0:2::1')), '101');
  t.equal(await outcome(from(a, '2001:db8:0:3::1')), '429 rate_limited', 'the /56 had 2 tokens in all');
  t.equal(await outcome(from(b, '2001:db8:1::1')), '101', 'another /48 is untouched');
});
