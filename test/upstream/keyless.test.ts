// Keyless upstream (docs/contract.md §2): with no AZURE_SPEECH_KEY and no client token the
// proxy authorizes the upstream leg with its own identity, through the real
// @azure/identity DefaultAzureCredential talking to a local stand-in for the
// App Service / Container Apps managed-identity endpoint.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import { startWsUpstream, type UpstreamConn, type WsUpstream } from '../helpers/ws-upstream';
import { IDENTITY_HEADER, startIdentityEndpoint, type IdentityEndpoint } from '../helpers/identity-endpoint';
import type { AccessToken } from '@azure/identity';
import { REFRESH_MARGIN_MS, ServerCredential, refreshAt } from '../../src/upstream/server-credential';

const TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL2FpLmF6dXJlLmNvbSJ9.bWktc2lnbmF0dXJl';
/** A user's own token: JWT-shaped, its header naming an alg (an MSAL token always does). */
const USER_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.dXNlci1zaWduYXR1cmU';

// One endpoint for the file: MSAL keeps the managed-identity source, and its
// token cache, per process; so each test also asks for its own scope.
let shared: IdentityEndpoint | null = null;
let scopes = 0;
t.teardown(() => shared?.close());

function nextScope(): string {
  return `https://test-${++scopes}.example/.default`;
}

async function endpoint(): Promise<IdentityEndpoint> {
  shared ??= await startIdentityEndpoint();
  shared.reset();
  shared.install();
  return shared;
}

async function setup(
  t: Test,
  scope = nextScope(),
  env: Record<string, string> = {},
): Promise<{ ep: IdentityEndpoint; up: WsUpstream; h: Harness }> {
  const ep = await endpoint();
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, {
    AZURE_SPEECH_KEY: '',
    AZURE_VOICE_LIVE_ENDPOINT: up.origin,
    LOG_LEVEL: 'trace',
    AZURE_TOKEN_SCOPE: scope,
    ...env,
  });
  return { ep, up, h };
}

/** No token, no identity header in the logs or on /metrics. */
async function noSecrets(t: Test, h: Harness, tokens: string[]): Promise<void> {
  const logs = h.logs.join('\n');
  const metrics = await (await h.http('/metrics')).text();
  for (const [i, secret] of [...tokens, IDENTITY_HEADER].entries()) {
    t.notOk(logs.includes(secret), `secret ${i} never logged`);
    t.notOk(metrics.includes(secret), `secret ${i} not in /metrics`);
  }
}

/**
 * MSAL turns expires_on into a lifetime against its own clock, rounded to the
 * second, at the request's start and at its end, so the expiry it reports is
 * up to one second per second of fetch earlier than the one sent. (This test
 * once waited for a log line with the exact second: a renewal slowed across a
 * half-second boundary by load then hung it until tap's 120 s timeout.)
 */
function sameExpiry(t: Test, line: Record<string, unknown>, sentS: number): void {
  const loggedS = Date.parse(String(line.expiresAt)) / 1000;
  const slackS = Math.ceil(Number(line.fetchMs) / 1000) + 1;
  t.ok(
    loggedS <= sentS && loggedS >= sentS - slackS,
    `expiry ${loggedS} is the one sent (${sentS}), to MSAL's rounding`,
  );
}

function firstMessage(c: UpstreamConn): Promise<string> {
  if (c.messages.length > 0) return Promise.resolve(c.messages[0].data.toString());
  return new Promise((resolve) => c.ws.once('message', (d: Buffer) => resolve(d.toString())));
}

