// docs/contract.md §1 over real sockets: the service's own paths beside /ws, the SDK's
// credential spellings (Node: headers; browser: query), the WebRTC control
// channel end to end through the simulator, and what is never forwarded.
import t from 'tap';
import { SOCKET_PATHS } from '../../src/server';
import { startHarness, TEST_KEY } from '../helpers/harness';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';
const TICKET = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0aWNrZXQifQ.dGlja2V0LXNpZw';
const PLACEHOLDER = 'placeholder-key-not-a-secret-9f8e7d';

/** A Chrome-shaped offer: one audio section and the data channel, bundled. */
export const OFFER =
  [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=setup:actpass',
    'a=mid:1',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ].join('\r\n') + '\r\n';

function query(url: string): URLSearchParams {
  return new URL(url, 'ws://x').searchParams;
}

t.test('GET / lists every path served: each socket path (426 on a plain GET), no /usage without quotas', async (t) => {
  const h = await startHarness(t);
  const root = (await (await h.http('/')).json()) as { endpoints: Record<string, string> };
  const e = root.endpoints;
  // The names older releases listed keep their values.
  t.equal(e.websocket, '/ws');
  t.equal(e.realtime, '/voice-live/realtime');
  t.equal(e.webrtc, '/voice-live/realtime/calls');
  t.equal(e.openai, '/v1/realtime');
  t.equal(e.azureOpenai, '/openai/v1/realtime');
  t.equal(e.azureOpenaiBeta, '/openai/realtime');
  t.equal(e.liveness, '/livez');
  t.equal(e.readiness, '/readyz');
  t.equal(e.usage, undefined, 'no quota and no Redis: no /usage route, so none listed');
  const listed = Object.values(e);
  t.equal(new Set(listed).size, listed.length, 'each path listed once');
  // From the registered paths, so a socket path added later cannot go unlisted.
  for (const path of SOCKET_PATHS) {
    t.ok(listed.includes(path), `${path} is listed`);
    const res = await h.http(path);
    t.equal(res.status, 426, path);
    t.equal(((await res.json()) as { error: { code: string } }).error.code, 'upgrade_required');
  }
  for (const [name, path] of Object.entries(e)) t.not((await h.http(path)).status, 404, `${name} (${path}) is served`);
});

t.test('GET / lists /usage where the route is registered (a daily quota)', async (t) => {
  const h = await startHarness(t, { QUOTA_AUDIO_MINUTES_PER_DAY: '1' });
  const root = (await (await h.http('/')).json()) as { endpoints: Record<string, string> };
  t.equal(root.endpoints.usage, '/usage');
  t.equal((await h.http('/usage')).status, 200, 'and it answers');
  t.same(Object.keys(root.endpoints), [
    'websocket',
    'realtime',
    'webrtc',
    'openai',
    'azureOpenai',
    'azureOpenaiBeta',
    'health',
    'liveness',
    'readiness',
    'metrics',
    'usage',
  ]);
});

t.test('SDK Node build, key: placeholder api-key (query and header) dropped, server key sent', async (t) => {
  const h = await startHarness(t);
  const c = h.clientAt('/voice-live/realtime', `api-version=2026-07-15&model=gpt-realtime&api-key=${PLACEHOLDER}`, {
    headers: { 'api-key': PLACEHOLDER, 'x-ms-client-request-id': '1717171717-abc123' },
  });
  const created = await c.nextJson();
  t.equal(created.type, 'session.created');
  t.equal(created.session.api_version, '2026-07-15');
  const up = h.sim.upgrades[h.sim.upgrades.length - 1];
  t.equal(new URL(up.url, 'ws://x').pathname, '/voice-live/realtime');
  t.same([...query(up.url).keys()], ['api-version', 'model']);
  t.equal(up.headers['api-key'], TEST_KEY, 'the server key, as a header');
  t.equal(up.headers['x-ms-client-request-id'], '1717171717-abc123');
  t.notMatch(JSON.stringify(up), PLACEHOLDER, 'the client key never reaches the upstream');
  t.notMatch(h.logs.join('\n'), PLACEHOLDER, 'nor the logs');
});

