// The URL and headers the proxy sends upstream per mode (docs/contract.md §2), smuggling
// attempts, and request errors that must never reach the upstream (docs/contract.md §1).
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, TEST_KEY } from '../helpers/harness';
import { startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';

async function setup(
  t: Test,
  env: Record<string, string> = {},
): Promise<{ up: WsUpstream; h: Awaited<ReturnType<typeof startHarness>> }> {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin, ...env });
  return { up, h };
}

function query(url: string): URLSearchParams {
  return new URL(url, 'ws://x').searchParams;
}

t.test('standard mode with the server key: api-key header, never in the URL', async (t) => {
  const { up, h } = await setup(t, { ALLOWED_MODELS: 'gpt-realtime-mini' });
  const c = h.client('model=gpt-realtime-mini');
  await c.opened;
  const u = await up.nextConnection();
  t.equal(new URL(u.url, 'ws://x').pathname, '/voice-live/realtime');
  const q = query(u.url);
  t.same([...q.keys()], ['api-version', 'model']);
  t.equal(q.get('api-version'), '2026-07-15');
  t.equal(q.get('model'), 'gpt-realtime-mini');
  t.equal(u.headers['api-key'], TEST_KEY);
  t.equal(u.headers.authorization, undefined);
  t.notMatch(u.url, TEST_KEY);
  t.match(u.headers['x-ms-client-request-id'], /^[0-9a-f-]{36}$/, 'a request id is generated');
});

t.test('standard mode defaults the model and prefers the client token as Bearer', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client(`token=${JWT}`, { headers: { 'x-ms-client-request-id': 'abc-123' } });
  await c.opened;
  const u = await up.nextConnection();
  t.equal(query(u.url).get('model'), 'gpt-realtime');
  t.equal(u.headers.authorization, `Bearer ${JWT}`);
  t.equal(u.headers['api-key'], undefined, 'the server key is not sent alongside a client token');
  t.equal(u.headers['x-ms-client-request-id'], 'abc-123', 'the client request id is forwarded');
});

t.test('agent mode: agent-id, project, token as Bearer and agent-access-token', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client(`agentId=asst_abc123&projectName=my-project&token=${JWT}&apiVersion=2025-05-01-preview`);
  await c.opened;
  const u = await up.nextConnection();
  const q = query(u.url);
  t.same([...q.keys()], ['api-version', 'agent-id', 'agent-project-name', 'agent-access-token']);
  t.equal(q.get('api-version'), '2025-05-01-preview');
  t.equal(q.get('agent-id'), 'asst_abc123');
  t.equal(q.get('agent-project-name'), 'my-project');
  t.equal(q.get('agent-access-token'), JWT);
  t.equal(u.headers.authorization, `Bearer ${JWT}`);
  t.equal(u.headers['api-key'], undefined);
  const line = await h.logLine('session open');
  t.equal(line.mode, 'agent');
});

t.test('agent mode, Agent Service v2 names', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client(`agentName=support-bot&agentVersion=3&conversationId=conv_1&projectName=p1&token=${JWT}`);
  await c.opened;
  const u = await up.nextConnection();
  const q = query(u.url);
  t.same(
    [...q.keys()],
    ['api-version', 'agent-name', 'agent-version', 'conversation-id', 'agent-project-name'],
    'Agent Service v2 takes the Authorization header alone: no token in the URL',
  );
  t.equal(u.headers.authorization, `Bearer ${JWT}`);
  t.equal(q.get('agent-name'), 'support-bot');
  t.equal(q.get('agent-version'), '3');
  t.equal(q.get('conversation-id'), 'conv_1');
});

const REFUSED: Array<[string, string, string]> = [
  ['model=gpt%26model%3Devil', 'invalid_parameter', 'encoded & and = cannot smuggle a parameter'],
  ['model=a&model=b', 'duplicate_parameter', 'a repeated parameter is refused, not last-wins'],
  ['model=a%0d%0aX-Evil:%201', 'invalid_parameter', 'CRLF'],
  ['model=a%00b', 'invalid_parameter', 'NUL'],
  [`token=${'a'.repeat(10 * 1024)}`, 'invalid_parameter', 'a 10 KB token (over the 8 KB limit)'],
  ['model=%E0%A4%A', 'invalid_parameter', 'broken percent-encoding'],
  ['apiVersion=2099-01-01', 'unsupported_api_version', 'apiVersion outside the allowlist'],
  ['agentId=asst_1&projectName=p', 'agent_token_required', 'agent mode without token'],
  ['agentId=asst_1', 'agent_project_required', 'agentId without projectName'],
  [Array.from({ length: 200 }, () => 'model=x').join('&'), 'duplicate_parameter', '200 repeated parameters'],
];

t.test('request errors: error event, then 1008 with the same reason; upstream untouched', async (t) => {
  const { up, h } = await setup(t);
  for (const [q, code, why] of REFUSED) {
    const c = h.client(q);
    const ev = await c.nextJson();
    t.same(ev, { type: 'error', error: { type: 'invalid_request_error', code, message: ev.error.message } }, why);
    const closed = await c.closed;
    t.equal(closed.code, 1008, `${why}: 1008`);
    t.equal(closed.reason, ev.error.message, `${why}: same reason`);
  }
  t.equal(up.conns.length, 0, 'the upstream was never contacted');
  t.equal(h.proxy.gate.counter.active, 0, 'every slot given back');
  t.equal(h.proxy.metrics.upgradesInvalid, REFUSED.length);
});

t.test('unknown parameters are ignored, never forwarded, counted and logged at debug', async (t) => {
  const { up, h } = await setup(t, { ALLOWED_MODELS: 'm1' });
  const c = h.client('model=m1&api_version=2020-01-01&foo=bar&_=123&h-x-custom=1');
  await c.opened;
  const u = await up.nextConnection();
  t.same(
    [...query(u.url).entries()],
    [
      ['api-version', '2026-07-15'],
      ['model', 'm1'],
    ],
  );
  t.equal(h.proxy.metrics.unknownParameters, 4);
  const line = await h.logLine('unknown query parameters ignored');
  t.same(line.unknown, ['api_version', 'foo', '_', 'h-x-custom']);
  t.equal(line.level, 'debug');
  const metrics = h.proxy.metrics.render({ activeConnections: 0, maxConnections: 1, draining: false });
  t.match(metrics, /^voice_live_proxy_unknown_parameters_total 4$/m);
});

t.test('the first offered subprotocol is echoed and not forwarded', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client('', { protocols: ['realtime', 'other'] });
  await c.opened;
  t.equal(c.ws.protocol, 'realtime');
  const u = await up.nextConnection();
  t.equal(u.headers['sec-websocket-protocol'], undefined);
});

t.test('a 64 KB parameter value is refused before the upgrade with 431', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client(`token=${'a'.repeat(64 * 1024)}`);
  const refused = await c.refused;
  t.equal(refused.status, 431);
  t.equal(up.conns.length, 0);
  const ok = h.client();
  await ok.opened;
  t.pass('the process keeps serving');
});

t.test('oversized request headers are refused with 431 before any handler runs', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client('', { headers: { 'x-filler': 'a'.repeat(20 * 1024) } });
  t.equal((await c.refused).status, 431);
  t.equal(up.conns.length, 0);
  t.equal((await h.http('/health')).status, 200, 'the process stays healthy');
});