t.test(
  'sessions waiting for the token share one request; it goes upstream as Bearer and is never logged',
  async (t) => {
    const { ep, up, h } = await setup(t, 'https://ai.azure.com/.default');
    const clients = [1, 2, 3, 4].map(() => h.client('model=gpt-realtime'));
    await Promise.all(clients.map((c) => c.opened));
    clients.forEach((c, i) => c.send(`early-${i}`));
    const req = await ep.nextRequest();
    t.equal(req.resource, 'https://ai.azure.com', 'scope https://ai.azure.com/.default asked as its resource');
    t.equal(req.header, IDENTITY_HEADER);
    t.equal(up.conns.length, 0, 'no upstream leg before the token');
    const expiresOn = req.respond({ token: TOKEN });

    const early = new Set<string>();
    for (let i = 0; i < clients.length; i++) {
      const u = await up.nextConnection();
      t.equal(u.headers.authorization, `Bearer ${TOKEN}`);
      t.equal(u.headers['api-key'], undefined);
      early.add(await firstMessage(u));
    }
    t.same([...early].sort(), ['early-0', 'early-1', 'early-2', 'early-3'], 'frames sent while waiting are delivered');

    const late = h.client();
    await late.opened;
    t.equal((await up.nextConnection()).headers.authorization, `Bearer ${TOKEN}`, 'a later session reuses the token');
    t.equal(ep.requests.length, 1, 'one token request for five sessions');
    t.equal(h.proxy.metrics.serverTokenOk, 1);

    await h.logLine('server identity token acquired');
    const logs = h.logs.join('\n');
    t.notOk(logs.includes(TOKEN), 'token never logged');
    t.notOk(logs.includes('bWktc2lnbmF0dXJl'), 'token signature never logged');
    t.notOk(logs.includes(IDENTITY_HEADER), 'identity header never logged');
    const metrics = await (await h.http('/metrics')).text();
    t.match(metrics, /server_token_requests_total\{outcome="ok"\} 1/);
    t.notOk(metrics.includes(TOKEN));
    const expiry = /^voice_live_proxy_server_token_expiry_timestamp_seconds (\S+)$/m.exec(metrics);
    t.ok(expiry, 'the token expiry gauge is rendered once a token is held');
    // The stand-in's expires_on, within MSAL's rounding to the second.
    t.ok(Math.abs(Number(expiry![1]) - expiresOn) <= 1, `expiry ${expiry![1]} vs ${expiresOn}`);
  },
);

t.test('a token failure closes the session 1011; the process stays healthy and the next session retries', async (t) => {
  const { ep, up, h } = await setup(t);
  ep.auto = { status: 400 };
  const c = h.client();
  await c.opened;
  const closed = await c.closed;
  t.same(closed, { code: 1011, reason: 'Upstream credential unavailable' });
  const line = await h.logLine('server identity token failed');
  t.match(String(line.err), /ManagedIdentityCredential/, 'the real cause is logged');
  t.notOk(String(line.err).includes(IDENTITY_HEADER));
  t.equal(h.proxy.metrics.serverTokenErrors, 1);
  t.equal(h.proxy.metrics.upstreamConnectsCredential, 1);
  t.equal(up.conns.length, 0, 'the upstream was never contacted');
  t.equal((await h.http('/health')).status, 200);
  t.match(await (await h.http('/metrics')).text(), /upstream_connects_total\{outcome="credential"\} 1/);

  ep.auto = { token: TOKEN };
  const again = h.client();
  await again.opened;
  t.equal((await up.nextConnection()).headers.authorization, `Bearer ${TOKEN}`);
  t.equal(ep.requests.length, 2);
});

t.test('the token is renewed in the background before it expires', async (t) => {
  const { ep, up, h } = await setup(t);
  const c1 = h.client();
  await c1.opened;
  (await ep.nextRequest()).respond({ token: 'short-lived-token-1', lifeS: 4 });
  t.equal((await up.nextConnection()).headers.authorization, 'Bearer short-lived-token-1');
  // No session asks: the renewal is the proxy's own timer (at half the life of a short token).
  const renewal = await ep.nextRequest();
  const expiresOn = renewal.respond({ token: 'renewed-token-2', lifeS: 3600 });
  sameExpiry(t, await h.logLine('server identity token renewed'), expiresOn);
  const c2 = h.client();
  await c2.opened;
  t.equal((await up.nextConnection()).headers.authorization, 'Bearer renewed-token-2');
  t.equal(ep.requests.length, 2);
  t.equal(h.proxy.metrics.serverTokenOk, 2);
});

