// The pieces of CLIENT_AUTH that need no socket: the replay table, the ticket
// parameter, config validation, mintTicket's and the CLI's refusals.
import t from 'tap';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { ReplayCache } from '../../src/auth/replay-cache';
import { ticketParam } from '../../src/auth/query-ticket';
import { mintTicket } from '../../src/auth/mint-ticket';
import { reasonOf } from '../../src/auth/outcome';
import { runMintTicket } from '../../src/cli/mint-ticket';
import { SubjectLimit } from '../../src/auth/subject-limit';
import { loadConfig } from '../../src/config';

const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

t.test('replay table: single use until expiry, shared by every view of one buffer, bounded', async (t) => {
  const shared = ReplayCache.createShared(1024);
  const a = new ReplayCache(shared);
  const b = new ReplayCache(shared); // as another worker thread sees it
  t.equal(a.claim('jti-1', 200, 100), 'fresh');
  t.equal(a.claim('jti-1', 200, 150), 'replayed');
  t.equal(b.claim('jti-1', 200, 150), 'replayed', 'seen from another view of the buffer');
  t.equal(b.claim('jti-1', 400, 201), 'fresh', 'forgotten once expired');
  t.equal(a.claim('jti-2', 200, 100), 'fresh');

  const small = new ReplayCache(ReplayCache.createShared(32));
  let full = 0;
  for (let i = 0; i < 40; i++) if (small.claim(`k${i}`, 1000, 0) === 'full') full++;
  t.equal(full, 8, 'a full window fails closed');
  t.equal(small.claim('k-late', 2000, 1000), 'fresh', 'expired slots are reused');
  t.throws(() => ReplayCache.createShared(48), RangeError);
  t.throws(() => new ReplayCache(new SharedArrayBuffer(64)), RangeError);
});

t.test('ticket parameter: absent, present, repeated, malformed', async (t) => {
  t.equal(ticketParam(''), '');
  t.equal(ticketParam('model=x&xticket=a.b.c'), '');
  t.equal(ticketParam('ticket=a.b.c'), 'a.b.c');
  t.equal(ticketParam('model=x&ticket=a.b.c&y=1'), 'a.b.c');
  t.equal(ticketParam('ticket=a.b.c&ticket=d.e.f'), null);
  t.equal(ticketParam('ticket=a.b'), null);
  t.equal(ticketParam('ticket=a%20b.c.d'), null);
  t.equal(ticketParam(`ticket=${'a'.repeat(9000)}.b.c`), null);
});

t.test('jose errors map to reasons', async (t) => {
  t.equal(reasonOf({ code: 'ERR_JWT_EXPIRED' }).reason, 'expired');
  t.equal(reasonOf({ code: 'ERR_JWKS_TIMEOUT' }).reason, 'unavailable');
  t.equal(reasonOf(new TypeError('fetch failed')).reason, 'unavailable');
  t.equal(reasonOf('weird').reason, 'unavailable');
  t.equal(reasonOf({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }).reason, 'invalid');
});

t.test('subject limit off is free; on, it counts per subject', async (t) => {
  const off = new SubjectLimit(0);
  t.ok(off.tryAcquire('a') && off.tryAcquire('a'));
  off.release('a');
  const on = new SubjectLimit(2, SubjectLimit.createShared(10));
  t.ok(on.tryAcquire('a') && on.tryAcquire('a'));
  t.notOk(on.tryAcquire('a'));
  on.release('a');
  t.ok(on.tryAcquire('a'));
});

