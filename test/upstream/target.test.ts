// buildTarget: transport and path, server agent defaults, API version per
// transport, the credential step, and the exact upstream query per mode.
import t from 'tap';
import { compareApiVersions, loadConfig } from '../../src/config';
import { emptyParams, type ClientParams } from '../../src/upgrade/client-params';
import {
  buildTarget,
  chooseCredential,
  resolveAgent,
  resolveTransport,
  type TargetConfig,
} from '../../src/upstream/target';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';
const KEY = 'server-key-0123456789';

function cfg(env: Record<string, string> = {}): TargetConfig {
  return loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9', AZURE_SPEECH_KEY: KEY, ...env });
}

function params(over: Partial<ClientParams>): ClientParams {
  return { ...emptyParams(), ...over };
}

function target(c: TargetConfig, p: Partial<ClientParams>, calls = false) {
  const r = buildTarget(c, params(p), '', calls);
  if (!r.ok) throw new Error(`expected a target: ${r.error.code}`);
  return r.target;
}

function code(c: TargetConfig, p: Partial<ClientParams>, calls = false): string {
  const r = buildTarget(c, params(p), '', calls);
  return r.ok ? 'ok' : r.error.code;
}

function q(url: string): Array<[string, string]> {
  return [...new URL(url).searchParams.entries()];
}

t.test('standard websocket session on the server key', async (t) => {
  const tg = target(cfg(), {});
  t.equal(tg.path, 'ws://127.0.0.1:9/voice-live/realtime');
  t.same(q(tg.url), [
    ['api-version', '2026-07-15'],
    ['model', 'gpt-realtime'],
  ]);
  t.same(Object.keys(tg.headers).sort(), ['api-key', 'x-ms-client-request-id']);
  t.equal(tg.transport, 'websocket');
  t.equal(tg.apiVersion, '2026-07-15');
  t.equal(tg.mode, 'standard');
});

t.test('request id: query, then header, then generated', async (t) => {
  t.equal(
    buildTarget(cfg(), params({ clientRequestId: 'from-query' }), 'from-header').ok &&
      target(cfg(), { clientRequestId: 'from-query' }).requestId,
    'from-query',
  );
  const r = buildTarget(cfg(), params({}), 'from-header');
  t.equal(r.ok && r.target.headers['x-ms-client-request-id'], 'from-header');
  t.match(target(cfg(), {}).requestId, /^[0-9a-f-]{36}$/);
});

t.test('WebRTC: /calls path or transport=webrtc; default and minimum API version', async (t) => {
  const c = cfg();
  const a = target(c, {}, true);
  t.equal(a.path, 'ws://127.0.0.1:9/voice-live/realtime/calls');
  t.equal(a.transport, 'webrtc');
  t.equal(a.apiVersion, '2026-01-01-preview', 'WEBRTC_API_VERSION when the client names none');
  const b = target(c, { transport: 'webrtc', apiVersion: '2026-07-15' });
  t.equal(b.path, 'ws://127.0.0.1:9/voice-live/realtime/calls');
  t.equal(b.apiVersion, '2026-07-15', 'a client version at or after the minimum is kept');
  t.equal(code(c, { transport: 'webrtc', apiVersion: '2025-10-01' }), 'webrtc_api_version');
  t.equal(code(c, { transport: 'websocket' }, true), 'transport_conflict');
  t.equal(target(c, { transport: 'webrtc' }, true).transport, 'webrtc');
  t.equal(resolveTransport(params({}), false), 'websocket');
  t.equal(target(cfg({ WEBRTC_API_VERSION: '2026-06-01-preview' }), {}, true).apiVersion, '2026-06-01-preview');
});

t.test('compareApiVersions: by date, preview before GA of the same date', async (t) => {
  t.ok(compareApiVersions('2025-10-01', '2026-01-01-preview') < 0);
  t.ok(compareApiVersions('2026-07-15', '2026-01-01-preview') > 0);
  t.ok(compareApiVersions('2026-01-01-preview', '2026-01-01') < 0);
  t.equal(compareApiVersions('2026-01-01', '2026-01-01'), 0);
});