t.test('SDK Node build, token: Authorization header forwarded as Bearer', async (t) => {
  const h = await startHarness(t);
  const c = h.clientAt('/voice-live/realtime', 'api-version=2026-07-15&model=gpt-realtime', {
    headers: { authorization: `Bearer ${JWT}` },
  });
  t.equal((await c.nextJson()).type, 'session.created');
  const up = h.sim.upgrades[h.sim.upgrades.length - 1];
  t.equal(up.headers.authorization, `Bearer ${JWT}`);
  t.equal(up.headers['api-key'], undefined, 'the user token wins over the server key');
  t.notMatch(h.logs.join('\n'), JWT);
});

t.test('SDK browser build: authorization=Bearer and client-request-id in the query', async (t) => {
  const h = await startHarness(t);
  const c = h.clientAt(
    '/voice-live/realtime',
    `api-version=2026-07-15&model=gpt-realtime&authorization=Bearer+${JWT}&client-request-id=1717-xyz`,
  );
  t.equal((await c.nextJson()).type, 'session.created');
  const up = h.sim.upgrades[h.sim.upgrades.length - 1];
  t.equal(up.headers.authorization, `Bearer ${JWT}`);
  t.equal(up.headers['x-ms-client-request-id'], '1717-xyz');
  t.same([...query(up.url).keys()], ['api-version', 'model'], 'no credential in the upstream URL');
  const open = await h.logLine('session open');
  t.equal(open.clientRequestId, '1717-xyz', "logged as the client's id");
  t.not(open.requestId, '1717-xyz', "the session key stays the proxy's own");
  t.notMatch(h.logs.join('\n'), JWT);
});

t.test('ticket is parsed and never forwarded or logged', async (t) => {
  const h = await startHarness(t);
  const c = h.client(`model=gpt-realtime&ticket=${TICKET}`);
  t.equal((await c.nextJson()).type, 'session.created');
  const up = h.sim.upgrades[h.sim.upgrades.length - 1];
  t.notMatch(JSON.stringify(up), TICKET);
  t.notMatch(h.logs.join('\n'), TICKET);
});