t.test(
  'a token request the endpoint never answers is abandoned after AZURE_TOKEN_TIMEOUT_MS; the next session asks again',
  async (t) => {
    const { ep, up, h } = await setup(t, nextScope(), { AZURE_TOKEN_TIMEOUT_MS: '2000' });
    const c1 = h.client();
    await c1.opened;
    // Accepted and read, never answered: before the deadline existed this stayed
    // the shared in-flight request, and every later session waited on it.
    const stuck = await ep.nextRequest();
    t.same(await c1.closed, { code: 1011, reason: 'Upstream credential unavailable' });
    const line = await h.logLine('server identity token failed');
    t.match(String(line.err), /^TokenTimeoutError: the identity endpoint did not answer within 2000 ms$/);
    t.equal(h.proxy.metrics.serverTokenTimeouts, 1);
    t.equal(h.proxy.metrics.serverTokenErrors, 0);

    const c2 = h.client();
    await c2.opened;
    (await ep.nextRequest()).respond({ token: TOKEN });
    t.equal((await up.nextConnection()).headers.authorization, `Bearer ${TOKEN}`, 'a new request, not the stuck one');
    t.equal(ep.requests.length, 2);
    t.match(await (await h.http('/metrics')).text(), /server_token_requests_total\{outcome="timeout"\} 1/);
    // The abandoned request settles late: nothing uses it.
    stuck.respond({ token: 'late-token-3' });
    await noSecrets(t, h, [TOKEN, 'late-token-3']);
  },
);

t.test('a background renewal that never answers is retried in the background until one does', async (t) => {
  const { ep, up, h } = await setup(t, nextScope(), { AZURE_TOKEN_TIMEOUT_MS: '1500' });
  const c1 = h.client();
  await c1.opened;
  (await ep.nextRequest()).respond({ token: 'short-lived-token-1', lifeS: 10 });
  t.equal((await up.nextConnection()).headers.authorization, 'Bearer short-lived-token-1');
  const stuck = await ep.nextRequest();
  const failed = await h.logLine('server identity token failed');
  t.match(String(failed.err), /^TokenTimeoutError/);
  t.ok(Number(failed.retryMs) > 0 && Number(failed.retryMs) <= 15_000, 'the next attempt is scheduled');
  // No session asks: the retry is the proxy's own timer again.
  const retry = await ep.nextRequest();
  const expiresOn = retry.respond({ token: 'renewed-token-2', lifeS: 3600 });
  sameExpiry(t, await h.logLine('server identity token renewed'), expiresOn);
  stuck.respond({ status: 400 });
  const c2 = h.client();
  await c2.opened;
  t.equal((await up.nextConnection()).headers.authorization, 'Bearer renewed-token-2');
  t.equal(h.proxy.metrics.serverTokenTimeouts, 1);
  t.equal(h.proxy.metrics.serverTokenOk, 2);
  await noSecrets(t, h, ['short-lived-token-1', 'renewed-token-2']);
});

t.test("the renewal margin is inside MSAL's cache window: a token that close to expiry is fetched anew", async (t) => {
  const ep = await endpoint();
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential = new DefaultAzureCredential();
  // MSAL serves its cached token until 300 s before expiry, and the proxy cannot
  // make ManagedIdentityCredential skip that cache: a renewal asked earlier
  // than that would get the same token back.
  const scope = nextScope();
  ep.auto = { token: 'cached-token-1', lifeS: 330 };
  t.equal((await credential.getToken(scope))?.token, 'cached-token-1');
  ep.auto = { token: 'cached-token-2', lifeS: 3600 };
  t.equal((await credential.getToken(scope))?.token, 'cached-token-1', '330 s from expiry: served from the cache');

  const near = nextScope();
  ep.auto = { token: 'near-token-1', lifeS: REFRESH_MARGIN_MS / 1000 };
  t.equal((await credential.getToken(near))?.token, 'near-token-1');
  ep.auto = { token: 'near-token-2', lifeS: 3600 };
  t.equal(
    (await credential.getToken(near))?.token,
    'near-token-2',
    `${REFRESH_MARGIN_MS / 1000} s from expiry (the renewal margin): asked for again`,
  );
  t.equal(ep.requests.length, 3);
});

