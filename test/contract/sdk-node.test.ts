// The official SDK (@azure/ai-voicelive 1.1.0, its Node build) as a client,
// unchanged, through the real proxy to the simulator: the proxy's origin is
// the SDK's endpoint. One whole turn per credential: connect, session.update,
// audio appends, commit, and the whole response back, parsed by the SDK.
import t, { type Test } from 'tap';
import { VoiceLiveClient, type VoiceLiveSession } from '@azure/ai-voicelive';
import { startHarness, TEST_KEY, type Harness } from '../helpers/harness';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZGstdXNlciJ9.c2RrLXNpZ25hdHVyZQ';
const PLACEHOLDER = 'placeholder-not-a-key';
/** 24 kHz PCM16: 10 appends of 100 ms of a square wave (never silent). */
const CHUNK = Buffer.alloc(4800);
for (let i = 0; i < CHUNK.length; i += 2) CHUNK.writeInt16LE(((i >> 6) & 1) === 0 ? 6000 : -6000, i);
const APPENDS = 10;

const keyCredential = { key: PLACEHOLDER };
const tokenCredential = {
  getToken: async () => ({ token: JWT, expiresOnTimestamp: Date.now() + 3_600_000 }),
};

interface Turn {
  created: Record<string, unknown>;
  updated: boolean;
  audioBytes: number;
  transcript: string;
  status: string;
  usage: Record<string, unknown>;
}

/** Run one whole turn on a started session; resolves on response.done. */
async function turn(session: VoiceLiveSession): Promise<Turn> {
  const out: Turn = { created: {}, updated: false, audioBytes: 0, transcript: '', status: '', usage: {} };
  let onDone!: () => void;
  let onUpdated!: () => void;
  const done = new Promise<void>((resolve) => {
    onDone = resolve;
  });
  const updated = new Promise<void>((resolve) => {
    onUpdated = resolve;
  });
  session.subscribe({
    onSessionUpdated: async () => {
      out.updated = true;
      onUpdated();
    },
    onResponseAudioDelta: async (e) => {
      out.audioBytes += e.delta.byteLength;
    },
    onResponseAudioTranscriptDone: async (e) => {
      out.transcript = e.transcript;
    },
    onResponseDone: async (e) => {
      out.status = String(e.response.status);
      out.usage = e.response.usage as unknown as Record<string, unknown>;
      onDone();
    },
  });
  await session.updateSession({ modalities: ['audio', 'text'], instructions: 'Be brief.' });
  await updated;
  for (let i = 0; i < APPENDS; i++) await session.sendAudio(CHUNK);
  await session.sendEvent({ type: 'input_audio_buffer.commit' });
  await done;
  return out;
}

async function harness(t: Test, env: Record<string, string> = {}): Promise<{ h: Harness; endpoint: string }> {
  // The Node SDK sends no Origin header, as any server-side client.
  const h = await startHarness(t, {
    ALLOW_NO_ORIGIN: 'true',
    ALLOWED_MODELS: 'gpt-realtime,gpt-realtime-mini',
    ...env,
  });
  return { h, endpoint: `http://127.0.0.1:${h.proxy.port}` };
}

function check(t: Test, r: Turn): void {
  t.equal(r.updated, true, 'session.updated');
  t.equal(r.audioBytes, APPENDS * CHUNK.length, 'the whole echo came back as audio deltas');
  t.match(r.transcript, /seconds long/);
  t.equal(r.status, 'completed');
  const usage = r.usage as { inputTokenDetails: { audioTokens: number }; outputTokenDetails: { audioTokens: number } };
  t.ok(usage.inputTokenDetails.audioTokens > 0, 'usage details parsed by the SDK');
  t.ok(usage.outputTokenDetails.audioTokens > 0);
}

t.test('key credential: a placeholder key, the server key upstream', async (t) => {
  const { h, endpoint } = await harness(t);
  const session = await new VoiceLiveClient(endpoint, keyCredential).startSession('gpt-realtime');
  t.teardown(() => session.dispose());
  check(t, await turn(session));
  const up = h.sim.upgrades[0];
  t.equal(new URL(up.url, 'ws://x').pathname, '/voice-live/realtime');
  t.same(
    [...new URL(up.url, 'ws://x').searchParams.entries()],
    [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime'],
    ],
  );
  t.equal(up.headers['api-key'], TEST_KEY);
  t.notMatch(JSON.stringify(up), PLACEHOLDER);
  t.match(up.headers['x-ms-client-request-id'], /^\d+-[a-z0-9]+$/, 'the SDK request id is forwarded');
  t.notMatch(h.logs.join('\n'), PLACEHOLDER);
});

t.test('token credential: the user token as Bearer, no server key', async (t) => {
  const { h, endpoint } = await harness(t);
  const session = await new VoiceLiveClient(endpoint, tokenCredential).startSession('gpt-realtime-mini');
  t.teardown(() => session.dispose());
  check(t, await turn(session));
  const up = h.sim.upgrades[0];
  t.equal(up.headers.authorization, `Bearer ${JWT}`);
  t.equal(up.headers['api-key'], undefined);
  t.equal(new URL(up.url, 'ws://x').searchParams.get('model'), 'gpt-realtime-mini');
  t.notMatch(h.logs.join('\n'), JWT);
});

t.test('agent target: the service names arrive upstream, the session is the agent', async (t) => {
  const { h, endpoint } = await harness(t);
  const session = await new VoiceLiveClient(endpoint, tokenCredential).startSession({
    agent: { agentName: 'support-bot', projectName: 'my-project', agentVersion: '3', conversationId: 'conv_42' },
  });
  t.teardown(() => session.dispose());
  check(t, await turn(session));
  const up = h.sim.upgrades[0];
  t.same(
    [...new URL(up.url, 'ws://x').searchParams.entries()],
    [
      ['api-version', '2026-07-15'],
      ['agent-name', 'support-bot'],
      ['agent-version', '3'],
      ['conversation-id', 'conv_42'],
      ['agent-project-name', 'my-project'],
    ],
  );
  t.equal(up.headers.authorization, `Bearer ${JWT}`);
  const open = await h.logLine('session open');
  t.equal(open.mode, 'agent');
});

t.test('agent target with a key credential: refused before Azure; onDisconnected fires', async (t) => {
  const { h, endpoint } = await harness(t);
  const client = new VoiceLiveClient(endpoint, keyCredential);
  const session = await client.startSession({ agent: { agentName: 'support-bot', projectName: 'my-project' } });
  t.teardown(() => session.dispose());
  const disconnected = new Promise<void>((resolve) => {
    session.subscribe({
      onDisconnected: async () => {
        resolve();
      },
    });
  });
  await disconnected;
  // SDK 1.1.0 drops server events that come before session.created and gives
  // onDisconnected a 1006 of its own; the close reason reaches onError
  // (sdk-refusal.test.ts). The proxy's log and metrics have the code.
  const refused = await h.logLine('request refused after upgrade');
  t.equal(refused.error, 'agent_token_required');
  t.equal(h.proxy.metrics.upgradesInvalid, 1);
  t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
});
