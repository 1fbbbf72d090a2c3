// /metrics without METRICS_TOKEN is for this machine only: the socket peer
// must be loopback and the request must carry no forwarding header, since a
// reverse proxy on the same host also connects from loopback. With a token,
// the right one is always served: wrong tokens from the scraper's address
// cannot lock the scraper out.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { httpGet, type GetAnswer } from '../helpers/http-get';

function get(port: number, localAddress: string, headers: Record<string, string> = {}): Promise<GetAnswer> {
  return httpGet(port, '/metrics', localAddress, headers);
}

const FORWARDED: Record<string, string>[] = [
  { 'x-forwarded-for': '203.0.113.5' },
  { forwarded: 'for=203.0.113.5' },
  { 'x-real-ip': '203.0.113.5' },
  { via: '1.1 nginx' },
];

t.test('no token, loopback HOST: a forwarded request is refused', async (t) => {
  const h = await startHarness(t);
  t.equal(h.cfg.host, '127.0.0.1');
  t.equal((await get(h.proxy.port, '127.0.0.1')).status, 200, 'a local scraper is served');
  for (const headers of FORWARDED) {
    const r = await get(h.proxy.port, '127.0.0.1', headers);
    t.equal(r.status, 403, Object.keys(headers)[0]);
    t.equal(JSON.parse(r.body).error.code, 'metrics_disabled');
  }
});

t.test('no token, TRUST_PROXY set: still the socket peer and the headers decide', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1' });
  t.equal((await get(h.proxy.port, '127.0.0.1', { 'x-forwarded-for': '127.0.0.1' })).status, 403);
  t.equal((await get(h.proxy.port, '127.0.0.1')).status, 200);
});

t.test('a token: the right one is served even after wrong ones from the same address', async (t) => {
  const token = 'k'.repeat(40);
  const h = await startHarness(t, { METRICS_TOKEN: token });
  const good = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 10; i++)
    t.equal((await get(h.proxy.port, '127.0.0.41', { authorization: `Bearer guess-${i}` })).status, 401);
  const limited = await get(h.proxy.port, '127.0.0.41', { authorization: 'Bearer guess-x' });
  t.equal(limited.status, 429, 'wrong tokens past the allowance wait');
  t.equal((await get(h.proxy.port, '127.0.0.41', good)).status, 200, 'the scraper on that address is served');
  t.equal((await get(h.proxy.port, '127.0.0.41', { authorization: 'Bearer guess-y' })).status, 429, 'still limited');
  t.equal(
    (await get(h.proxy.port, '127.0.0.41', { ...good, 'x-forwarded-for': '203.0.113.5' })).status,
    200,
    'forwarded, with the token',
  );
});
