// The `openai` package (7.60, its Node clients), unchanged, through the real
// proxy to the simulator: `OpenAI({ baseURL: <proxy>/v1 })` + OpenAIRealtimeWS,
// the GA `OpenAIRealtimeWS.azure()` and the beta `.azure()` (`deployment`, a
// 2025 preview api-version). One whole turn each: session.update, appends,
// commit, the audio back through the typed listener of the protocol the
// client speaks. The openai clients always connect with wss://, so a local
// TLS terminator (test/helpers/tls-terminator.ts) fronts the proxy's port and
// the client trusts its throwaway certificate through the `ws` option `ca`.
import t, { type Test } from 'tap';
import OpenAI, { AzureOpenAI } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { checkSecretKept, startHarness, type Harness } from '../helpers/harness';
import { startTlsTerminator } from '../helpers/tls-terminator';

/** The app's own OpenAI key: it must never reach the upstream, a log or a metric value. */
const CLIENT_KEY = 'sk-client-secret-do-not-forward-42';
const PLACEHOLDER = 'placeholder-not-a-key';
/** 24 kHz PCM16: 10 appends of 100 ms of a square wave (never silent). */
const CHUNK = Buffer.alloc(4800);
for (let i = 0; i < CHUNK.length; i += 2) CHUNK.writeInt16LE(((i >> 6) & 1) === 0 ? 6000 : -6000, i);
const APPENDS = 10;

interface Setup {
  h: Harness;
  origin: string;
  ca: Buffer;
}

async function setup(t: Test): Promise<Setup> {
  // Server-side clients send no Origin header.
  const h = await startHarness(t, {
    ALLOW_NO_ORIGIN: 'true',
    ALLOWED_MODELS: 'gpt-realtime,gpt-realtime-mini',
  });
  const tls = await startTlsTerminator(t, h.proxy.port);
  return { h, origin: tls.origin, ca: tls.ca };
}

/** The parts of the two client classes a turn uses (their event maps differ; the wire does not). */
interface RealtimeLike {
  socket: { readyState: number; once(e: 'open', fn: () => void): unknown; close(): void };
  send(event: Record<string, unknown>): void;
  on(event: string, fn: (e: any) => void): unknown;
}

interface Turn {
  updated: boolean;
  audioBytes: number;
  transcript: string;
  status: string;
}

/** One whole turn; `audio` and `transcript` are the typed event names of the client's protocol. */
async function turn(rt: RealtimeLike, names: { audio: string; transcript: string }, ga: boolean): Promise<Turn> {
  const out: Turn = { updated: false, audioBytes: 0, transcript: '', status: '' };
  const failed = new Promise<never>((_, reject) => rt.on('error', (e: Error) => reject(e)));
  if (rt.socket.readyState !== 1) await new Promise<void>((resolve) => rt.socket.once('open', resolve));
  const updated = new Promise<void>((resolve) =>
    rt.on('session.updated', () => {
      out.updated = true;
      resolve();
    }),
  );
  const done = new Promise<void>((resolve) =>
    rt.on('response.done', (e: { response: { status: string } }) => {
      out.status = e.response.status;
      resolve();
    }),
  );
  rt.on(names.audio, (e: { delta: string }) => {
    out.audioBytes += Buffer.from(e.delta, 'base64').length;
  });
  rt.on(names.transcript, (e: { transcript: string }) => {
    out.transcript = e.transcript;
  });
  rt.send({
    type: 'session.update',
    session: ga
      ? { type: 'realtime', instructions: 'Be brief.' }
      : { modalities: ['audio', 'text'], instructions: 'Be brief.' },
  });
  await Promise.race([updated, failed]);
  for (let i = 0; i < APPENDS; i++) rt.send({ type: 'input_audio_buffer.append', audio: CHUNK.toString('base64') });
  rt.send({ type: 'input_audio_buffer.commit' });
  await Promise.race([done, failed]);
  rt.socket.close();
  return out;
}

const GA = { audio: 'response.output_audio.delta', transcript: 'response.output_audio_transcript.done' };
const BETA = { audio: 'response.audio.delta', transcript: 'response.audio_transcript.done' };

function check(t: Test, r: Turn): void {
  t.equal(r.updated, true, 'session.updated');
  t.equal(r.audioBytes, APPENDS * CHUNK.length, 'the whole echo came back through the typed audio listener');
  t.match(r.transcript, /seconds long/);
  t.equal(r.status, 'completed');
}

t.test('OpenAI({ baseURL: <proxy>/v1 }): /v1/realtime, Bearer sk-... dropped, GA event names', async (t) => {
  const { h, origin, ca } = await setup(t);
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${origin}/v1` });
  const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime-mini', options: { ca } }, client);
  t.equal(rt.url.toString(), `wss://127.0.0.1:${new URL(origin).port}/v1/realtime?model=gpt-realtime-mini`);
  check(t, await turn(rt as unknown as RealtimeLike, GA, true));
  const up = h.sim.upgrades[0];
  t.same(
    [...new URLSearchParams(up.query).entries()],
    [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime-mini'],
    ],
  );
  checkSecretKept(t, h, CLIENT_KEY);
  t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 1, 'counted');
});

