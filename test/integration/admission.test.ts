// Admission over real sockets (docs/contract.md §4): every refusal is an HTTP status before
// the upgrade, with a JSON body and, where it helps, Retry-After.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { startWsUpstream } from '../helpers/ws-upstream';
import { until } from '../helpers/wait';

const SECURITY_HEADERS: Record<string, string | RegExp> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': /default-src 'none'/,
};

t.test('origin: exact match only; missing origin refused unless ALLOW_NO_ORIGIN', async (t) => {
  const h = await startHarness(t, { ALLOWED_ORIGINS: 'http://localhost:3000,https://app.example.com' });
  await h.client().opened;
  await h.client('', { origin: 'https://app.example.com' }).opened;
  for (const origin of [
    'http://localhost:3000.evil.com',
    'http://localhost:30001',
    'https://localhost:3000',
    'null',
    'http://evil.com',
  ]) {
    const r = await h.client('', { origin }).refused;
    t.equal(r.status, 403, origin);
    t.same(JSON.parse(r.body), { error: { code: 'origin_not_allowed', message: 'Origin not allowed' } });
    t.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS grant for a refused origin');
    t.equal(r.headers['x-content-type-options'], 'nosniff');
  }
  t.equal((await h.client('', { origin: null }).refused).status, 403, 'missing origin');
  t.equal(h.proxy.metrics.upgradesOrigin, 6);
  t.equal(h.sim.stats.sessions, 2, 'refused clients never reached the upstream');

  const open = await startHarness(t, { ALLOW_NO_ORIGIN: 'true' });
  await open.client('', { origin: null }).opened;
  t.equal(
    (await open.client('', { origin: 'http://evil.com' }).refused).status,
    403,
    'ALLOW_NO_ORIGIN does not open other origins',
  );

  const any = await startHarness(t, { ALLOWED_ORIGINS: '*', ALLOW_ANONYMOUS_WILDCARD: 'true' });
  await any.client('', { origin: 'http://anything.example' }).opened;
  t.pass('* allows any origin when set explicitly');
});

t.test('rate limit: 429 with Retry-After per client IP; other IPs and /health unaffected', async (t) => {
  const h = await startHarness(t, {
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '3',
    UPGRADE_RATE_LIMIT_WINDOW_MS: '60000',
    RATE_LIMIT_MAX_REQUESTS: '1',
  });
  for (let i = 0; i < 3; i++) await h.client('', { localAddress: '127.0.0.1' }).opened;
  const r = await h.client('', { localAddress: '127.0.0.1' }).refused;
  t.equal(r.status, 429);
  t.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
  t.same(JSON.parse(r.body).error.code, 'rate_limited');
  t.equal((await h.http('/')).status, 200, 'HTTP routes spend their own bucket');
  t.equal((await h.http('/')).status, 429, 'and it runs dry on its own');
  t.equal((await h.http('/health')).status, 200, '/health is exempt');
  await h.client('', { localAddress: '127.0.0.2' }).opened;
  t.pass('another IP is served normally');
  t.equal(h.proxy.metrics.upgradesRate, 1);
});

