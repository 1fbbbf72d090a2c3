// Usage over real sockets, browser -> proxy -> simulator: what the proxy
// counts equals what the browser sent and what the simulator sent back
// (audio in both directions, tokens, responses), in the `session closed`
// line, the /metrics totals and the session_closed telemetry event.
import t from 'tap';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import type { Telemetry, TelemetryProps } from '../../src/observability/telemetry';
import { startProxy } from '../../src/server';
import { makeTone } from '../../src/simulator/audio';
import { startSimulator } from '../../src/simulator/simulator';
import { startHarness, TEST_KEY } from '../helpers/harness';
import { TestClient } from '../helpers/client';

/** 1.5 s of a 300 Hz tone: loud enough that the simulator echoes it rather than answering with its own tone. */
const SPEECH = makeTone(300, 1.5, 0.3);
const CHUNK = 4800;

interface Heard {
  audioOutBytes: number;
  tokens: {
    input: number;
    output: number;
    inText: number;
    inAudio: number;
    cached: number;
    outText: number;
    outAudio: number;
  };
  responses: number;
}

/** Reads a client's frames up to `responses` response.done events, summing what the simulator sent. */
async function listen(c: TestClient, responses: number, heard: Heard): Promise<void> {
  let done = 0;
  while (done < responses) {
    const m = await c.nextJson();
    if (m.type === 'response.audio.delta') heard.audioOutBytes += Buffer.from(m.delta as string, 'base64').length;
    if (m.type === 'response.done') {
      done++;
      heard.responses++;
      const u = m.response.usage;
      heard.tokens.input += u.input_tokens;
      heard.tokens.output += u.output_tokens;
      heard.tokens.inText += u.input_token_details.text_tokens;
      heard.tokens.inAudio += u.input_token_details.audio_tokens;
      heard.tokens.cached += u.input_token_details.cached_tokens;
      heard.tokens.outText += u.output_token_details.text_tokens;
      heard.tokens.outAudio += u.output_token_details.audio_tokens;
    }
  }
}

function heard(): Heard {
  return {
    audioOutBytes: 0,
    tokens: { input: 0, output: 0, inText: 0, inAudio: 0, cached: 0, outText: 0, outAudio: 0 },
    responses: 0,
  };
}

function sendAudio(c: TestClient, pcm: Buffer): number {
  for (let i = 0; i < pcm.length; i += CHUNK)
    c.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + CHUNK).toString('base64') }));
  return pcm.length;
}

const usageFields = (h: Heard, audioInMs: number, audioOutMs: number): Record<string, number> => ({
  audioInMs,
  audioOutMs,
  inputTokens: h.tokens.input,
  outputTokens: h.tokens.output,
  inputTextTokens: h.tokens.inText,
  inputAudioTokens: h.tokens.inAudio,
  outputTextTokens: h.tokens.outText,
  outputAudioTokens: h.tokens.outAudio,
  cachedTokens: h.tokens.cached,
  responses: h.responses,
});

function pick(line: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, line[k]]));
}

