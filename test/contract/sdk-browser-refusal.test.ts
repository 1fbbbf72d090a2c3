// What an app on @azure/ai-voicelive 1.1.0's browser build (headless
// Chromium) sees of a refusal when it subscribes before connect():
// createSession(), subscribe(), connect(). After the upgrade the close frame's
// code and reason reach onError; before it the browser hides the HTTP status,
// so the app has "WebSocket connection failed" and a 1006.
/// <reference lib="dom" />
import t from 'tap';
import type { Page } from 'playwright-core';
import { startHarness } from '../helpers/harness';
import { bundleForBrowser, chromiumSkip, servePage } from '../helpers/chromium-page';

interface Seen {
  connect: string;
  connected: number;
  disconnected: Array<{ code: number; reason: string }>;
  errors: Array<{ message: string; code: string }>;
  serverErrors: number;
}

/**
 * Runs in the page: handlers first, then connect(); resolves once the handlers
 * have seen `errors` onError and `disconnects` onDisconnected calls (they run
 * fire-and-forget, in no fixed order between the two).
 */
function subscribedFirst(
  page: Page,
  endpoint: string,
  model: string,
  errors: number,
  disconnects: number,
): Promise<Seen> {
  return page.evaluate(
    async ([endpoint, model, errors, disconnects]) => {
      const VL = (window as unknown as { VoiceLive: typeof import('@azure/ai-voicelive') }).VoiceLive;
      const session = new VL.VoiceLiveClient(endpoint, { key: 'browser-placeholder' }).createSession(model);
      const seen: Seen = { connect: '', connected: 0, disconnected: [], errors: [], serverErrors: 0 };
      let check!: () => void;
      const settled = new Promise<void>((resolve) => {
        check = () => {
          if (seen.errors.length >= errors && seen.disconnected.length >= disconnects) resolve();
        };
      });
      session.subscribe({
        onConnected: async () => {
          seen.connected++;
        },
        onDisconnected: async (a) => {
          seen.disconnected.push({ code: a.code, reason: a.reason });
          check();
        },
        onError: async (a) => {
          seen.errors.push({ message: a.error.message, code: (a.error as { code?: string }).code ?? '' });
          check();
        },
        onServerError: async () => {
          seen.serverErrors++;
        },
      });
      try {
        await session.connect();
        seen.connect = 'resolved';
      } catch (e) {
        seen.connect = (e as Error).message;
      }
      await settled;
      return seen;
    },
    [endpoint, model, errors, disconnects] as const,
  );
}

t.test(
  'SDK browser build: refusals seen by handlers subscribed before connect()',
  { skip: chromiumSkip },
  async (t) => {
    const served = await servePage(t, await bundleForBrowser("export * from '@azure/ai-voicelive';", 'VoiceLive'));
    const h = await startHarness(t, { ALLOWED_ORIGINS: served.origin, ALLOWED_MODELS: 'gpt-realtime' });
    const other = await startHarness(t, { ALLOWED_ORIGINS: 'https://app.example.com' });
    const upstreamRefuses = await startHarness(t, { ALLOWED_ORIGINS: served.origin }, { rejectStatus: 403 });
    const page = await served.open();

    t.test('1008 after the upgrade: the close reason reaches onError', async (t) => {
      const seen = await subscribedFirst(page, `http://127.0.0.1:${h.proxy.port}`, 'gpt-4o-realtime-preview', 1, 1);
      t.equal(seen.connect, 'resolved', 'connect() resolves on the 101');
      t.equal(seen.connected, 1);
      t.same(seen.errors, [{ message: 'WebSocket policy violation: Model not allowed', code: 'WEBSOCKET_ERROR' }]);
      t.same(seen.disconnected, [{ code: 1006, reason: 'Connection lost during session' }], 'the SDK-made 1006');
      t.equal(seen.serverErrors, 0, 'the error event before session.created is dropped by the SDK');
      t.equal((await h.logLine('request refused after upgrade')).error, 'model_not_allowed');
    });

    t.test('the upstream refuses: 4403 and its reason reach onError', async (t) => {
      const seen = await subscribedFirst(page, `http://127.0.0.1:${upstreamRefuses.proxy.port}`, 'gpt-realtime', 1, 1);
      t.equal(seen.connect, 'resolved');
      t.same(seen.errors, [
        { message: 'WebSocket closed with code 4403: Upstream denied access', code: 'CONNECTION_LOST' },
      ]);
      t.same(seen.disconnected, [{ code: 1006, reason: 'Connection lost during session' }]);
      t.equal(upstreamRefuses.sim.upgrades.length, 1);
    });

    t.test('refused before the upgrade (origin): a failed connection, no status', async (t) => {
      const seen = await subscribedFirst(page, `http://127.0.0.1:${other.proxy.port}`, 'gpt-realtime', 2, 0);
      t.equal(seen.connect, 'WebSocket connection failed', 'connect() rejects');
      t.equal(seen.connected, 0);
      t.same(seen.errors, [
        { message: 'WebSocket error: WebSocket connection failed', code: 'WEBSOCKET_ERROR' },
        { message: 'WebSocket connection lost: Abnormal closure', code: 'CONNECTION_LOST' },
      ]);
      t.same(seen.disconnected, [], 'never connected, so no onDisconnected');
      t.equal(other.proxy.metrics.upgradesOrigin, 1, 'the proxy counted an origin refusal');
      t.equal(other.sim.upgrades.length, 0);
    });
  },
);
