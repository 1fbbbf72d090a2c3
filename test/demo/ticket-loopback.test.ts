// The demo's /demo/ticket answers loopback peers only: a demo listening on
// every interface would otherwise hand a session-opening ticket to anyone
// who can reach it. The start-up log says so.
import t from 'tap';
import { networkInterfaces } from 'node:os';
import { isLoopbackPeer } from '../../src/admission/metrics-guard';
import { startDemoStack } from './stack';

const SECRET = 'demo-ticket-secret-for-tests-0123456789';

/** This machine's first non-internal IPv4 address, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

/** The 4 bytes uWS hands over for an IPv4 peer on an IPv4 listener. */
function v4(a: number, b: number, c: number, d: number): ArrayBuffer {
  return new Uint8Array([a, b, c, d]).buffer;
}

t.test('isLoopbackPeer: 127/8 and ::1, also IPv4-mapped; nothing else', async (t) => {
  t.ok(isLoopbackPeer(v4(127, 0, 0, 1)));
  t.ok(isLoopbackPeer(v4(127, 9, 8, 7)));
  t.notOk(isLoopbackPeer(v4(192, 0, 2, 2)));
  t.notOk(isLoopbackPeer(v4(10, 0, 0, 1)));
  const mapped = new Uint8Array(16);
  mapped.set([0xff, 0xff, 127, 0, 0, 1], 10);
  t.ok(isLoopbackPeer(mapped.buffer), '::ffff:127.0.0.1');
  const one = new Uint8Array(16);
  one[15] = 1;
  t.ok(isLoopbackPeer(one.buffer), '::1');
  t.notOk(isLoopbackPeer(new Uint8Array(16).buffer), '::');
  t.notOk(isLoopbackPeer('not an address'));
});

t.test('ticket mode: a peer beyond loopback gets 403, a loopback one its ticket; the start says so', async (t) => {
  const outside = outsideAddress();
  const stack = await startDemoStack({ CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET, HOST: '0.0.0.0' });
  t.teardown(() => stack.close());
  const port = stack.proxy.port;
  t.ok(
    stack.logs.some((l) => l.includes('"level":"warn"') && l.includes('/demo/ticket') && l.includes('loopback')),
    'a warning at start names the route and the loopback rule',
  );
  t.notOk(stack.logs.join('\n').includes(SECRET), 'the secret is not logged');

  const local = await fetch(`http://127.0.0.1:${port}/demo/ticket`);
  t.equal(local.status, 200);
  t.type(((await local.json()) as { ticket: unknown }).ticket, 'string', 'loopback: a ticket');

  if (outside === undefined) {
    t.comment('no non-loopback IPv4 interface on this machine: the outside request is not made');
    return;
  }
  const far = await fetch(`http://${outside}:${port}/demo/ticket`, {
    // A forwarded header naming loopback changes nothing: the socket decides.
    headers: { 'x-forwarded-for': '127.0.0.1' },
  });
  t.equal(far.status, 403, `from ${outside}`);
  const body = (await far.json()) as { error: { code: string } };
  t.equal(body.error.code, 'demo_ticket_loopback_only');
  t.notMatch(JSON.stringify(body), /eyJ|ticket"/, 'no ticket in the refusal');
});