t.test('PCM16 24 kHz: two turns, counted exactly in the log line and on /metrics', async (t) => {
  const h = await startHarness(t, { ALLOWED_MODELS: 'gpt-4o-realtime-preview', LOG_LEVEL: 'info' });
  const c = h.client('model=gpt-4o-realtime-preview');
  await c.waitFor('session.created');
  const got = heard();
  const sent = sendAudio(c, SPEECH);
  c.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
  // A response to no audio: the simulator answers with its own 1 s tone.
  c.send(JSON.stringify({ type: 'response.create' }));
  await listen(c, 2, got);
  t.ok(got.audioOutBytes > SPEECH.length, 'the echo and the tone came back');
  t.ok(got.tokens.input > 0 && got.tokens.outAudio > 0, 'the simulator reported usage');
  await c.close(1000, 'done');
  const line = await h.logLine('session closed');
  const expected = usageFields(
    got,
    Math.floor((sent * 1000) / 48_000),
    Math.floor((got.audioOutBytes * 1000) / 48_000),
  );
  t.same(pick(line, Object.keys(expected)), expected, 'the log line: what was sent, both ways');
  t.equal(line.audioInMs, 1500);
  t.notOk(JSON.stringify(line).includes(TEST_KEY), 'no key in the line');

  const metrics = await (await h.http('/metrics')).text();
  const series = (name: string, labels: string): number => {
    const m = new RegExp(`^voice_live_proxy_${name}\\{${labels.replace(/[{}]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(
      metrics,
    );
    return m === null ? NaN : Number(m[1]);
  };
  const model = 'mode="standard",model="gpt-4o-realtime-preview"';
  t.equal(series('usage_audio_seconds_total', `${model},direction="in"`), 1.5);
  t.equal(series('usage_audio_seconds_total', `${model},direction="out"`), (expected.audioOutMs as number) / 1000);
  t.equal(series('usage_tokens_total', `${model},direction="input"`), got.tokens.input);
  t.equal(series('usage_tokens_total', `${model},direction="output"`), got.tokens.output);
  t.equal(series('usage_token_details_total', `${model},kind="output_audio"`), got.tokens.outAudio);
  t.equal(series('usage_responses_total', model), 2);
  t.equal(series('usage_sessions_total', model), 1);
  t.ok(series('usage_session_seconds_total', model) > 0, 'wall time');
  t.equal(series('usage_responses_total', 'mode="agent",model="agent"'), 0, 'other rows are there, at zero');
  t.equal(series('usage_responses_total', 'mode="standard",model="other"'), 0);
  const usageLines = metrics.split('\n').filter((l) => l.startsWith('voice_live_proxy_usage_'));
  t.ok(usageLines.length > 0);
  for (const l of usageLines) {
    const labels = [...l.slice(l.indexOf('{') + 1, l.indexOf('}')).matchAll(/(\w+)="/g)].map((m) => m[1]);
    t.ok(
      labels.every((n) => ['mode', 'model', 'direction', 'kind'].includes(n)),
      `only mode, model and a direction or kind: ${l}`,
    );
  }
  t.notOk(metrics.includes('127.0.0.1'), 'no address on /metrics');
});

t.test('G.711 set by session.update: audio counts at 8000 bytes a second both ways', async (t) => {
  const h = await startHarness(t, { LOG_LEVEL: 'info' });
  const c = h.client();
  await c.waitFor('session.created');
  c.send(
    JSON.stringify({
      type: 'session.update',
      session: { input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' },
    }),
  );
  await c.waitFor('session.updated');
  const got = heard();
  // The simulator echoes bytes without looking at the format: 12000 "G.711" bytes are 1.5 s.
  const sent = sendAudio(c, SPEECH.subarray(0, 12_000));
  c.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
  await listen(c, 1, got);
  await c.close(1000, 'done');
  const line = await h.logLine('session closed');
  t.equal(line.audioInMs, (sent * 1000) / 8000);
  t.equal(line.audioInMs, 1500);
  t.equal(line.audioOutMs, Math.floor((got.audioOutBytes * 1000) / 8000));
  t.equal(line.responses, 1);
  t.equal(line.outputAudioTokens, got.tokens.outAudio);
});

t.test('frames queued while the upstream connects are counted when they are sent', async (t) => {
  const h = await startHarness(t, { LOG_LEVEL: 'info' }, { handshakeDelayMs: 300 });
  const c = h.client();
  await c.opened;
  const sent = sendAudio(c, SPEECH.subarray(0, 9600));
  await c.waitFor('session.created');
  await c.close(1000, 'done');
  const line = await h.logLine('session closed');
  t.equal(line.audioInMs, (sent * 1000) / 48_000);
  t.equal(line.audioInMs, 200);
  t.equal(line.responses, 0);
});

t.test('the session_closed telemetry event carries the usage, and nothing secret', async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const events: Array<[string, TelemetryProps]> = [];
  let onClosed: (props: TelemetryProps) => void = () => {};
  const closed = new Promise<TelemetryProps>((resolve) => (onClosed = resolve));
  // Application Insights is outside the process: this stands in for its client.
  const telemetry: Telemetry = {
    trackEvent(name, props) {
      events.push([name, props]);
      if (name === 'session_closed') onClosed(props);
    },
    trackMetric() {},
    flush: () => Promise.resolve(),
  };
  const cfg = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
    AZURE_SPEECH_KEY: TEST_KEY,
    ALLOWED_ORIGINS: 'http://localhost:3000',
  });
  const logger = createLogger({
    level: 'silent',
    pretty: false,
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const proxy = await startProxy(cfg, { logger, telemetry });
  t.teardown(() => proxy.shutdown(0));
  const c = new TestClient(`ws://127.0.0.1:${proxy.port}/ws`);
  t.teardown(() => c.ws.terminate());
  await c.waitFor('session.created');
  const got = heard();
  sendAudio(c, SPEECH);
  c.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
  await listen(c, 1, got);
  await c.close(1000, 'done');
  const props = await closed;
  t.match(props, {
    audioInMs: 1500,
    audioOutMs: Math.floor((got.audioOutBytes * 1000) / 48_000),
    inputTokens: got.tokens.input,
    outputTokens: got.tokens.output,
    responses: 1,
    mode: 'standard',
    model: cfg.defaultModel,
  });
  t.notOk(JSON.stringify(events).includes(TEST_KEY));
});
