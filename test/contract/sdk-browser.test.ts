// The official SDK's browser build in headless Chromium, through the real
// proxy to the simulator. A browser WebSocket cannot carry headers, so this
// build puts the credential in the query (`api-key=` or
// `authorization=Bearer ...`) and the request id in `client-request-id=`:
// the path the Node build never exercises. The page and the bundled build
// come from test/helpers/chromium-page.ts.
/// <reference lib="dom" />
import t from 'tap';
import type { Page } from 'playwright-core';
import { bundleForBrowser, chromiumSkip, servePage } from '../helpers/chromium-page';
import { startHarness, TEST_KEY, type Harness } from '../helpers/harness';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJicm93c2VyIn0.YnJvd3Nlci1zaWc';
const PLACEHOLDER = 'browser-placeholder-key';

interface TurnResult {
  updated: boolean;
  audioBytes: number;
  sentBytes: number;
  transcript: string;
  status: string;
  inputAudioTokens: number;
}

/** Runs in the page: one whole turn with the SDK, as an app would write it. */
function runTurn(page: Page, endpoint: string, credential: 'key' | 'token', secret: string): Promise<TurnResult> {
  return page.evaluate(
    async ([endpoint, credential, secret]) => {
      const VL = (window as unknown as { VoiceLive: typeof import('@azure/ai-voicelive') }).VoiceLive;
      const cred =
        credential === 'key'
          ? { key: secret }
          : { getToken: async () => ({ token: secret, expiresOnTimestamp: Date.now() + 3_600_000 }) };
      const session = await new VL.VoiceLiveClient(endpoint, cred).startSession('gpt-realtime');
      const out = { updated: false, audioBytes: 0, sentBytes: 0, transcript: '', status: '', inputAudioTokens: 0 };
      let onDone!: () => void;
      let onUpdated!: () => void;
      const done = new Promise<void>((r) => {
        onDone = r;
      });
      const updated = new Promise<void>((r) => {
        onUpdated = r;
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
          out.inputAudioTokens = e.response.usage?.inputTokenDetails.audioTokens ?? -1;
          onDone();
        },
      });
      await session.updateSession({ modalities: ['audio', 'text'], instructions: 'Be brief.' });
      await updated;
      const chunk = new Uint8Array(4800);
      const view = new DataView(chunk.buffer);
      for (let i = 0; i < chunk.length; i += 2) view.setInt16(i, ((i >> 6) & 1) === 0 ? 6000 : -6000, true);
      for (let i = 0; i < 10; i++) {
        await session.sendAudio(chunk);
        out.sentBytes += chunk.length;
      }
      await session.sendEvent({ type: 'input_audio_buffer.commit' });
      await done;
      await session.dispose();
      return out;
    },
    [endpoint, credential, secret] as const,
  );
}

function lastUpgrade(h: Harness): { url: URL; headers: Record<string, string>; raw: string } {
  const up = h.sim.upgrades[h.sim.upgrades.length - 1];
  return { url: new URL(up.url, 'ws://x'), headers: up.headers, raw: JSON.stringify(up) };
}

t.test('SDK browser build in headless Chromium', { skip: chromiumSkip }, async (t) => {
  const served = await servePage(t, await bundleForBrowser("export * from '@azure/ai-voicelive';", 'VoiceLive'));
  const h = await startHarness(t, { ALLOWED_ORIGINS: served.origin });
  const page = await served.open();
  t.equal(
    await page.evaluate(() => typeof (window as unknown as { VoiceLive?: unknown }).VoiceLive),
    'object',
    'the SDK loaded',
  );
  const endpoint = `http://127.0.0.1:${h.proxy.port}`;

  t.test('key credential: api-key in the query is dropped; the server key goes upstream', async (t) => {
    const r = await runTurn(page, endpoint, 'key', PLACEHOLDER);
    t.equal(r.updated, true);
    t.equal(r.audioBytes, r.sentBytes, 'the whole echo came back');
    t.equal(r.status, 'completed');
    t.ok(r.inputAudioTokens > 0, 'usage details parsed');
    const up = lastUpgrade(h);
    t.equal(up.url.pathname, '/voice-live/realtime');
    t.same([...up.url.searchParams.keys()], ['api-version', 'model']);
    t.equal(up.headers['api-key'], TEST_KEY);
    t.match(up.headers['x-ms-client-request-id'], /^\d+-[a-z0-9]+$/, 'client-request-id became the header');
    t.notMatch(up.raw, PLACEHOLDER);
    t.notMatch(h.logs.join('\n'), PLACEHOLDER);
  });

  t.test('token credential: authorization=Bearer in the query becomes the upstream header', async (t) => {
    const r = await runTurn(page, endpoint, 'token', JWT);
    t.equal(r.audioBytes, r.sentBytes);
    t.match(r.transcript, /seconds long/);
    const up = lastUpgrade(h);
    t.equal(up.headers.authorization, `Bearer ${JWT}`);
    t.equal(up.headers['api-key'], undefined);
    t.same([...up.url.searchParams.keys()], ['api-version', 'model'], 'the token is not in the upstream URL');
    t.notMatch(h.logs.join('\n'), JWT);
    t.ok(h.proxy.metrics.unknownParameters === 0, 'the browser build sends nothing the proxy does not know');
  });
});
