// The relay over real sockets: browser-like client -> proxy -> simulator.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { startWsUpstream } from '../helpers/ws-upstream';

const RAW = JSON.stringify({ type: 'simulator.echo_raw' });

t.test('session.created is the first frame, and a full turn round-trips', async (t) => {
  const h = await startHarness(t);
  const c = h.client('model=gpt-realtime');
  const first = await c.nextJson();
  t.equal(first.type, 'session.created');
  c.send(JSON.stringify({ type: 'session.update', session: { voice: 'alloy' } }));
  t.equal((await c.waitFor('session.updated')).type, 'session.updated');
  await c.close(1000, 'done');
  const line = await h.logLine('session closed');
  t.equal(line.closedBy, 'client');
  t.equal(line.clientCloseCode, 1000);
  t.equal(line.framesIn, 1);
});

t.test('text (multi-byte UTF-8) and binary stay byte-exact and keep their type, both ways', async (t) => {
  const h = await startHarness(t);
  const c = h.client();
  await c.waitFor('session.created');
  c.send(RAW);
  const text = 'héllo wörld — 你好 🎙️ \u0000 end';
  const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x00, 0x7f]);
  c.send(text);
  c.send(binary, true);
  c.send(Buffer.from(text), true);
  const a = await c.next();
  const b = await c.next();
  const d = await c.next();
  t.equal(a.isBinary, false);
  t.equal(a.data.toString(), text);
  t.ok(a.data.equals(Buffer.from(text)));
  t.equal(b.isBinary, true);
  t.ok(b.data.equals(binary));
  t.equal(d.isBinary, true, 'binary that happens to be UTF-8 stays binary');
});

