// A session's life in the relay (src/relay/lifecycle.ts) over real sockets:
// the upstream leg's state moves one way, Connecting -> Open -> Closing ->
// Closed; who ended the session is set once; close codes cross both ways as
// close-codes.ts maps them; a connect that fails or times out closes the
// browser with the matching error; a session finishes exactly once.
import t from 'tap';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { UpstreamState } from '../../src/relay/session';
import { Errors } from '../../src/errors';
import { until } from '../helpers/wait';
import { startRelay } from '../helpers/relay-harness';

t.test('Connecting -> Open -> Closing -> Closed, finished once, closed by the client', async (t) => {
  const atClientClose: Array<{ state: UpstreamState; finished: boolean }> = [];
  const h = await startRelay(t, {
    onClientClosed: (s) => atClientClose.push({ state: s.upstreamState, finished: s.finished }),
  });
  const { browser, s } = await h.connect();
  const up = await h.upstream.nextConnection();
  t.not(s.upstream, null, 'the upstream leg was started at open');
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  t.ok(s.upstreamOpen, 'open, with its connect time');
  t.ok(s.upstreamConnectMs >= 0);
  t.equal(h.metrics.upstreamConnectsOk, 1);
  browser.ws.close(4000, 'see you');
  t.same(await up.closed, { code: 4000, reason: 'see you' }, "the browser's code and reason reach the upstream");
  await h.finishedOf(s);
  t.same(
    atClientClose,
    [{ state: UpstreamState.Closing, finished: false }],
    'at the browser close: the close frame went upstream, its answer awaited, the session not finished',
  );
  t.equal(s.upstreamState, UpstreamState.Closed);
  t.equal(s.closedBy, 'client');
  t.equal(s.clientCloseCode, 4000);
  t.same(h.finished, [s], 'finished once');
  t.equal(h.relay.sessions.size, 0);
  t.equal(h.metrics.closesClient, 1);
  t.equal(h.metrics.closesProxy + h.metrics.closesUpstream, 0);
});

t.test(
  'closed by the upstream: its code reaches the browser, and later causes do not rewrite who closed',
  async (t) => {
    const h = await startRelay(t);
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    up.ws.close(4001, 'session over');
    t.same(await browser.closed, { code: 4001, reason: 'session over' });
    await h.finishedOf(s);
    t.equal(s.closedBy, 'upstream');
    t.equal(s.upstreamCloseCode, 4001);
    // The proxy deciding something about a finished session changes nothing.
    h.relay.fail(s, Errors.IDLE_TIMEOUT);
    s.endedBy('client');
    t.equal(s.closedBy, 'upstream', 'set once');
    t.equal(h.metrics.closesUpstream, 1);
    t.same(h.finished, [s], 'still finished once');
  },
);

t.test('closed by the proxy: both legs get the error, the first cause stays', async (t) => {
  const h = await startRelay(t);
  const { browser, s } = await h.connect();
  const up = await h.upstream.nextConnection();
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  h.relay.fail(s, Errors.SESSION_LIMIT);
  t.equal(s.upstreamState, UpstreamState.Closing);
  // A second decision (the sweeper's, say) while the first is under way.
  h.relay.fail(s, Errors.IDLE_TIMEOUT);
  t.same(await browser.closed, { code: Errors.SESSION_LIMIT.closeCode, reason: Errors.SESSION_LIMIT.message });
  t.same(await up.closed, { code: Errors.SESSION_LIMIT.closeCode, reason: Errors.SESSION_LIMIT.message });
  await h.finishedOf(s);
  t.equal(s.closedBy, 'proxy');
  t.equal(s.error, Errors.SESSION_LIMIT, 'the first error is the one kept');
  t.equal(h.metrics.closesProxy, 1);
});

