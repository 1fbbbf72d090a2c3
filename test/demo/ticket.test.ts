// The demo's ticket flow (CLIENT_AUTH=ticket npm run demo): the page asks the
// demo-only /demo/ticket, then connects with it; nothing of this exists
// unless the demo runs in ticket mode.
import t from 'tap';
import WebSocket from 'ws';
import { once } from 'node:events';
import { demoEnv } from '../../src/demo/demo-env';
import { startDemoStack } from './stack';

const SECRET = 'demo-ticket-secret-for-tests-0123456789';

/** The first frame, or why there was none (a close or 15 s of silence), so a failure says what happened. */
function firstFrame(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no frame within 15 s'), 15_000);
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
    ws.once('close', (code: number, reason: Buffer) => {
      clearTimeout(timer);
      resolve(`closed ${code} ${reason.toString()}`);
    });
    ws.once('error', (err: Error) => {
      clearTimeout(timer);
      resolve(`error ${err.message}`);
    });
  });
}

t.test('ticket mode: /demo/ticket hands out a ticket that opens a session; none, no session', async (t) => {
  // This once saw no session.created in about ten full-suite runs. The likely
  // cause: the stack's freePort() port taken meanwhile by another test's
  // proxy, which uWS's SO_REUSEPORT let both bind, so the kernel handed this
  // connection to the other one. A lone proxy now listens exclusively.
  const stack = await startDemoStack({ CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET });
  t.teardown(() => stack.close());
  const base = new URL(stack.pageUrl);
  const res = await fetch(new URL('/demo/ticket', base));
  t.equal(res.status, 200);
  t.equal(res.headers.get('cache-control'), 'no-store');
  const { ticket, sub } = (await res.json()) as { ticket: string; sub: string };
  t.equal(sub, 'demo-user');
  const ws = new WebSocket(`ws://${base.host}/ws?model=gpt-realtime&ticket=${ticket}`, {
    headers: { origin: `http://${base.host}` },
  });
  const first = await firstFrame(ws);
  ws.terminate();
  t.equal(JSON.parse(first.startsWith('{') ? first : '{}').type, 'session.created', first);
  const origin = `http://${base.host}`;
  const bare = new WebSocket(`ws://${base.host}/ws?model=gpt-realtime`, { headers: { origin } });
  const [, refused] = (await once(bare, 'unexpected-response')) as [unknown, { statusCode: number }];
  t.equal(refused.statusCode, 401);
  bare.on('error', () => undefined);
  bare.terminate();
});

t.test('without ticket mode there is no /demo/ticket; CLIENT_AUTH=ticket alone gets a per-run secret', async (t) => {
  const stack = await startDemoStack();
  t.teardown(() => stack.close());
  const res = await fetch(new URL('/demo/ticket', stack.pageUrl));
  t.same([res.status, await res.json()], [200, { ticket: null }], 'no ticket to hand out');
  const env = demoEnv({ CLIENT_AUTH: 'ticket' }, 8080, 'ws://127.0.0.1:1');
  t.ok((env.TICKET_SECRET ?? '').length >= 32, 'a secret for this run');
  t.not(
    demoEnv({ CLIENT_AUTH: 'ticket' }, 8080, 'ws://127.0.0.1:1').TICKET_SECRET,
    env.TICKET_SECRET,
    'never the same twice',
  );
  t.equal(demoEnv({}, 8080, 'ws://127.0.0.1:1').TICKET_SECRET, undefined);
});
