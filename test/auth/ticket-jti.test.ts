// A ticket without `jti` has no single use to enforce: refused by default
// (TICKET_REQUIRE_JTI), so a leaked one cannot be spent again and again until
// it expires; accepted (and reusable) only when the operator opts out.
import t from 'tap';
import type { Test } from 'tap';
import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startHarness, type Harness } from '../helpers/harness';
import { mintTicket } from '../../src/auth/mint-ticket';

const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

function setup(t: Test, env: Record<string, string> = {}): Promise<Harness> {
  return startHarness(t, { CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET, ...env });
}

/** An HS256 ticket with no `jti` (mintTicket always sets one). */
function noJti(sub: string): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, aud: 'voice-live-proxy', iat: now, exp: now + 60 })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

t.test('a ticket without jti is refused 401 auth_invalid by default, every time', async (t) => {
  const h = await setup(t);
  const ticket = noJti('reuser');
  for (let i = 0; i < 3; i++) {
    const r = await h.client(`model=gpt-realtime&ticket=${ticket}`).refused;
    t.equal(r.status, 401, `use ${i + 1}: 401`);
    t.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'auth_invalid');
  }
  t.equal(h.proxy.metrics.authOk, 0, 'never verified ok');
  t.equal(h.proxy.gate.counter.active, 0, 'no slot held');
});

t.test(
  'TICKET_REQUIRE_JTI=false: a ticket without jti is accepted (the operator chose reusable tickets)',
  async (t) => {
    const h = await setup(t, { TICKET_REQUIRE_JTI: 'false' });
    const ticket = noJti('reuser');
    for (let i = 0; i < 2; i++) {
      const c = h.client(`model=gpt-realtime&ticket=${ticket}`);
      t.equal((await c.nextJson()).type, 'session.created', `use ${i + 1} admitted`);
      await c.close(1000, 'bye');
    }
  },
);

t.test('mintTicket always sets a jti, and refuses an empty one', async (t) => {
  t.match(decodeJwt(await mintTicket({ sub: 'u', secret: SECRET })).jti, /^[0-9a-f-]{36}$/);
  await t.rejects(mintTicket({ sub: 'u', secret: SECRET, jti: '' }), RangeError);
  const h = await setup(t);
  const minted = await mintTicket({ sub: 'u', secret: SECRET });
  const c = h.client(`model=gpt-realtime&ticket=${minted}`);
  t.equal((await c.nextJson()).type, 'session.created', 'a minted ticket connects');
  await c.close(1000, 'bye');
  const again = await h.client(`model=gpt-realtime&ticket=${minted}`).refused;
  t.equal(again.status, 401, 'and only once');
});
