// What an app written with @azure/ai-voicelive 1.1.0 (its Node build) sees of
// a refusal, through the real proxy. The app here does what the SDK allows:
// createSession(), subscribe(), then connect(), so its handlers are in place
// before the socket opens. Then the app that subscribes after startSession():
// what it misses.
import t, { type Test } from 'tap';
import { VoiceLiveClient } from '@azure/ai-voicelive';
import { startHarness, type Harness } from '../helpers/harness';
import { until } from '../helpers/wait';

const PLACEHOLDER = 'placeholder-not-a-key';

interface Seen {
  connected: number;
  disconnected: Array<{ code: number; reason: string }>;
  errors: Array<{ message: string; code: string }>;
  serverErrors: number;
  connect: 'resolved' | string;
}

/**
 * createSession, subscribe every connection handler, then connect(); resolves
 * once the handlers have seen `errors` onError and `disconnects` onDisconnected
 * calls (the SDK runs them fire-and-forget, in no fixed order between the two).
 */
async function subscribedFirst(endpoint: string, model: string, errors: number, disconnects: number): Promise<Seen> {
  const session = new VoiceLiveClient(endpoint, { key: PLACEHOLDER }).createSession(model);
  const seen: Seen = { connected: 0, disconnected: [], errors: [], serverErrors: 0, connect: '' };
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
}

async function harness(t: Test, env: Record<string, string>, rejectStatus?: number): Promise<Harness> {
  return startHarness(t, { ALLOWED_MODELS: 'gpt-realtime', ...env }, rejectStatus ? { rejectStatus } : {});
}

t.test('1008 after the upgrade (model outside ALLOWED_MODELS): the close reason reaches onError', async (t) => {
  const h = await harness(t, { ALLOW_NO_ORIGIN: 'true' });
  const seen = await subscribedFirst(`http://127.0.0.1:${h.proxy.port}`, 'gpt-4o-realtime-preview', 1, 1);
  t.equal(seen.connect, 'resolved', 'connect() resolves: the socket was upgraded');
  t.equal(seen.connected, 1);
  t.same(seen.errors, [{ message: 'WebSocket policy violation: Model not allowed', code: 'WEBSOCKET_ERROR' }]);
  t.same(
    seen.disconnected,
    [{ code: 1006, reason: 'Connection lost during session' }],
    'onDisconnected carries the SDK-made 1006, not the close frame',
  );
  t.equal(seen.serverErrors, 0, 'the error event came before session.created: the SDK drops it');
  t.equal((await h.logLine('request refused after upgrade')).error, 'model_not_allowed');
  t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
});

t.test('refused before the upgrade (origin): connect() rejects and onError has the HTTP status', async (t) => {
  // The Node build sends no Origin header: without ALLOW_NO_ORIGIN that is a 403.
  const h = await harness(t, {});
  const seen = await subscribedFirst(`http://127.0.0.1:${h.proxy.port}`, 'gpt-realtime', 2, 0);
  t.equal(seen.connect, 'WebSocket error: Unexpected server response: 403');
  t.equal(seen.connected, 0);
  t.same(seen.errors, [
    { message: 'WebSocket error: Unexpected server response: 403', code: 'WEBSOCKET_ERROR' },
    { message: 'WebSocket connection lost: Abnormal closure', code: 'CONNECTION_LOST' },
  ]);
  t.same(seen.disconnected, [], 'never connected, so no onDisconnected');
  t.equal(h.proxy.metrics.upgradesOrigin, 1, 'counted as an origin refusal');
  t.equal(h.sim.upgrades.length, 0);
});

t.test('the upstream refuses the credential: onError has 4401 and its reason', async (t) => {
  const h = await harness(t, { ALLOW_NO_ORIGIN: 'true' }, 401);
  const seen = await subscribedFirst(`http://127.0.0.1:${h.proxy.port}`, 'gpt-realtime', 1, 1);
  t.equal(seen.connect, 'resolved');
  t.same(seen.errors, [
    { message: 'WebSocket closed with code 4401: Upstream rejected credential', code: 'CONNECTION_LOST' },
  ]);
  t.same(seen.disconnected, [{ code: 1006, reason: 'Connection lost during session' }]);
  t.equal(h.sim.upgrades.length, 1);
  t.notMatch(JSON.stringify(h.sim.upgrades[0]), PLACEHOLDER, 'the placeholder key was not forwarded');
});

t.test('an app that subscribes after startSession() and the close: nothing, and subscribe() throws', async (t) => {
  const h = await harness(t, { ALLOW_NO_ORIGIN: 'true' });
  const session = await new VoiceLiveClient(`http://127.0.0.1:${h.proxy.port}`, { key: PLACEHOLDER }).startSession(
    'gpt-4o-realtime-preview',
  );
  // startSession() resolved on the 101; the 1008 follows at once. Once the SDK
  // has seen the close, the session is dead: no event is replayed.
  await until(() => session.connectionState === 'disconnected', 'the SDK to see the close');
  t.equal(session.isConnected, false);
  t.throws(() => session.subscribe({ onError: async () => undefined }), {
    message: 'Session is permanently dead and cannot be used. Create a new session to continue.',
  });
  await t.rejects(session.updateSession({ instructions: 'x' }), {
    code: 'SESSION_DEAD',
    message: 'Session is permanently dead and cannot be used. Create a new session to continue.',
  });
  t.equal((await h.logLine('request refused after upgrade')).error, 'model_not_allowed');
});