t.test('a token that has already expired when it arrives (clock skew) is refused, not handed out', async (t) => {
  const { ep, up, h } = await setup(t);
  const c = h.client();
  await c.opened;
  (await ep.nextRequest()).respond({ token: 'stale-token-1', lifeS: -30 });
  t.same(await c.closed, { code: 1011, reason: 'Upstream credential unavailable' });
  const line = await h.logLine('server identity token failed');
  t.match(String(line.err), /a token that expired \d+ s ago/);
  t.equal(up.conns.length, 0, 'the upstream was never contacted');
  await noSecrets(t, h, ['stale-token-1']);
});

t.test('a client token or the server key wins over the identity', async (t) => {
  const { ep, up, h } = await setup(t);
  const c = h.client(`token=${USER_TOKEN}`);
  await c.opened;
  t.equal((await up.nextConnection()).headers.authorization, `Bearer ${USER_TOKEN}`);
  t.equal(ep.requests.length, 0, 'no identity token asked for');
  // A token= that is not a JWT is no user token: dropped, and the identity serves the session.
  const placeholder = h.client('token=placeholder-not-a-jwt');
  (await ep.nextRequest()).respond({ token: TOKEN });
  await placeholder.opened;
  t.equal((await up.nextConnection()).headers.authorization, `Bearer ${TOKEN}`);
  t.equal(h.proxy.metrics.clientCredentialsDroppedToken, 1);
});

/** A ServerCredential over a hand-written TokenCredential, its log lines kept as [msg, fields]. */
function direct(getToken: () => Promise<AccessToken>): {
  c: ServerCredential;
  lines: Array<[string, Record<string, unknown>]>;
  next(msg: string): Promise<Record<string, unknown>>;
} {
  const lines: Array<[string, Record<string, unknown>]> = [];
  const waiters: Array<[string, (o: Record<string, unknown>) => void]> = [];
  const push = (o: object, msg: string): void => {
    lines.push([msg, o as Record<string, unknown>]);
    const i = waiters.findIndex(([m]) => m === msg);
    if (i >= 0) waiters.splice(i, 1)[0][1](o as Record<string, unknown>);
  };
  const metrics = { serverTokenOk: 0, serverTokenErrors: 0, serverTokenTimeouts: 0, serverTokenExpiresAt: 0 };
  const c = new ServerCredential('https://unit.example/.default', 1000, { info: push, warn: push }, metrics, {
    getToken,
  });
  return { c, lines, next: (msg) => new Promise((resolve) => waiters.push([msg, resolve])) };
}

t.test('a renewal that gets back the token it already had (the library cache) logs it as unchanged', async (t) => {
  const expiresOnTimestamp = Date.now() + 4000;
  const { c, lines, next } = direct(() => Promise.resolve({ token: 'same-token', expiresOnTimestamp }));
  t.teardown(() => c.close());
  const unchanged = next('server identity token unchanged');
  t.equal(await c.get(), 'Bearer same-token');
  t.ok(await unchanged);
  t.same(
    lines.map(([msg]) => msg),
    ['server identity token acquired', 'server identity token unchanged'],
  );
});

t.test('with no token left, failed requests back off from 15 s to 5 minutes', async (t) => {
  const { c, lines } = direct(() => Promise.reject(new Error('identity refused')));
  t.teardown(() => c.close());
  for (let i = 0; i < 7; i++) await t.rejects(c.get(), /identity refused/);
  t.same(
    lines.map(([, o]) => o.retryMs),
    [15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000],
  );
});

t.test('refreshAt: the library hint, else four minutes early, else half the life', async (t) => {
  const now = 1_000_000;
  t.equal(refreshAt(now + 3_600_000, now + 1_800_000, now), now + 1_800_000);
  t.equal(refreshAt(now + 3_600_000, undefined, now), now + 3_360_000);
  t.equal(refreshAt(now + 3_600_000, now - 1, now), now + 3_360_000, 'a stale hint is ignored');
  t.equal(refreshAt(now + 60_000, undefined, now), now + 30_000);
});