t.test('WebRTC control channel end to end: /calls path and transport=webrtc', async (t) => {
  const h = await startHarness(t);
  for (const [path, q] of [
    ['/voice-live/realtime/calls', 'model=gpt-realtime'],
    ['/ws', 'model=gpt-realtime&transport=webrtc'],
  ]) {
    const c = h.clientAt(path, q);
    const created = await c.nextJson();
    t.equal(created.type, 'session.created', path);
    t.equal(created.session.api_version, '2026-01-01-preview', 'the WebRTC default version');
    const up = h.sim.upgrades[h.sim.upgrades.length - 1];
    t.equal(new URL(up.url, 'ws://x').pathname, '/voice-live/realtime/calls');
    c.ws.send(
      JSON.stringify({
        type: 'rtc.call.sdp.create',
        sdp_offer: OFFER,
        session: { voice: { name: 'alloy', type: 'openai' } },
      }),
    );
    const answer = await c.nextJson();
    t.equal(answer.type, 'rtc.call.sdp.created');
    t.match(answer.rtc_call_id, /^rtc_/);
    const sdp = answer.sdp_answer as string;
    t.ok(sdp.startsWith('v=0\r\n'), 'an SDP document');
    t.match(sdp, /\r\na=group:BUNDLE 0 1\r\n/);
    t.match(sdp, /\r\nm=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    t.match(sdp, /\r\nm=application 9 UDP\/DTLS\/SCTP webrtc-datachannel\r\n/);
    t.match(sdp, /\r\na=setup:active\r\n/);
    t.notMatch(sdp, /a=candidate/, 'no media: no candidates');
    t.equal((await c.nextJson()).type, 'session.updated', "the offer's session config is applied");
    c.ws.close(1000);
    await c.closed;
  }
  const log = await h.logLine('session open');
  t.equal(log.transport, 'webrtc');
});

t.test('WebRTC refusals: too old an API version, a websocket transport on /calls, a bad offer', async (t) => {
  const h = await startHarness(t);
  const old = h.client('transport=webrtc&api-version=2025-10-01');
  t.equal((await old.nextJson()).error.code, 'webrtc_api_version');
  t.equal((await old.closed).code, 1008);
  const conflict = h.clientAt('/voice-live/realtime/calls', 'transport=websocket');
  t.equal((await conflict.nextJson()).error.code, 'transport_conflict');
  t.equal((await conflict.closed).code, 1008);
  t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
  const c = h.clientAt('/voice-live/realtime/calls');
  await c.nextJson();
  c.ws.send(JSON.stringify({ type: 'rtc.call.sdp.create', sdp_offer: 'not sdp' }));
  const err = await c.nextJson();
  t.equal(err.type, 'rtc.call.error');
  t.equal(err.error.code, 'invalid_sdp');
  const plain = h.clientAt('/voice-live/realtime');
  await plain.nextJson();
  plain.ws.send(JSON.stringify({ type: 'rtc.call.sdp.create', sdp_offer: OFFER }));
  t.equal((await plain.nextJson()).error.code, 'unknown_event', 'only the calls path negotiates');
});

t.test("server agent defaults, and the successor's FOUNDRY_* names", async (t) => {
  const h = await startHarness(t, {
    FOUNDRY_AGENT_NAME: 'house-bot',
    FOUNDRY_PROJECT_NAME: 'house',
    AGENT_VERSION: '4',
  });
  const c = h.clientAt('/voice-live/realtime', 'api-version=2026-07-15', {
    headers: { authorization: `Bearer ${JWT}` },
  });
  const created = await c.nextJson();
  t.same(created.session.agent, {
    id: null,
    name: 'house-bot',
    version: '4',
    project_name: 'house',
    conversation_id: null,
  });
  const model = h.client(`model=gpt-realtime&token=${JWT}`);
  t.equal((await model.nextJson()).session.model, 'gpt-realtime', 'naming a model keeps a model session');
  const noToken = h.client();
  t.equal((await noToken.nextJson()).error.code, 'agent_token_required');
});

t.test(
  "older proxies' token= that is not a JWT: dropped, counted, never upstream, logged or in /metrics",
  async (t) => {
    const h = await startHarness(t);
    // A client secret and a placeholder: neither can be a user's MSAL token (always a JWT).
    const values = ['sk-proj-Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OQ', PLACEHOLDER];
    for (const value of values) {
      const c = h.client(`model=gpt-realtime&token=${value}`);
      t.equal((await c.nextJson()).type, 'session.created', "the session runs on the proxy's credential");
      const up = h.sim.upgrades[h.sim.upgrades.length - 1];
      t.equal(up.headers['api-key'], TEST_KEY, 'the server key, as a header');
      t.equal(up.headers.authorization, undefined, 'no bearer made of it');
      t.same([...query(up.url).keys()], ['api-version', 'model']);
      t.notMatch(JSON.stringify(up), value, 'never upstream');
    }
    t.equal(h.proxy.metrics.clientCredentialsDroppedToken, 2);
    t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 0, 'a kind of its own');
    const metrics = await (await h.http('/metrics')).text();
    t.match(metrics, /^voice_live_proxy_client_credentials_dropped_total\{kind="token"\} 2$/m);
    const line = await h.logLine('client credential dropped');
    t.same(line.dropped, ['token']);
    // An agent session needs the user's own token: a dropped one is none.
    const agent = h.client(`agentName=a1&projectName=p1&token=${values[0]}`);
    t.equal((await agent.nextJson()).error.code, 'agent_token_required');
    t.equal(h.sim.upgrades.length, 2, 'the agent request never reached the upstream');
    // A JWT is still the user's token, forwarded as before and not counted.
    const jwt = h.client(`model=gpt-realtime&token=${JWT}`);
    t.equal((await jwt.nextJson()).type, 'session.created');
    t.equal(h.sim.upgrades[h.sim.upgrades.length - 1].headers.authorization, `Bearer ${JWT}`);
    t.equal(h.proxy.metrics.clientCredentialsDroppedToken, 3, 'the agent request was counted; the JWT was not');
    const logs = h.logs.join('\n');
    for (const value of values) {
      t.notMatch(logs, value, 'never logged');
      t.notMatch(metrics, value, 'never in /metrics');
    }
  },
);

t.test('a bare token pasted into the query is counted, never logged', async (t) => {
  const h = await startHarness(t);
  const c = h.client(`model=gpt-realtime&${JWT}`);
  t.equal((await c.nextJson()).type, 'session.created');
  const line = await h.logLine('unknown query parameters ignored');
  t.same(line.unknown, [`(${JWT.length} characters)`]);
  t.notMatch(h.logs.join('\n'), JWT.slice(0, 20));
  t.notMatch(JSON.stringify(h.sim.upgrades), JWT);
});
