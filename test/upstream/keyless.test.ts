// Keyless upstream (docs/contract.md §2): with no AZURE_SPEECH_KEY and no client token the
// proxy authorizes the upstream leg with its own identity, through the real
// @azure/identity DefaultAzureCredential talking to a local stand-in for the
// App Service / Container Apps managed-identity endpoint.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import { startWsUpstream, type UpstreamConn, type WsUpstream } from '../helpers/ws-upstream';
import { IDENTITY_HEADER, startIdentityEndpoint, type IdentityEndpoint } from '../helpers/identity-endpoint';
import { refreshAt } from '../../src/upstream/server-credential';

const TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL2FpLmF6dXJlLmNvbSJ9.bWktc2lnbmF0dXJl';

// One endpoint for the file: MSAL keeps the managed-identity source, and its
// token cache, per process; so each test also asks for its own scope.
let shared: IdentityEndpoint | null = null;
let scopes = 0;
t.teardown(() => shared?.close());

async function setup(
  t: Test,
  scope = `https://test-${++scopes}.example/.default`,
): Promise<{ ep: IdentityEndpoint; up: WsUpstream; h: Harness }> {
  shared ??= await startIdentityEndpoint();
  const ep = shared;
  ep.reset();
  ep.install();
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, {
    AZURE_SPEECH_KEY: '',
    AZURE_VOICE_LIVE_ENDPOINT: up.origin,
    LOG_LEVEL: 'trace',
    AZURE_TOKEN_SCOPE: scope,
  });
  return { ep, up, h };
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
    req.respond({ token: TOKEN });

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
  await h.logLine(`"expiresAt":"${new Date(expiresOn * 1000).toISOString()}"`);
  const c2 = h.client();
  await c2.opened;
  t.equal((await up.nextConnection()).headers.authorization, 'Bearer renewed-token-2');
  t.equal(ep.requests.length, 2);
});

t.test('a client token or the server key wins over the identity', async (t) => {
  const { ep, up, h } = await setup(t);
  const c = h.client(`token=${TOKEN}`);
  await c.opened;
  t.equal((await up.nextConnection()).headers.authorization, `Bearer ${TOKEN}`);
  t.equal(ep.requests.length, 0, 'no identity token asked for');
});

t.test('refreshAt: the library hint, else five minutes early, else half the life', async (t) => {
  const now = 1_000_000;
  t.equal(refreshAt(now + 3_600_000, now + 1_800_000, now), now + 1_800_000);
  t.equal(refreshAt(now + 3_600_000, undefined, now), now + 3_300_000);
  t.equal(refreshAt(now + 3_600_000, now - 1, now), now + 3_300_000, 'a stale hint is ignored');
  t.equal(refreshAt(now + 60_000, undefined, now), now + 30_000);
});
