// CLIENT_AUTH=ticket over real sockets (docs/contract.md §4): a backend-minted JWT in
// `?ticket=`, verified before the upgrade; every refusal class is an HTTP 401
// with a JSON error naming it, counted, and never echoes the ticket.
import t from 'tap';
import type { Test } from 'tap';
import { createHmac } from 'node:crypto';
import { startHarness, type Harness } from '../helpers/harness';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server';
import { mintTicket } from '../../src/auth/mint-ticket';

const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

let jwks: JwksServer;
t.before(async () => {
  jwks = await startJwksServer();
});
t.teardown(() => jwks.close());

function setup(t: Test, env: Record<string, string> = {}): Promise<Harness> {
  return startHarness(t, {
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
    TICKET_JWKS_URL: jwks.url,
    LOG_LEVEL: 'trace',
    ...env,
  });
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

/** A JWT signed by hand, for what no well-behaved library will produce (alg none, HS384). */
function handmade(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (key === null) return `${input}.`;
  const hash = header.alg === 'HS384' ? 'sha384' : 'sha256';
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

async function refusal(
  h: Harness,
  query: string,
  origin?: string,
): Promise<{ status: number; code: string; body: string; challenge: string | undefined }> {
  const c = h.client(query, origin === undefined ? {} : { origin });
  const r = await c.refused;
  const code = (JSON.parse(r.body) as { error: { code: string } }).error.code;
  return { status: r.status, code, body: r.body, challenge: r.headers['www-authenticate'] as string | undefined };
}

t.test('a minted HS256 ticket connects; the subject is logged, the ticket never is', async (t) => {
  const h = await setup(t);
  const ticket = await mintTicket({ sub: 'user-42', secret: SECRET, origin: 'http://localhost:3000' });
  const c = h.client(`model=gpt-realtime&ticket=${ticket}`);
  t.equal((await c.nextJson()).type, 'session.created');
  const open = await h.logLine('session open');
  t.equal(open.subject, 'user-42');
  await c.close(1000, 'bye');
  const closed = await h.logLine('session closed');
  t.equal(closed.subject, 'user-42');
  t.equal(h.proxy.metrics.authOk, 1);
  t.equal(h.proxy.gate.counter.active, 0);
  const logs = h.logs.join('\n');
  t.notOk(logs.includes(ticket), 'ticket not logged');
  t.notOk(logs.includes(ticket.split('.')[2]), 'ticket signature not logged');
  t.notOk(logs.includes(SECRET));
});

t.test('each refusal class: 401 with its code, counted, ticket not echoed', async (t) => {
  const h = await setup(t);
  const expired = await mintTicket({ sub: 'u', secret: SECRET, jti: 'x1' }).then(() =>
    handmade(
      { alg: 'HS256', typ: 'JWT' },
      { sub: 'u', aud: 'voice-live-proxy', exp: now() - 120, iat: now() - 180 },
      SECRET,
    ),
  );
  const cases: Array<[string, string, string]> = [
    ['missing', '', 'auth_missing'],
    ['malformed', 'ticket=not-a-jwt', 'auth_invalid'],
    ['expired', `ticket=${expired}`, 'auth_expired'],
    [
      'alg none',
      `ticket=${handmade({ alg: 'none' }, { sub: 'u', aud: 'voice-live-proxy', exp: now() + 60 }, null)}`,
      'auth_invalid',
    ],
    [
      'HS384 (not configured)',
      `ticket=${handmade({ alg: 'HS384' }, { sub: 'u', aud: 'voice-live-proxy', exp: now() + 60 }, SECRET)}`,
      'auth_invalid',
    ],
    [
      'wrong secret',
      `ticket=${await mintTicket({ sub: 'u', secret: 'another-secret-of-at-least-32-bytes!!' })}`,
      'auth_invalid',
    ],
    [
      'wrong audience',
      `ticket=${await mintTicket({ sub: 'u', secret: SECRET, audience: 'someone-else' })}`,
      'auth_invalid',
    ],
    [
      'no sub',
      `ticket=${handmade({ alg: 'HS256' }, { aud: 'voice-live-proxy', exp: now() + 60 }, SECRET)}`,
      'auth_invalid',
    ],
    ['no exp', `ticket=${handmade({ alg: 'HS256' }, { sub: 'u', aud: 'voice-live-proxy' }, SECRET)}`, 'auth_invalid'],
    [
      'lifetime over TICKET_MAX_TTL_S',
      `ticket=${await mintTicket({ sub: 'u', secret: SECRET, ttlSeconds: 3600 })}`,
      'auth_invalid',
    ],
    [
      'iat..exp over the cap',
      `ticket=${handmade({ alg: 'HS256' }, { sub: 'u', aud: 'voice-live-proxy', iat: now() - 250, exp: now() + 100 }, SECRET)}`,
      'auth_invalid',
    ],
    [
      'origin claim mismatch',
      `ticket=${await mintTicket({ sub: 'u', secret: SECRET, origin: 'https://evil.example' })}`,
      'auth_invalid',
    ],
    ['ticket twice', `ticket=${await mintTicket({ sub: 'u', secret: SECRET })}&ticket=x.y.z`, 'auth_invalid'],
    [
      'HS256 signed with the RSA public key (key confusion)',
      `ticket=${handmade({ alg: 'HS256', kid: 'rs-1' }, { sub: 'u', aud: 'voice-live-proxy', exp: now() + 60 }, 'rs-public-key-as-secret')}`,
      'auth_invalid',
    ],
  ];
  for (const [why, query, code] of cases) {
    const r = await refusal(h, query);
    t.equal(r.status, 401, `${why}: 401`);
    t.equal(r.code, code, `${why}: ${code}`);
    t.match(r.challenge, /^Bearer realm="voice-live-proxy"/, `${why}: a WWW-Authenticate challenge`);
    if (code === 'auth_missing') t.notMatch(r.challenge, /error=/, `${why}: no error without a credential`);
    else t.match(r.challenge, /error="invalid_token"/, `${why}: invalid_token`);
    const ticket = /ticket=([^&]+)/.exec(query)?.[1];
    if (ticket !== undefined) {
      t.notOk(r.body.includes(ticket), `${why}: not echoed`);
      t.notOk(r.challenge?.includes(ticket), `${why}: not in the challenge`);
    }
  }
  const m = h.proxy.metrics;
  t.equal(m.authMissing, 1);
  t.equal(m.authExpired, 1);
  t.equal(m.authInvalid, cases.length - 2);
  t.equal(m.upgradesUnauthorized, cases.length);
  t.equal(h.proxy.gate.counter.active, 0, 'every slot given back');
  const text = await (await h.http('/metrics')).text();
  t.match(text, /auth_verifications_total\{outcome="expired"\} 1/);
  t.match(text, /upgrades_total\{outcome="unauthorized"\} 14/);
  const line = await h.logLine('caller refused');
  t.ok(['missing', 'invalid', 'expired'].includes(String(line.reason)));
});

t.test('a ticket is single-use; an origin claim that matches is accepted', async (t) => {
  const h = await setup(t);
  const ticket = await mintTicket({ sub: 'once', secret: SECRET, origin: 'http://localhost:3000' });
  const first = h.client(`ticket=${ticket}`);
  await first.opened;
  const again = await refusal(h, `ticket=${ticket}`);
  t.same([again.status, again.code], [401, 'auth_replayed']);
  t.equal(again.challenge, 'Bearer realm="voice-live-proxy", error="invalid_token", error_description="already used"');
  t.equal(h.proxy.metrics.authReplayed, 1);
});

t.test('RS256 and ES256 tickets from the JWKS: fetched once, keys cached; unknown kid refused', async (t) => {
  const h = await setup(t);
  const before = jwks.fetches;
  let n = 0;
  for (const alg of ['RS256', 'ES256', 'RS256', 'ES256'] as const) {
    const jti = `jwks-${++n}`;
    const ticket = await jwks.sign(alg, { sub: `jwks-${alg}`, aud: 'voice-live-proxy', exp: now() + 60, jti });
    const c = h.client(`ticket=${ticket}`);
    await c.opened;
    t.pass(`${alg} accepted`);
  }
  t.equal(jwks.fetches - before, 1, 'one JWKS fetch for four verifications');
  const unknown = await jwks.sign('RS256', { sub: 'u', aud: 'voice-live-proxy', exp: now() + 60 }, 'rotated-away');
  t.equal((await refusal(h, `ticket=${unknown}`)).code, 'auth_invalid');
});

t.test("an unreachable JWKS is the proxy's trouble: 503 auth_unavailable with Retry-After", async (t) => {
  const h = await setup(t, { TICKET_JWKS_URL: 'http://127.0.0.1:9/keys' });
  const ticket = await jwks.sign('RS256', { sub: 'u', aud: 'voice-live-proxy', exp: now() + 60 });
  const c = h.client(`ticket=${ticket}`);
  const r = await c.refused;
  t.equal(r.status, 503);
  t.equal(r.headers['retry-after'], '5');
  t.match(r.body, /auth_unavailable/);
  t.equal(h.proxy.metrics.authUnavailable, 1);
  const hs = h.client(`ticket=${await mintTicket({ sub: 'u', secret: SECRET })}`);
  await hs.opened;
  t.pass('HS256 tickets still work');
});

t.test('a client that leaves while its ticket is verified: slot given back, nothing touched', async (t) => {
  const h = await setup(t);
  // A fresh proxy has no keys cached: its first RS256 ticket fetches the JWKS, held here.
  jwks.hold = true;
  const fetched = jwks.nextFetch();
  const ticket = await jwks.sign('RS256', { sub: 'leaver', aud: 'voice-live-proxy', exp: now() + 60 });
  const c = h.client(`ticket=${ticket}`);
  await fetched;
  t.equal(h.proxy.gate.counter.active, 1, 'slot held while verifying');
  c.ws.terminate();
  await new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
  // The server sees the abort before the JWKS answers only once the socket close reaches it.
  const ok = h.client(`ticket=${await mintTicket({ sub: 'next', secret: SECRET })}`);
  await ok.opened;
  jwks.release();
  await ok.close(1000);
  const health = (await (await h.http('/health')).json()) as { activeConnections: number };
  t.equal(health.activeConnections, 0, 'every slot came back');
  t.equal(h.proxy.metrics.upgradesAccepted, 1, 'the aborted one was never upgraded');
});
