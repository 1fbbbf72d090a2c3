// A front end that adds its own X-Forwarded-For line instead of rewriting the
// header (HAProxy's `option forwardfor`) leaves the client's lines above its
// own. Every line counts, in order, as one comma list (RFC 9110 §5.3): the
// walk from the right then finds the address the trusted proxy wrote, never
// one the client made up.
import t, { type Test } from 'tap';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startHarness } from '../helpers/harness';
import { upgradeRequest } from '../helpers/raw-upgrade';

interface Held {
  status: number;
  sock: Socket;
}

/** A raw upgrade whose socket is kept open (a 101 keeps its slot) until the test ends. */
function hold(t: Test, port: number, lines: string[]): Promise<Held> {
  const extra = lines.map((l) => `X-Forwarded-For: ${l}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    t.teardown(() => sock.destroy());
    let buf = '';
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(upgradeRequest(port, { extra })));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n')) resolve({ status: Number(buf.slice(9, 12)), sock });
    });
    sock.once('error', reject);
    sock.once('close', () => resolve({ status: 0, sock }));
  });
}

/** A plain GET whose headers may repeat (an array is sent as one line per value). */
function get(
  port: number,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('error', reject);
    req.end();
  });
}

t.test('upgrades: the per-address cap applies to the address the trusted proxy appended', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1' });
  const port = h.proxy.port;
  for (let i = 0; i < 10; i++) {
    const r = await hold(t, port, [`198.51.100.${i + 1}`, '203.0.113.9']);
    t.equal(r.status, 101, `session ${i + 1}`);
  }
  t.equal(h.proxy.gate.counter.activeFor('203.0.113.9'), 10, 'counted for the appended address');
  const eleventh = await hold(t, port, ['198.51.100.99', '203.0.113.9']);
  t.equal(eleventh.status, 503, 'a fresh forged first line buys no fresh identity');
  t.equal((await hold(t, port, ['203.0.113.10'])).status, 101, 'another client is served');
});

t.test('upgrades: a forged first line does not get its victim limited', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1' });
  const port = h.proxy.port;
  for (let i = 0; i < 10; i++) t.equal((await hold(t, port, ['192.0.2.50', '203.0.113.9'])).status, 101);
  t.equal(h.proxy.gate.counter.activeFor('192.0.2.50'), 0, 'nothing counted for the victim');
  t.equal((await hold(t, port, ['192.0.2.50'])).status, 101, 'the victim, behind the same proxy, is served');
});

t.test('plain HTTP: the rate limit and HSTS read every line', async (t) => {
  const h = await startHarness(t, { TRUST_PROXY: '1', RATE_LIMIT_MAX_REQUESTS: '3' });
  const port = h.proxy.port;
  for (let i = 0; i < 3; i++) {
    const r = await get(port, '/', { 'x-forwarded-for': [`198.51.100.${i + 1}`, '203.0.113.9'] });
    t.equal(r.status, 200);
  }
  const limited = await get(port, '/', { 'x-forwarded-for': ['198.51.100.99', '203.0.113.9'] });
  t.equal(limited.status, 429, 'the fourth request from the appended address waits');
  t.equal((await get(port, '/', { 'x-forwarded-for': ['203.0.113.10'] })).status, 200, 'another client is served');
  const proto = await get(port, '/livez', {
    'x-forwarded-for': '203.0.113.11',
    'x-forwarded-proto': ['https', 'http'],
  });
  t.equal(proto.headers['strict-transport-security'], undefined, 'the proxy says http: no HSTS');
  const tls = await get(port, '/livez', { 'x-forwarded-for': '203.0.113.11', 'x-forwarded-proto': ['http', 'https'] });
  t.ok(tls.headers['strict-transport-security'], 'the proxy says https: HSTS');
});