t.test('a 600 KB frame passes both ways intact', async (t) => {
  const h = await startHarness(t);
  const c = h.client();
  await c.waitFor('session.created');
  c.send(RAW);
  const big = Buffer.alloc(600 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  c.send(big, true);
  const bigText = JSON.stringify({ type: 'session.update', sdp: 'x'.repeat(600 * 1024) });
  c.send(bigText);
  const back = await c.next();
  t.ok(back.data.equals(big));
  const backText = await c.next();
  t.equal(backText.data.toString(), bigText);
});

t.test('frames sent before the upstream opens are queued and delivered in order', async (t) => {
  const h = await startHarness(t, {}, { handshakeDelayMs: 300 });
  const c = h.client();
  await c.opened;
  t.equal(h.sim.stats.sessions, 0, 'upstream not open yet');
  c.send(RAW);
  for (let i = 0; i < 50; i++) c.send(`frame-${i}`);
  c.send(Buffer.from([9, 9, 9]), true);
  const created = await c.nextJson();
  t.equal(created.type, 'session.created', 'session.created still comes first');
  for (let i = 0; i < 50; i++) t.equal((await c.next()).data.toString(), `frame-${i}`);
  const bin = await c.next();
  t.equal(bin.isBinary, true);
  t.same([...bin.data], [9, 9, 9]);
});

t.test('the pending queue is bounded: overflow closes 1009', async (t) => {
  const h = await startHarness(t, { PENDING_MAX_FRAMES: '5' }, { handshakeDelayMs: 2000 });
  const c = h.client();
  await c.opened;
  for (let i = 0; i < 6; i++) c.send(`f${i}`);
  const closed = await c.closed;
  t.equal(closed.code, 1009);
  t.equal(closed.reason, 'Too much data before upstream opened');
  t.equal(h.proxy.metrics.pendingOverflows, 1);
});

t.test('session.created reaches the client in 50 of 50 sessions', async (t) => {
  const h = await startHarness(t, { UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000', MAX_CONNECTIONS_PER_IP: '0' });
  const clients = Array.from({ length: 50 }, () => h.client());
  const firsts = await Promise.all(clients.map((c) => c.nextJson()));
  t.equal(firsts.filter((e) => e.type === 'session.created').length, 50);
  await Promise.all(clients.map((c) => c.close()));
});

t.test('close codes and reasons pass through both ways', async (t) => {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });

  const a = h.client();
  await a.opened;
  const ua = await up.nextConnection();
  a.close(4000, 'client says bye');
  t.same(await ua.closed, { code: 4000, reason: 'client says bye' }, 'client -> upstream');

  const b = h.client();
  await b.opened;
  const ub = await up.nextConnection();
  ub.ws.close(4321, 'upstream says bye');
  t.same(await b.closed, { code: 4321, reason: 'upstream says bye' }, 'upstream -> client');

  const c = h.client();
  await c.opened;
  const uc = await up.nextConnection();
  uc.ws.terminate();
  t.same(await c.closed, { code: 1011, reason: 'Upstream connection lost' }, 'abrupt upstream loss');

  const d = h.client();
  await d.opened;
  const ud = await up.nextConnection();
  d.ws.terminate();
  t.equal((await ud.closed).code, 1001, 'abrupt client loss reaches upstream as going away');

  const e = h.client();
  await e.opened;
  const ue = await up.nextConnection();
  ue.ws.close();
  t.equal((await e.closed).code, 1005, 'no status stays no status');
});

t.test('upstream refusals map to 4401, 4403 and 1011 with generic reasons', async (t) => {
  for (const [status, code, reason] of [
    [401, 4401, 'Upstream rejected credential'],
    [403, 4403, 'Upstream denied access'],
    [500, 1011, 'Upstream unavailable'],
  ] as const) {
    const h = await startHarness(t, {}, { rejectStatus: status });
    const c = h.client();
    const closed = await c.closed;
    t.equal(closed.code, code, `upstream ${status}`);
    t.equal(closed.reason, reason);
    t.notMatch(closed.reason, /127\.0\.0\.1|Error|at /);
    const m = h.proxy.metrics;
    t.equal(
      m.upstreamConnectsUnauthorized + m.upstreamConnectsForbidden + m.upstreamConnectsError,
      1,
      `upstream ${status} counted once`,
    );
  }
});

t.test('upstream handshake timeout closes 1011', async (t) => {
  const h = await startHarness(t, { UPSTREAM_CONNECT_TIMEOUT_MS: '150' }, { handshakeDelayMs: 3000 });
  const c = h.client();
  t.same(await c.closed, { code: 1011, reason: 'Upstream connect timeout' });
  t.equal(h.proxy.metrics.upstreamConnectsTimeout, 1);
});

t.test('a refused upstream connection closes 1011 without detail', async (t) => {
  // Port 9 (discard) is outside the kernel's ephemeral range, so no parallel
  // test can be listening there: a port freed here could be handed to another
  // test file's server, which would answer (or hang) instead of refusing.
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9' });
  const c = h.client();
  t.same(await c.closed, { code: 1011, reason: 'Upstream unavailable' });
});

t.test('a client leaving mid-connect aborts the upstream connect and leaks nothing', async (t) => {
  const h = await startHarness(t, {}, { handshakeDelayMs: 400 });
  const c = h.client();
  await c.opened;
  t.equal(h.proxy.relay.sessions.size, 1);
  c.ws.terminate();
  const line = await h.logLine('session closed');
  t.equal(line.closedBy, 'client');
  t.equal(h.proxy.relay.sessions.size, 0);
  t.equal(h.proxy.gate.counter.active, 0);
  t.equal(line.upstreamConnectMs, -1, 'upstream never opened');
});

t.test('keepalive: both legs are pinged, and a client that never answers is closed', async (t) => {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin, KEEPALIVE_INTERVAL_MS: '100' });
  const c = h.client();
  await c.opened;
  const u = await up.nextConnection();
  await new Promise<void>((resolve) =>
    c.ws.on('ping', () => {
      if (c.pings >= 3) resolve();
    }),
  );
  t.ok(c.pings >= 3, 'browser leg pinged');
  await new Promise<void>((resolve) =>
    u.ws.on('ping', () => {
      if (u.pings >= 2) resolve();
    }),
  );
  t.ok(u.pings >= 2, 'upstream leg pinged');

  const mute = h.client('', { autoPong: false });
  const closed = await mute.closed;
  t.same(closed, { code: 1001, reason: 'Keepalive timeout' });
  t.equal(c.ws.readyState, c.ws.OPEN, 'the answering client stays');
});

t.test('MAX_SESSION_MS and IDLE_TIMEOUT_MS close with 1000 and a reason', async (t) => {
  const h = await startHarness(t, { MAX_SESSION_MS: '200' });
  t.same(await h.client().closed, { code: 1000, reason: 'Session time limit reached' });
  const h2 = await startHarness(t, { IDLE_TIMEOUT_MS: '200' });
  const c = h2.client();
  await c.waitFor('session.created');
  t.same(await c.closed, { code: 1000, reason: 'Idle timeout' });
});

t.test('frames the upstream sends right before closing all arrive before the close', async (t) => {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  for (const ending of ['close', 'terminate'] as const) {
    const c = h.client();
    await c.opened;
    const u = await up.nextConnection();
    for (let i = 0; i < 200; i++) u.ws.send(`delta-${i}`);
    if (ending === 'close') u.ws.close(4321, 'done');
    else u.ws.terminate();
    const closed = await c.closed;
    const texts = c.frames.map((f) => f.data.toString());
    t.equal(texts.length, 200, `${ending}: all 200 frames delivered`);
    t.equal(texts[199], 'delta-199', `${ending}: in order`);
    t.equal(closed.code, ending === 'close' ? 4321 : 1011, `${ending}: then the close`);
  }
});
