// Internet-safe admission (docs/contract.md §4), over real sockets: the defaults
// bound what one address holds; upgrades spend a smaller bucket than HTTP;
// IPv6 prefixes wider than /64 are limited in aggregate; a direct client's
// X-Forwarded-For is never believed; /metrics is not open beyond loopback and
// wrong tokens are throttled.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { httpGet as get } from '../helpers/http-get';
import { until } from '../helpers/wait';

t.test('defaults: 10 sessions per address, 20 upgrades a minute, HTTP routes on their own bucket', async (t) => {
  const h = await startHarness(t);
  t.equal(h.cfg.maxConnectionsPerIp, 10);
  t.equal(h.cfg.upgradeRateLimitMaxRequests, 20);
  t.equal(h.cfg.rateLimitMaxRequests, 100);
  const from = { localAddress: '127.0.0.21' };
  const held = Array.from({ length: 10 }, () => h.client('', from));
  await Promise.all(held.map((c) => c.opened));
  const eleventh = await h.client('', from).refused;
  t.equal(eleventh.status, 503);
  t.equal(JSON.parse(eleventh.body).error.code, 'ip_at_capacity');
  await h.client('', { localAddress: '127.0.0.22' }).opened;
  t.pass('another address is served');
  for (const c of held) await c.close();
  await until(() => h.proxy.gate.counter.activeFor('127.0.0.21') === 0, 'slots back');
  // 11 upgrades spent so far (a refusal spends a token too): 9 more pass, the 21st waits.
  for (let i = 0; i < 9; i++) {
    const c = h.client('', from);
    await c.opened;
    await c.close();
  }
  const limited = await h.client('', from).refused;
  t.equal(limited.status, 429);
  t.equal(limited.headers['retry-after'], '3', 'one upgrade every 3 s (60 s / 20)');
  t.equal((await get(h.proxy.port, '/', '127.0.0.21')).status, 200, 'plain HTTP routes have their own bucket');
});

t.test('separate windows and bursts for upgrades and HTTP', async (t) => {
  const h = await startHarness(t, {
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1',
    RATE_LIMIT_MAX_REQUESTS: '2',
    UPGRADE_RATE_LIMIT_WINDOW_MS: '3600000',
  });
  const c = h.client('', { localAddress: '127.0.0.23' });
  await c.opened;
  const r = await h.client('', { localAddress: '127.0.0.23' }).refused;
  t.equal(r.status, 429);
  t.equal(r.headers['retry-after'], '3600');
  t.equal((await get(h.proxy.port, '/', '127.0.0.23')).status, 200);
  t.equal((await get(h.proxy.port, '/', '127.0.0.23')).status, 200);
  t.equal((await get(h.proxy.port, '/', '127.0.0.23')).status, 429, 'HTTP keeps its own burst');
});

t.test('IPv6: wider prefixes are limited in aggregate on top of each /64', async (t) => {
  // Behind a trusted proxy on loopback, X-Forwarded-For picks the client address.
  const h = await startHarness(t, {
    TRUST_PROXY: '1',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '2',
    IPV6_PREFIX_LIMITS: '56:2,48:3',
    MAX_CONNECTIONS_PER_IP: '1000',
  });
  const from = (addr: string) => ({ headers: { 'x-forwarded-for': addr } });
  // Four /64s in one /56: each /64 may start 2, the /56 4 in all.
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c = h.client('', from(`2001:db8:0:${i}::1`));
    statuses.push(await Promise.race([c.opened.then(() => 101), c.refused.then((r) => r.status)]));
  }
  t.same(statuses, [101, 101, 101, 101, 429], 'the /56 ran dry after 4, though each /64 had tokens left');
  // Another /56 of the same /48: the /48 has 6 in all, 4 spent.
  const other: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c = h.client('', from(`2001:db8:0:1${i}0::1`));
    other.push(await Promise.race([c.opened.then(() => 101), c.refused.then((r) => r.status)]));
  }
  t.same(other, [101, 101, 429], 'then the /48');
  const elsewhere = h.client('', from('2001:db8:1::1'));
  await elsewhere.opened;
  t.pass('another /48 is untouched');
});

t.test('IPv6: the per-address cap applies to wider prefixes too, and comes back', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1', MAX_CONNECTIONS_PER_IP: '1', IPV6_PREFIX_LIMITS: '56:2' });
  const from = (addr: string) => ({ headers: { 'x-forwarded-for': addr } });
  const a = h.client('', from('2001:db8:0:1::1'));
  const b = h.client('', from('2001:db8:0:2::1'));
  await a.opened;
  await b.opened;
  const c = await h.client('', from('2001:db8:0:3::1')).refused;
  t.equal(c.status, 503);
  t.equal(JSON.parse(c.body).error.code, 'ip_at_capacity', 'the /56 holds 2 sessions');
  t.equal(h.proxy.gate.counter.activeFor('2001:db8:0:3::/64'), 0, 'the refused /64 keeps no slot');
  await a.close();
  await until(() => h.proxy.gate.counter.activeFor('2001:db8::/56') === 1, '/56 count released');
  await h.client('', from('2001:db8:0:3::1')).opened;
  t.pass('a slot of the /56 came back');
});

t.test('TRUST_PROXY=1: a peer outside TRUST_PROXY_CIDRS is its own client', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1', TRUST_PROXY_CIDRS: '192.0.2.0/24' });
  await h.client('', { headers: { 'x-forwarded-for': '198.51.100.77' } }).opened;
  t.equal((await h.logLine('session open')).ip, '127.0.0.1', 'its X-Forwarded-For is not believed');
});

t.test('/metrics beyond loopback needs METRICS_TOKEN', async (t) => {
  // Listening on every interface (the test still only connects to 127.0.0.1).
  const h = await startHarness(t, { HOST: '0.0.0.0' });
  const r = await get(h.proxy.port, '/metrics', '127.0.0.1');
  t.equal(r.status, 403);
  t.same(JSON.parse(r.body), { error: { code: 'metrics_disabled', message: 'Metrics disabled: set METRICS_TOKEN' } });
  t.ok(
    h.logs.some((l) => l.includes('/metrics refused')),
    'said at start',
  );
  t.equal((await get(h.proxy.port, '/health', '127.0.0.1')).status, 200);
});

t.test('/metrics: wrong tokens are throttled per client; the right token always passes', async (t) => {
  const token = 'm'.repeat(40);
  const h = await startHarness(t, { HOST: '0.0.0.0', METRICS_TOKEN: token });
  const good = { authorization: `Bearer ${token}` };
  t.equal((await get(h.proxy.port, '/metrics', '127.0.0.31', good)).status, 200);
  for (let i = 0; i < 10; i++) {
    t.equal((await get(h.proxy.port, '/metrics', '127.0.0.31', { authorization: `Bearer guess-${i}` })).status, 401);
  }
  const limited = await get(h.proxy.port, '/metrics', '127.0.0.31', { authorization: 'Bearer guess-x' });
  t.equal(limited.status, 429);
  t.equal(limited.headers['retry-after'], '6', 'one more guess every 6 s');
  t.equal(
    (await get(h.proxy.port, '/metrics', '127.0.0.31', good)).status,
    200,
    'the right token: a neighbour guessing cannot lock the scraper out',
  );
  t.equal((await get(h.proxy.port, '/metrics', '127.0.0.32', good)).status, 200, 'another client is not affected');
});
