// The cork anchor (src/http/cork-anchor.ts): late upgrades (CLIENT_AUTH,
// the fleet) are corked by a loopback request the proxy holds, because uWS
// v20.51's own res.cork can close a WebSocket right after its 101. What is
// pinned here: the anchor is held before the port opens, its loopback port is
// closed once held, its path is a 404 for anyone else, a lost anchor is made
// again, late upgrades work with it and without it (then uncorked, never in
// their own response's cork), and after shutdown nothing of it is left.
import t from 'tap';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { startHarness, type Harness } from '../helpers/harness';
import { mintTicket } from '../../src/auth/mint-ticket';
import { CorkAnchor } from '../../src/http/cork-anchor';
import { UpgradeReply } from '../../src/http/upgrade-reply';
import pino from 'pino';
import type { HttpResponse, us_socket_context_t } from 'uWebSockets.js';

const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

function setup(t: Parameters<typeof startHarness>[0]): Promise<Harness> {
  return startHarness(t, { CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET });
}

/** A late (ticket-verified) session that gets its first event. */
async function lateSession(h: Harness, sub: string): Promise<void> {
  const ticket = await mintTicket({ sub, secret: SECRET, origin: 'http://localhost:3000' });
  const c = h.client(`model=gpt-realtime&ticket=${ticket}`);
  if ((await c.nextJson()).type !== 'session.created') throw new Error('no session.created');
  await c.close(1000, 'bye');
}

function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('held before the port opens; its loopback port is closed once held', async (t) => {
  const h = await setup(t);
  const a = h.proxy.corkAnchor;
  t.ok(a.held, 'held when startProxy resolves');
  t.not(a.port, 0);
  t.equal(await connectError(a.port), 'ECONNREFUSED', 'no loopback listener left');
  await lateSession(h, 'u1');
  t.equal(h.proxy.metrics.authOk, 1);
});

t.test('a late upgrade that carries a request error still sends its error event and 1008', async (t) => {
  // Inside the anchor's cork the new socket is not corked: its sends take uWS's uncorked path.
  const h = await setup(t);
  const ticket = await mintTicket({ sub: 'u5', secret: SECRET, origin: 'http://localhost:3000' });
  const c = h.client(`model=not-an-allowed-model&ticket=${ticket}`);
  const event = await c.nextJson();
  t.equal(event.type, 'error');
  t.equal((event.error as { code: string }).code, 'model_not_allowed');
  t.same(await c.closed, { code: 1008, reason: 'Model not allowed' });
});

t.test('its path is a 404 on the public port once held', async (t) => {
  const h = await setup(t);
  const res = await h.http(h.proxy.corkAnchor.path);
  t.equal(res.status, 404);
  t.ok(h.proxy.corkAnchor.held, 'the anchor is still the one held');
  await lateSession(h, 'u2');
});

t.test('a lost anchor is made again, through a new loopback listener', async (t) => {
  const h = await setup(t);
  const a = h.proxy.corkAnchor;
  const firstPort = a.port;
  const lost = h.logLine('cork anchor connection lost');
  (a as unknown as { client: Socket }).client.destroy();
  await lost;
  await a.settled();
  t.ok(a.held, 'held again');
  t.not(a.port, firstPort);
  t.equal(await connectError(a.port), 'ECONNREFUSED', 'closed again once held');
  await lateSession(h, 'u3');
  t.equal(h.proxy.metrics.authOk, 1);
});

t.test('without the anchor a late upgrade runs uncorked', async (t) => {
  const h = await setup(t);
  const a = h.proxy.corkAnchor;
  a.stop();
  t.notOk(a.held);
  await lateSession(h, 'u4');
  t.equal(h.proxy.metrics.authOk, 1);
  t.notOk(
    h.logs.some((l) => l.includes('cork anchor connection lost')),
    'a stopped anchor is not made again',
  );
});

t.test('a late upgrade without a held anchor is never corked by its own response', (t) => {
  // The own cork is the one that can close the new WebSocket right after its
  // 101 (docs/decisions/0003-cork-anchor.md), and how often depends on freed
  // memory, so the call itself is what is checked: a stand-in response that
  // records which of its methods were called.
  const calls: string[] = [];
  const res = {
    onAborted: () => calls.push('onAborted'),
    cork: (f: () => void) => {
      calls.push('cork');
      f();
    },
    upgrade: () => calls.push('upgrade'),
  } as unknown as HttpResponse;
  const reply = new UpgradeReply(res, 'key', '', '', {} as us_socket_context_t, { tls: false, corsOrigin: '' });
  const anchor = new CorkAnchor(pino({ level: 'silent' }));
  t.notOk(anchor.held);
  reply.defer(anchor, () => undefined);
  t.ok(reply.upgrade({}));
  t.same(calls, ['onAborted', 'upgrade']);
  t.end();
});

t.test('no anchor request without late upgrades (CLIENT_AUTH=none, no REDIS_URL)', async (t) => {
  const h = await startHarness(t);
  const a = h.proxy.corkAnchor;
  t.notOk(a.held);
  t.equal(a.port, 0, 'no loopback listener was ever opened');
  t.equal((await h.http(a.path)).status, 404);
});

t.test('shutdown lets go of it', async (t) => {
  const h = await setup(t);
  const a = h.proxy.corkAnchor;
  await h.proxy.shutdown(0);
  t.notOk(a.held);
  const client = (a as unknown as { client: Socket | null }).client;
  t.equal(client, null, 'its socket is closed, and it is not made again');
});