t.test('agent mode, service names, every optional parameter, in order', async (t) => {
  const tg = target(cfg(), {
    agentName: 'bot',
    projectName: 'proj',
    agentVersion: '2',
    conversationId: 'conv_1',
    agentAuthIdentityClientId: 'abc-1',
    foundryResourceOverride: 'other',
    token: JWT,
  });
  t.equal(tg.mode, 'agent');
  t.equal(tg.label, 'bot');
  t.same(q(tg.url), [
    ['api-version', '2026-07-15'],
    ['agent-name', 'bot'],
    ['agent-version', '2'],
    ['conversation-id', 'conv_1'],
    ['agent-authentication-identity-client-id', 'abc-1'],
    ['foundry-resource-override', 'other'],
    ['agent-project-name', 'proj'],
  ]);
  t.equal(tg.headers.authorization, `Bearer ${JWT}`);
  t.equal(tg.headers['api-key'], undefined, 'the server key is never used for an agent');
});

t.test('legacy agent-id mode keeps agent-access-token in the URL', async (t) => {
  const tg = target(cfg(), { agentId: 'asst_1', projectName: 'p', token: JWT });
  t.same(
    q(tg.url).map(([k]) => k),
    ['api-version', 'agent-id', 'agent-project-name', 'agent-access-token'],
  );
});

t.test('server agent defaults apply when the client names neither agent nor model', async (t) => {
  const c = cfg({ AGENT_NAME: 'house-bot', AGENT_PROJECT_NAME: 'house', AGENT_VERSION: '7' });
  const tg = target(c, { token: JWT });
  t.same(q(tg.url), [
    ['api-version', '2026-07-15'],
    ['agent-name', 'house-bot'],
    ['agent-version', '7'],
    ['agent-project-name', 'house'],
  ]);
  t.equal(
    target(c, { token: JWT, conversationId: 'c1', agentVersion: '8' }).url.includes(
      'agent-version=8&conversation-id=c1',
    ),
    true,
    'the client may pin a version and resume a conversation of the default agent',
  );
  t.equal(
    target(c, { model: 'gpt-realtime-mini' }).mode,
    'standard',
    'a client asking for a model gets a model session',
  );
  t.equal(code(c, {}), 'agent_token_required', 'an agent needs the user token (no server key for agents)');
  const own = target(c, { agentName: 'theirs', token: JWT });
  t.match(own.url, /agent-name=theirs&agent-project-name=house/, 'AGENT_PROJECT_NAME completes a client-named agent');
  const r = resolveAgent(c, params({}));
  t.equal(r !== null && 'source' in r && r.source, 'server');
});

t.test('the credential step', async (t) => {
  const c = cfg();
  t.same(chooseCredential(c, params({ token: JWT }), 'standard'), { authorization: `Bearer ${JWT}` });
  t.same(chooseCredential(c, params({}), 'standard'), { 'api-key': KEY });
  t.same(chooseCredential(cfg({ AZURE_SPEECH_KEY: '' }), params({}), 'standard'), {}, 'keyless: no header yet');
  t.equal(target(cfg({ AZURE_SPEECH_KEY: '' }), {}).credential, 'identity', "the proxy's own identity");
  t.equal(target(c, {}).credential, 'key');
  t.equal(target(c, { token: JWT }).credential, 'client');
  t.equal(code(c, { agentName: 'a' }), 'agent_project_required');
  t.equal(code(c, { agentName: 'a', projectName: 'p' }), 'agent_token_required');
  t.equal(code(c, { agentName: 'a', projectName: 'p', token: JWT, apiKeyIgnored: true }), 'ok');
});

t.test('values are encoded and no parameter can be smuggled', async (t) => {
  const tg = target(cfg(), { model: 'a:b', token: JWT });
  t.match(tg.url, /model=a%3Ab$/);
  t.notMatch(tg.url, JWT, 'a user token never goes into a standard URL');
});
