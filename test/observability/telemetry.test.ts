import t from 'tap';
import {
  MAX_PROP_LENGTH,
  MIN_NODE_MAJOR,
  NOOP_TELEMETRY,
  safeProps,
  startTelemetry,
  type AppInsightsModule,
} from '../../src/observability/telemetry';

const CS = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x.invalid/';

function fakeLogger() {
  const warns: unknown[][] = [];
  const infos: unknown[][] = [];
  return {
    warns,
    infos,
    warn: (...a: unknown[]) => {
      warns.push(a);
    },
    info: (...a: unknown[]) => {
      infos.push(a);
    },
  };
}
type L = Parameters<typeof startTelemetry>[1];

function fakeSdk(opts: { legacy?: boolean; throwOnSetup?: boolean } = {}) {
  const calls: Array<[string, unknown]> = [];
  const setup: Record<string, unknown> = {
    start() {
      calls.push(['start', null]);
      return setup;
    },
  };
  if (!opts.legacy) {
    setup.setAutoCollectConsole = (a: boolean, b: boolean) => {
      calls.push(['console', [a, b]]);
      return setup;
    };
    setup.setSendLiveMetrics = (a: boolean) => {
      calls.push(['live', a]);
      return setup;
    };
  }
  const mod = {
    setup(cs: string) {
      if (opts.throwOnSetup) throw new Error(`bad ${cs}`);
      calls.push(['setup', cs]);
      return setup;
    },
    defaultClient: {
      trackEvent(e: unknown) {
        calls.push(['event', e]);
      },
      trackMetric(m: unknown) {
        calls.push(['metric', m]);
      },
      flush() {
        calls.push(['flush', null]);
        return opts.legacy ? undefined : Promise.resolve();
      },
    },
  };
  return { calls, mod: mod as unknown as AppInsightsModule };
}

t.test('empty connection string: no-op, nothing loaded, nothing logged', async (t) => {
  const log = fakeLogger();
  let loaded = false;
  const tel = await startTelemetry('', log as unknown as L, {
    load: () => {
      loaded = true;
      throw new Error('x');
    },
  });
  t.equal(tel, NOOP_TELEMETRY);
  t.equal(loaded, false);
  t.equal(log.warns.length + log.infos.length, 0);
  tel.trackEvent('e', { a: 1 });
  tel.trackMetric('m', 1);
  await tel.flush();
  t.ok(Object.isFrozen(NOOP_TELEMETRY));
});

t.test('module missing: one warn line, no-op (real require of the absent package)', async (t) => {
  const log = fakeLogger();
  const tel = await startTelemetry(CS, log as unknown as L, { nodeMajor: MIN_NODE_MAJOR });
  t.equal(tel, NOOP_TELEMETRY);
  t.equal(log.warns.length, 1, 'warned exactly once');
  t.match(String(log.warns[0][0]), /not installed/);
  t.notMatch(JSON.stringify(log.warns), /InstrumentationKey/, 'connection string never logged');
  tel.trackEvent('e', { a: 1 });
  t.equal(log.warns.length, 1, 'no warn per call');
});

t.test('node older than 22: one warn line, the SDK is not even loaded', async (t) => {
  const log = fakeLogger();
  let loaded = false;
  const tel = await startTelemetry(CS, log as unknown as L, {
    nodeMajor: 20,
    load: () => {
      loaded = true;
      return fakeSdk().mod;
    },
  });
  t.equal(tel, NOOP_TELEMETRY);
  t.equal(loaded, false);
  t.equal(log.warns.length, 1);
  t.match(String(log.warns[0][1]), /Node 22/);
  // Default: the running Node's own version decides.
  const log2 = fakeLogger();
  await startTelemetry(CS, log2 as unknown as L, {
    load: () => {
      throw new Error('absent');
    },
  });
  t.equal(log2.warns.length, 1);
});

t.test('SDK present: setup, start, filtered events, metrics, flush', async (t) => {
  const log = fakeLogger();
  const { calls, mod } = fakeSdk();
  const tel = await startTelemetry(CS, log as unknown as L, { nodeMajor: 22, load: () => mod });
  t.not(tel, NOOP_TELEMETRY);
  t.same(calls.slice(0, 4), [
    ['setup', CS],
    ['console', [false, false]],
    ['live', false],
    ['start', null],
  ]);
  t.equal(log.infos.length, 1);
  t.equal(log.warns.length, 0);
  calls.length = 0;
  tel.trackEvent('session.closed', { code: 1000, reason: 'normal', token: 'eyJhbGciOi.eyJzdWIi.sig', durationMs: 12 });
  tel.trackMetric('activeConnections', 3);
  tel.trackMetric('bad', NaN);
  await tel.flush();
  t.same(calls, [
    [
      'event',
      { name: 'session.closed', properties: { reason: 'normal' }, measurements: { code: 1000, durationMs: 12 } },
    ],
    ['metric', { name: 'activeConnections', value: 3 }],
    ['flush', null],
  ]);
});

t.test('SDK 2.x shape (no optional setters, flush returns nothing) works too', async (t) => {
  const { calls, mod } = fakeSdk({ legacy: true });
  const tel = await startTelemetry(CS, fakeLogger() as unknown as L, { nodeMajor: 24, load: () => mod });
  t.same(calls, [
    ['setup', CS],
    ['start', null],
  ]);
  await tel.flush();
  t.same(calls[2], ['flush', null]);
});

t.test('SDK setup throws: one warn without the error text, no-op', async (t) => {
  const log = fakeLogger();
  const { mod } = fakeSdk({ throwOnSetup: true });
  const tel = await startTelemetry(CS, log as unknown as L, { nodeMajor: 22, load: () => mod });
  t.equal(tel, NOOP_TELEMETRY);
  t.equal(log.warns.length, 1);
  t.notMatch(JSON.stringify(log.warns), /InstrumentationKey/);
});

t.test('safeProps drops anything that could be a credential', async (t) => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const opaque = 'abcdefghijklmnopqrst.abcdefghijklmnopqrst.abcdefghij';
  const out = safeProps({
    token: 'x',
    Key: 'x',
    authorization: 'x',
    'API-KEY': 'x',
    'agent-access-token': 'x',
    apiKey: 'x',
    access_token: 'x',
    password: 'x',
    connectionString: 'x',
    hidden: jwt,
    unsignedJwt: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
    opaque,
    long: 'a'.repeat(MAX_PROP_LENGTH + 1),
    nan: NaN,
    inf: Infinity,
    maxLen: 'b'.repeat(MAX_PROP_LENGTH),
    version: '1.0.0',
    host: 'myres.services.ai',
    code: 1011,
    mode: 'agent',
  });
  t.same(out, {
    maxLen: 'b'.repeat(MAX_PROP_LENGTH),
    version: '1.0.0',
    host: 'myres.services.ai',
    code: 1011,
    mode: 'agent',
  });
});