t.test('GA OpenAIRealtimeWS.azure(AzureOpenAI): /openai/v1/realtime with api-key, GA event names', async (t) => {
  const { h, origin, ca } = await setup(t);
  const azure = new AzureOpenAI({ endpoint: origin, apiKey: PLACEHOLDER, apiVersion: '2025-04-01-preview' });
  const rt = await OpenAIRealtimeWS.azure(azure, { deploymentName: 'gpt-realtime', options: { ca } });
  t.equal(new URL(rt.url.toString()).pathname, '/openai/v1/realtime');
  check(t, await turn(rt as unknown as RealtimeLike, GA, true));
  const up = h.sim.upgrades[0];
  t.same(
    [...new URLSearchParams(up.query).entries()],
    [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime'],
    ],
  );
  checkSecretKept(t, h, PLACEHOLDER);
  t.equal(h.proxy.metrics.clientCredentialsDroppedApiKey, 1, 'counted');
});

t.test('beta .azure(): /openai/realtime, deployment and 2025-04-01-preview, preview event names', async (t) => {
  const { h, origin, ca } = await setup(t);
  const azure = new AzureOpenAI({ endpoint: origin, apiKey: PLACEHOLDER, apiVersion: '2025-04-01-preview' });
  const rt = await BetaRealtimeWS.azure(azure, { deploymentName: 'gpt-realtime-mini', options: { ca } });
  const url = new URL(rt.url.toString());
  t.equal(url.pathname, '/openai/realtime');
  t.equal(url.searchParams.get('deployment'), 'gpt-realtime-mini');
  check(t, await turn(rt as unknown as RealtimeLike, BETA, false));
  const up = h.sim.upgrades[0];
  t.same(
    [...new URLSearchParams(up.query).entries()],
    [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime-mini'],
    ],
    'the Azure OpenAI api-version mapped to API_VERSION, deployment sent as model',
  );
  checkSecretKept(t, h, PLACEHOLDER);
});

t.test('beta .azure() with a deployment outside ALLOWED_MODELS: refused, the app sees error then 1008', async (t) => {
  const { h, origin, ca } = await setup(t);
  const azure = new AzureOpenAI({ endpoint: origin, apiKey: PLACEHOLDER, apiVersion: '2025-04-01-preview' });
  const rt = await BetaRealtimeWS.azure(azure, { deploymentName: 'gpt-4o-realtime-preview', options: { ca } });
  const error = new Promise<{ message: string; code: string }>((resolve) =>
    rt.on('error', (e) => resolve({ message: e.message, code: String(e.error?.code) })),
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    rt.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const e = await error;
  t.equal(e.code, 'model_not_allowed', 'the error event reaches the SDK error listener');
  t.match(e.message, /model_not_allowed/);
  t.same(await closed, { code: 1008, reason: 'Model not allowed' });
  t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
});

t.test('OpenAI({ baseURL }) with a model outside ALLOWED_MODELS: the same refusal', async (t) => {
  const { h, origin, ca } = await setup(t);
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${origin}/v1` });
  const rt = new OpenAIRealtimeWS({ model: 'gpt-4o-realtime-preview', options: { ca } }, client);
  const error = new Promise<string>((resolve) => rt.on('error', (e) => resolve(String(e.error?.code))));
  const closed = new Promise<number>((resolve) => rt.socket.on('close', (code) => resolve(code)));
  t.equal(await error, 'model_not_allowed');
  t.equal(await closed, 1008);
  t.equal(h.sim.upgrades.length, 0);
});

t.test("GA .azure() with azureADTokenProvider: the user's JWT is forwarded as Bearer", async (t) => {
  const { h, origin, ca } = await setup(t);
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVuYWktdXNlciJ9.c2lnbmF0dXJl';
  const azure = new AzureOpenAI({
    endpoint: origin,
    azureADTokenProvider: async () => jwt,
    apiVersion: '2025-04-01-preview',
  });
  const rt = await OpenAIRealtimeWS.azure(azure, { deploymentName: 'gpt-realtime', options: { ca } });
  check(t, await turn(rt as unknown as RealtimeLike, GA, true));
  const up = h.sim.upgrades[0];
  t.equal(up.headers.authorization, `Bearer ${jwt}`);
  t.equal(up.headers['api-key'], undefined);
  t.notMatch(h.logs.join('\n'), jwt);
});

t.test('beta .azure() with baseURL <proxy>/voice-live: the service path, deployment honoured', async (t) => {
  const { h, origin, ca } = await setup(t);
  const azure = new AzureOpenAI({
    baseURL: `${origin}/voice-live`,
    apiKey: PLACEHOLDER,
    apiVersion: '2025-04-01-preview',
  });
  const rt = await BetaRealtimeWS.azure(azure, { deploymentName: 'gpt-realtime-mini', options: { ca } });
  t.equal(new URL(rt.url.toString()).pathname, '/voice-live/realtime');
  check(t, await turn(rt as unknown as RealtimeLike, BETA, false));
  const up = h.sim.upgrades[0];
  t.equal(new URLSearchParams(up.query).get('model'), 'gpt-realtime-mini', 'never DEFAULT_MODEL');
  t.equal(new URLSearchParams(up.query).get('api-version'), '2026-07-15');
  checkSecretKept(t, h, PLACEHOLDER);
});

t.test('OpenAI({ baseURL: <proxy>/voice-live }): Bearer sk-... dropped; the dated protocol', async (t) => {
  const { h, origin, ca } = await setup(t);
  const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${origin}/voice-live` });
  const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca } }, client);
  // No api-version on the service's own path: API_VERSION, so the preview names arrive
  // (seen through the client's untyped listeners); `/v1` is the base URL for the GA names.
  check(t, await turn(rt as unknown as RealtimeLike, BETA, true));
  t.equal(new URLSearchParams(h.sim.upgrades[0].query).get('api-version'), '2026-07-15');
  checkSecretKept(t, h, CLIENT_KEY);
});