t.test('close codes that may not cross are mapped, both ways', async (t) => {
  const h = await startRelay(t);
  await t.test('a browser close without a status: the upstream gets none either (1005)', async (t) => {
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    browser.ws.close();
    t.same(await up.closed, { code: 1005, reason: '' });
  });
  await t.test('a browser that vanishes (1006): the upstream is told 1001', async (t) => {
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    browser.ws.terminate();
    t.equal((await up.closed).code, 1001);
    await h.finishedOf(s);
    t.equal(s.clientCloseCode, 1006);
  });
  await t.test('a browser leg uWS failed itself (invalid UTF-8): the upstream learns the real cause', async (t) => {
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    browser.ws.send(Buffer.from([0xff, 0xfe]), { binary: false });
    t.equal((await browser.closed).code, 1006, 'uWS sends no close frame');
    t.same(await up.closed, { code: Errors.INVALID_UTF8.closeCode, reason: Errors.INVALID_UTF8.message });
    await h.finishedOf(s);
    t.equal(s.error, Errors.INVALID_UTF8);
    t.equal(s.clientCloseCode, Errors.INVALID_UTF8.closeCode);
  });
  await t.test('an upstream close without a status: the browser gets none either (1005)', async (t) => {
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    up.ws.close();
    t.same(await browser.closed, { code: 1005, reason: '' });
  });
  await t.test('an upstream that vanishes (1006): the browser gets upstream_lost', async (t) => {
    const { browser, s } = await h.connect();
    const up = await h.upstream.nextConnection();
    await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
    up.ws.terminate();
    t.same(await browser.closed, { code: Errors.UPSTREAM_LOST.closeCode, reason: Errors.UPSTREAM_LOST.message });
    await h.finishedOf(s);
    t.equal(s.upstreamCloseCode, 1006);
    t.equal(s.error, Errors.UPSTREAM_LOST);
    t.equal(s.closedBy, 'upstream');
  });
});

t.test('a connect that is refused, or never answered, closes the browser with its error', async (t) => {
  // An upstream that accepts TCP and never answers the handshake, or answers 401.
  const sockets = new Set<Socket>();
  let answer = '';
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (answer !== '') socket.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((r) => server.close(r));
  });
  const h = await startRelay(t, { relay: { upstreamConnectTimeoutMs: 300 } });
  h.useTarget(h.target(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`));

  const silent = await h.connect();
  t.equal(silent.s.upstreamState, UpstreamState.Connecting);
  t.same(await silent.browser.closed, {
    code: Errors.UPSTREAM_TIMEOUT.closeCode,
    reason: Errors.UPSTREAM_TIMEOUT.message,
  });
  await h.finishedOf(silent.s);
  t.equal(silent.s.upstreamState, UpstreamState.Closed, 'from Connecting straight to Closed');
  t.notOk(silent.s.upstreamOpen, 'never opened');
  t.equal(silent.s.closedBy, 'proxy');
  t.equal(h.metrics.upstreamConnectsTimeout, 1);

  answer = 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
  const refused = await h.connect();
  t.same(await refused.browser.closed, {
    code: Errors.UPSTREAM_UNAUTHORIZED.closeCode,
    reason: Errors.UPSTREAM_UNAUTHORIZED.message,
  });
  await h.finishedOf(refused.s);
  t.equal(refused.s.error, Errors.UPSTREAM_UNAUTHORIZED);
  t.equal(h.metrics.upstreamConnectsUnauthorized, 1);
  t.equal(h.metrics.upstreamConnectsError, 0, 'a refusal is counted once, as itself');
});

t.test('a browser that leaves while the upstream connects aborts the connect', async (t) => {
  const server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Not awaited: the aborted connect may leave nothing for 'close' to wait on.
  t.teardown(() => void server.close());
  const h = await startRelay(t);
  h.useTarget(h.target(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`));
  const { browser, s } = await h.connect();
  browser.ws.close(1000);
  await h.finishedOf(s);
  t.equal(s.upstreamState, UpstreamState.Closed);
  t.equal(s.closedBy, 'client');
  t.equal(h.metrics.closesClient, 1);
});
