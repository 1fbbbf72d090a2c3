// CLIENT_AUTH=token (the user's own token is verified before it is forwarded)
// and MAX_SESSIONS_PER_SUBJECT, over real sockets.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server';
import { startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';
import { mintTicket } from '../../src/auth/mint-ticket';

const ISSUER = 'https://login.microsoftonline.com/tenant-1/v2.0';
const AUDIENCE = 'https://ai.azure.com';
const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

let jwks: JwksServer;
t.before(async () => {
  jwks = await startJwksServer();
});
t.teardown(() => jwks.close());

const now = (): number => Math.floor(Date.now() / 1000);

async function tokenSetup(t: Test): Promise<{ h: Harness; up: WsUpstream }> {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, {
    AZURE_VOICE_LIVE_ENDPOINT: up.origin,
    LOG_LEVEL: 'trace',
    CLIENT_AUTH: 'token',
    TOKEN_JWKS_URL: jwks.url,
    TOKEN_ISSUER: `https://sts.windows.net/tenant-1/,${ISSUER}`,
    TOKEN_AUDIENCE: AUDIENCE,
  });
  return { h, up };
}

t.test('token mode: a verified user token is forwarded; a missing or foreign one never reaches Azure', async (t) => {
  const { h, up } = await tokenSetup(t);
  const token = await jwks.sign('RS256', { sub: 'entra-user', iss: ISSUER, aud: AUDIENCE, exp: now() + 3600 });
  const c = h.client(`token=${token}`);
  await c.opened;
  const u = await up.nextConnection();
  t.equal(u.headers.authorization, `Bearer ${token}`, 'the same token goes upstream');
  t.equal((await h.logLine('session open')).subject, 'entra-user');

  const refusals: Array<[string, string, string]> = [
    ['no token (the server key would be spent)', '', 'auth_missing'],
    [
      'other issuer',
      `token=${await jwks.sign('RS256', { sub: 'x', iss: 'https://evil.example/', aud: AUDIENCE, exp: now() + 3600 })}`,
      'auth_invalid',
    ],
    [
      'other audience',
      `token=${await jwks.sign('RS256', { sub: 'x', iss: ISSUER, aud: 'api://other', exp: now() + 3600 })}`,
      'auth_invalid',
    ],
    [
      'expired',
      `token=${await jwks.sign('ES256', { sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: now() - 600 })}`,
      'auth_expired',
    ],
    // JWT-shaped (a header naming an alg) but signed by nobody: the verifier refuses it.
    ['unsigned-looking junk', `token=${Buffer.from('{"alg":"RS256"}').toString('base64url')}.e30.Z2hp`, 'auth_invalid'],
    // Not a JWT at all (a key, a placeholder): dropped like a non-JWT bearer, so no user token.
    ['not a JWT (dropped)', 'token=abc.def.ghi', 'auth_missing'],
  ];
  for (const [why, q, code] of refusals) {
    const r = await h.client(q).refused;
    t.equal(r.status, 401, why);
    t.match(r.body, code, `${why}: ${code}`);
  }
  t.equal(up.conns.length, 1, 'only the verified session reached the upstream');
  const logs = h.logs.join('\n');
  t.notOk(logs.includes(token.split('.')[2]), 'token not logged');
});

t.test('token mode: a request error is still reported after the upgrade and never reaches Azure', async (t) => {
  const { h, up } = await tokenSetup(t);
  const c = h.client('model=bad%0Avalue');
  t.equal((await c.nextJson()).error.code, 'invalid_parameter');
  t.equal((await c.closed).code, 1008);
  t.equal(up.conns.length, 0);
});

t.test(
  'MAX_SESSIONS_PER_SUBJECT: a second concurrent session of one user is 429; others and later ones pass',
  async (t) => {
    const h = await startHarness(t, { CLIENT_AUTH: 'ticket', TICKET_SECRET: SECRET, MAX_SESSIONS_PER_SUBJECT: '1' });
    const ticket = (sub: string): Promise<string> => mintTicket({ sub, secret: SECRET });
    const a1 = h.client(`ticket=${await ticket('alice')}`);
    await a1.opened;
    const a2 = await h.client(`ticket=${await ticket('alice')}`).refused;
    t.equal(a2.status, 429);
    t.equal(a2.headers['retry-after'], '5');
    t.match(a2.body, /subject_at_capacity/);
    const b1 = h.client(`ticket=${await ticket('bob')}`);
    await b1.opened;
    t.pass('another subject is not affected');
    await a1.close(1000);
    const a3 = h.client(`ticket=${await ticket('alice')}`);
    await a3.opened;
    t.pass('the slot came back when the first session closed');
    t.equal(h.proxy.metrics.upgradesSubjectCapacity, 1);
    t.match(await (await h.http('/metrics')).text(), /upgrades_total\{outcome="subject_capacity"\} 1/);
  },
);
