// The paths the openai clients open (docs/contract.md §1), with what reaches the upstream:
// `/v1/realtime`, `/openai/v1/realtime` and `/openai/realtime` go to Voice Live's own
// path; `deployment` is `model`; an Azure OpenAI api-version is mapped; a client's
// `Bearer sk-...`, api-key or `openai-insecure-api-key.*` subprotocol is dropped and
// counted, never forwarded, and a credential subprotocol is never echoed.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, TEST_KEY } from '../helpers/harness';
import { startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const SK = 'sk-proj-client-secret-0123456789';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';

async function setup(
  t: Test,
  env: Record<string, string> = {},
): Promise<{ up: WsUpstream; h: Awaited<ReturnType<typeof startHarness>> }> {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, {
    AZURE_VOICE_LIVE_ENDPOINT: up.origin,
    ALLOWED_MODELS: 'gpt-realtime,gpt-realtime-mini',
    ...env,
  });
  return { up, h };
}

function entries(url: string): string[][] {
  return [...new URL(url, 'ws://x').searchParams.entries()];
}

const ROUTES: Array<[string, string, string[][]]> = [
  [
    '/v1/realtime',
    'model=gpt-realtime-mini',
    [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime-mini'],
    ],
  ],
  [
    '/openai/v1/realtime',
    'model=gpt-realtime-mini',
    [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime-mini'],
    ],
  ],
  [
    '/openai/realtime',
    'api-version=2025-04-01-preview&deployment=gpt-realtime-mini',
    [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime-mini'],
    ],
  ],
  [
    '/voice-live/realtime',
    'api-version=2024-10-01-preview&deployment=gpt-realtime-mini',
    [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime-mini'],
    ],
  ],
];

for (const [path, q, upstream] of ROUTES) {
  t.test(`${path}: Voice Live's path upstream, Bearer sk-... dropped, the server key used`, async (t) => {
    const { up, h } = await setup(t);
    const c = h.clientAt(path, q, { headers: { authorization: `Bearer ${SK}` } });
    await c.opened;
    const u = await up.nextConnection();
    t.equal(new URL(u.url, 'ws://x').pathname, '/voice-live/realtime');
    t.same(entries(u.url), upstream);
    t.equal(u.headers['api-key'], TEST_KEY);
    t.equal(u.headers.authorization, undefined);
    t.notMatch(JSON.stringify(u.headers) + u.url, SK);
    t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 1);
    const line = await h.logLine('client credential dropped');
    t.same(line.dropped, ['bearer']);
    t.notMatch(h.logs.join('\n'), SK);
  });
}

t.test('a JWT bearer is still the user token', async (t) => {
  const { up, h } = await setup(t);
  const c = h.clientAt('/v1/realtime', 'model=gpt-realtime', { headers: { authorization: `Bearer ${JWT}` } });
  await c.opened;
  const u = await up.nextConnection();
  t.equal(u.headers.authorization, `Bearer ${JWT}`);
  t.equal(u.headers['api-key'], undefined);
  t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 0);
});

t.test('subprotocol credentials: realtime echoed, the key dropped and counted, nothing forwarded', async (t) => {
  const { up, h } = await setup(t);
  const c = h.clientAt('/v1/realtime', 'model=gpt-realtime', {
    protocols: [`openai-insecure-api-key.${SK}`, 'realtime', 'openai-organization.org-1', 'openai-beta.realtime-v1'],
  });
  await c.opened;
  t.equal(c.ws.protocol, 'realtime');
  const u = await up.nextConnection();
  t.equal(u.headers['sec-websocket-protocol'], undefined);
  t.notMatch(JSON.stringify(u.headers) + u.url, SK);
  t.equal(u.headers['api-key'], TEST_KEY);
  t.equal(h.proxy.metrics.clientCredentialsDroppedSubprotocol, 1);
  const metrics = h.proxy.metrics.render({ activeConnections: 0, maxConnections: 1, draining: false });
  t.match(metrics, /^voice_live_proxy_client_credentials_dropped_total\{kind="subprotocol"\} 1$/m);
  t.notMatch(h.logs.join('\n'), SK);
});

t.test('a client api-key is counted too', async (t) => {
  const { up, h } = await setup(t);
  const c = h.clientAt('/openai/v1/realtime', 'model=gpt-realtime', { headers: { 'api-key': 'placeholder' } });
  await c.opened;
  const u = await up.nextConnection();
  t.equal(u.headers['api-key'], TEST_KEY);
  t.equal(h.proxy.metrics.clientCredentialsDroppedApiKey, 1);
});

const REFUSED: Array<[string, string, string]> = [
  ['/openai/realtime', 'api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview', 'model_not_allowed'],
  ['/v1/realtime', 'model=gpt-4o-realtime-preview', 'model_not_allowed'],
  ['/openai/realtime', 'model=gpt-realtime&deployment=gpt-realtime-mini', 'duplicate_parameter'],
  ['/openai/v1/realtime', 'model=gpt-realtime&api-version=2099-01-01', 'unsupported_api_version'],
];

for (const [path, q, code] of REFUSED) {
  t.test(`${path}?${q}: ${code}, the upstream never contacted`, async (t) => {
    const { up, h } = await setup(t);
    const c = h.clientAt(path, q);
    const ev = await c.waitFor('error');
    t.equal(ev.error.code, code);
    const closed = await c.closed;
    t.equal(closed.code, 1008);
    t.equal(up.conns.length, 0);
  });
}

t.test('a plain GET on the openai paths answers 426', async (t) => {
  const { h } = await setup(t);
  for (const path of ['/v1/realtime', '/openai/v1/realtime', '/openai/realtime']) {
    const r = await h.http(path);
    t.equal(r.status, 426, path);
    t.equal(((await r.json()) as { error: { code: string } }).error.code, 'upgrade_required');
  }
});