t.test('config: CLIENT_AUTH settings are validated and name their variable', async (t) => {
  const base = { AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:1' };
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ CLIENT_AUTH: 'maybe' }, /^CLIENT_AUTH/],
    [{ CLIENT_AUTH: 'ticket' }, /^TICKET_SECRET: expected a secret or TICKET_JWKS_URL/],
    [{ TICKET_SECRET: 'short-secret' }, /^TICKET_SECRET: expected at least 32 bytes.*value not shown/],
    [{ TICKET_JWKS_URL: 'http://issuer.example/keys' }, /^TICKET_JWKS_URL: expected an https/],
    [{ TICKET_JWKS_URL: 'not a url' }, /^TICKET_JWKS_URL/],
    [{ TOKEN_JWKS_URL: 'https://user:pw@issuer.example/keys' }, /^TOKEN_JWKS_URL/],
    [{ CLIENT_AUTH: 'token' }, /^TOKEN_JWKS_URL/],
    [{ CLIENT_AUTH: 'token', TOKEN_JWKS_URL: 'https://i.example/keys' }, /^TOKEN_ISSUER/],
    [
      { CLIENT_AUTH: 'token', TOKEN_JWKS_URL: 'https://i.example/keys', TOKEN_ISSUER: 'https://i.example/' },
      /^TOKEN_AUDIENCE/,
    ],
    [{ MAX_SESSIONS_PER_SUBJECT: '2' }, /^MAX_SESSIONS_PER_SUBJECT/],
    [{ TICKET_MAX_TTL_S: '0' }, /^TICKET_MAX_TTL_S/],
    [{ AZURE_TOKEN_SCOPE: 'has space' }, /^AZURE_TOKEN_SCOPE/],
    [{ AZURE_TOKEN_TIMEOUT_MS: '50' }, /^AZURE_TOKEN_TIMEOUT_MS: expected an integer from 100 to 300000/],
  ];
  for (const [env, re] of bad) t.throws(() => loadConfig({ ...base, ...env }), re, JSON.stringify(env));
  const ok = loadConfig({
    ...base,
    CLIENT_AUTH: 'TOKEN',
    TOKEN_JWKS_URL: 'https://i.example/keys',
    TOKEN_ISSUER: 'a,b',
    TOKEN_AUDIENCE: 'c',
    MAX_SESSIONS_PER_SUBJECT: '3',
  });
  t.same(
    [ok.clientAuth, ok.tokenIssuers, ok.tokenAudiences, ok.maxSessionsPerSubject, ok.ticketAudience, ok.ticketMaxTtlS],
    ['token', ['a', 'b'], ['c'], 3, 'voice-live-proxy', 300],
  );
  t.equal(
    loadConfig({ ...base, TICKET_JWKS_URL: 'http://localhost:8080/keys' }).ticketJwksUrl,
    'http://localhost:8080/keys',
  );
});

t.test('mintTicket: claims, and what it refuses', async (t) => {
  const ticket = await mintTicket({
    sub: 'u1',
    secret: SECRET,
    ttlSeconds: 30,
    origin: 'https://app.example',
    audience: 'aud-1',
    jti: 'j-1',
  });
  const claims = decodeJwt(ticket);
  t.same(
    [claims.sub, claims.aud, claims.origin, claims.jti, (claims.exp ?? 0) - (claims.iat ?? 0)],
    ['u1', 'aud-1', 'https://app.example', 'j-1', 30],
  );
  t.notSame(
    decodeJwt(await mintTicket({ sub: 'u1', secret: SECRET })).jti,
    decodeJwt(await mintTicket({ sub: 'u1', secret: SECRET })).jti,
    'a fresh jti each time',
  );
  await t.rejects(mintTicket({ sub: '', secret: SECRET }), /sub is required/);
  await t.rejects(mintTicket({ sub: 'u' }), /secret or privateKey/);
  await t.rejects(mintTicket({ sub: 'u', secret: 'short' }), /at least 32 bytes/);
  await t.rejects(mintTicket({ sub: 'u', secret: SECRET, ttlSeconds: 0 }), /ttlSeconds/);
  await t.rejects(mintTicket({ sub: 'u', privateKey: { kty: 'oct', k: 'AA' }, alg: 'HS256' }), /RS256 or ES256/);
});

t.test('mint-ticket command: prints a ticket; refuses without --sub or TICKET_SECRET', async (t) => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  t.equal(await runMintTicket(['--sub', 'cli-user', '--ttl', '45'], { TICKET_SECRET: SECRET }, sink), 0);
  const claims = decodeJwt(out.trim());
  t.same([claims.sub, (claims.exp ?? 0) - (claims.iat ?? 0), claims.aud], ['cli-user', 45, 'voice-live-proxy']);
  t.notOk(out.includes(SECRET));
  t.equal(await runMintTicket(['--sub', 'x'], {}, sink), 2);
  t.equal(await runMintTicket([], { TICKET_SECRET: SECRET }, sink), 2);
  t.equal(await runMintTicket(['--bogus'], { TICKET_SECRET: SECRET }, sink), 2);
  t.equal(await runMintTicket(['--sub', 'x', '--ttl', 'abc'], { TICKET_SECRET: SECRET }, sink), 2);
  out = '';
  t.equal(await runMintTicket(['--help'], {}, sink), 0);
  t.match(out, /usage: voice-live-proxy mint-ticket/i);
});