t.test('TRUST_PROXY: forwarded headers ignored unless trusted', async (t) => {
  const spoof = await startHarness(t, { UPGRADE_RATE_LIMIT_MAX_REQUESTS: '2' });
  await spoof.client('', { headers: { 'x-forwarded-for': '10.0.0.1' } }).opened;
  await spoof.client('', { headers: { 'x-forwarded-for': '10.0.0.2' } }).opened;
  const r = await spoof.client('', { headers: { 'x-forwarded-for': '10.0.0.3' } }).refused;
  t.equal(r.status, 429, 'a spoofed X-Forwarded-For does not buy a new bucket');

  const trusted = await startHarness(t, { UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1', TRUST_PROXY: '1' });
  await trusted.client('', { headers: { 'x-forwarded-for': '203.0.113.7' } }).opened;
  await trusted.client('', { headers: { 'x-forwarded-for': '203.0.113.8' } }).opened;
  const again = await trusted.client('', { headers: { 'x-forwarded-for': '203.0.113.7' } }).refused;
  t.equal(again.status, 429, 'behind one trusted hop the forwarded client is the key');
  const line = await trusted.logLine('session open');
  t.equal(line.ip, '203.0.113.7');

  const hsts = await trusted.http('/health', { headers: { 'x-forwarded-proto': 'https' } });
  t.match(hsts.headers.get('strict-transport-security'), /max-age=/, 'HSTS when a trusted proxy says TLS');
  const plain = await spoof.http('/health', { headers: { 'x-forwarded-proto': 'https' } });
  t.equal(plain.headers.get('strict-transport-security'), null, 'no HSTS from an untrusted header');
});

t.test('capacity: 503 with Retry-After, per-IP cap, and slots come back', async (t) => {
  const h = await startHarness(t, { MAX_CONNECTIONS: '2' });
  const a = h.client();
  await a.opened;
  await h.client().opened;
  const r = await h.client().refused;
  t.equal(r.status, 503);
  t.equal(r.headers['retry-after'], '5');
  t.equal(JSON.parse(r.body).error.code, 'at_capacity');
  const health = (await (await h.http('/health')).json()) as Record<string, unknown>;
  t.equal(health.activeConnections, 2);
  t.equal(health.maxConnections, 2);
  await a.close();
  await h.client().opened;
  t.pass('a closed session frees its slot');

  const p = await startHarness(t, { MAX_CONNECTIONS_PER_IP: '1' });
  await p.client('', { localAddress: '127.0.0.1' }).opened;
  const same = await p.client('', { localAddress: '127.0.0.1' }).refused;
  t.equal(same.status, 503);
  t.equal(JSON.parse(same.body).error.code, 'ip_at_capacity');
  await p.client('', { localAddress: '127.0.0.3' }).opened;
  t.equal(p.proxy.metrics.upgradesIpCapacity, 1);
});

t.test('HTTP routes: security headers everywhere, CORS only for allowed origins', async (t) => {
  const h = await startHarness(t);
  for (const path of ['/health', '/', '/nope', '/metrics']) {
    const res = await h.http(path, { headers: { origin: 'http://localhost:3000' } });
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
      if (typeof v === 'string') t.equal(res.headers.get(k), v, `${path} ${k}`);
      else t.match(res.headers.get(k), v, `${path} ${k}`);
    }
    t.equal(
      res.headers.get('access-control-allow-origin'),
      'http://localhost:3000',
      `${path} CORS for an allowed origin`,
    );
  }
  const foreign = await h.http('/health', { headers: { origin: 'http://evil.com' } });
  t.equal(foreign.headers.get('access-control-allow-origin'), null);
  const notFound = await h.http('/nope');
  t.equal(notFound.status, 404);
  t.same(await notFound.json(), { error: { code: 'not_found', message: 'Not found' } });
  const pre = await h.http('/health', {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
  });
  t.equal(pre.status, 204);
  t.match(pre.headers.get('access-control-allow-methods'), /GET/);
  const root = (await (await h.http('/')).json()) as Record<string, unknown>;
  t.equal(root.name, 'voice-live-proxy');
  t.match(root.version, /^\d+$/, 'the major version only');
  const plain = await h.http('/ws');
  t.equal(plain.status, 426, 'a plain GET on /ws asks for an upgrade');
});

t.test('oversized frames close 1009; invalid UTF-8 fails the connection; the process stays healthy', async (t) => {
  const h = await startHarness(t, { MAX_MESSAGE_BYTES: '2048' });
  const big = h.client();
  await big.waitFor('session.created');
  big.send(Buffer.alloc(4096), true);
  t.same(await big.closed, { code: 1009, reason: 'Message too big' });
  t.equal((await h.logLine('session closed')).error, 'message_too_big');

  // Past uWS's own budget (twice the limit) and for invalid UTF-8, uWS fails
  // the connection without a close frame: the browser sees 1006, the log and
  // the upstream get the real cause.
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h2 = await startHarness(t, { MAX_MESSAGE_BYTES: '2048', AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  const tooBig = h2.client();
  await tooBig.opened;
  const u0 = await up.nextConnection();
  await until(() => [...h2.proxy.relay.sessions].some((x) => x.upstreamOpen), 'the upstream to open');
  tooBig.send(Buffer.alloc(3000), true);
  t.same(await u0.closed, { code: 1009, reason: 'Message too big' }, "the upstream learns the proxy's own close code");
  const huge = h2.client();
  await huge.opened;
  const u1 = await up.nextConnection();
  huge.send(Buffer.alloc(5000), true);
  t.equal((await huge.closed).code, 1006);
  t.same(await u1.closed, { code: 1009, reason: 'Message too big' });

  const bad = h2.client();
  await bad.opened;
  const u2 = await up.nextConnection();
  bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  t.equal((await bad.closed).code, 1006);
  t.same(await u2.closed, { code: 1007, reason: 'Invalid UTF-8 in text frame' });

  const ok = h2.client();
  await ok.opened;
  t.equal((await h2.http('/health')).status, 200, 'others are still served');
  t.equal(h2.proxy.gate.counter.active, 1);
});
