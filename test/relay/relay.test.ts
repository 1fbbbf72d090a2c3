// The relay's two hot paths over real sockets (src/relay/relay.ts): browser
// frames go upstream unchanged, and upstream frames reach the browser
// unchanged; frames sent while the upstream connects wait, in order, charged
// to the buffer budget, and a queue past its bound closes the session.
import t from 'tap';
import { Errors } from '../../src/errors';
import { UpstreamState } from '../../src/relay/session';
import { toKiB } from '../../src/relay/buffer-budget';
import { until } from '../helpers/wait';
import { startRelay } from '../helpers/relay-harness';

t.test('frames cross both ways unchanged, text and binary, and are counted', async (t) => {
  const h = await startRelay(t);
  const { browser, s } = await h.connect();
  const up = await h.upstream.nextConnection();
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  browser.ws.send('{"type":"session.update"}');
  browser.ws.send(Buffer.from([0, 1, 2, 250]));
  await until(() => up.messages.length === 2, 'two frames upstream');
  t.same(
    up.messages.map((m) => [m.data.toString('hex'), m.isBinary]),
    [
      [Buffer.from('{"type":"session.update"}').toString('hex'), false],
      ['000102fa', true],
    ],
  );
  up.ws.send('{"type":"session.created"}');
  up.ws.send(Buffer.alloc(70_000, 7));
  await until(() => browser.messages.length === 2, 'two frames to the browser');
  t.equal(browser.messages[0].data.toString(), '{"type":"session.created"}');
  t.equal(browser.messages[0].isBinary, false);
  t.ok(browser.messages[1].data.equals(Buffer.alloc(70_000, 7)), 'a frame larger than one read arrives whole');
  t.equal(browser.messages[1].isBinary, true);
  t.equal(s.framesIn, 2);
  t.equal(s.bytesIn, 25 + 4);
  t.equal(s.framesOut, 2);
  t.equal(s.bytesOut, 26 + 70_000);
  t.equal(h.metrics.framesClientToUpstream, 2);
  t.equal(h.metrics.framesUpstreamToClient, 2);
});

t.test('frames sent while the upstream connects wait, charged, and go first in order', async (t) => {
  const h = await startRelay(t);
  // As for a keyless session: the upstream connect starts later.
  const { browser, s } = await h.connect(false);
  t.equal(s.upstream, null);
  t.equal(s.upstreamState, UpstreamState.Connecting);
  for (let i = 0; i < 3; i++) browser.ws.send(Buffer.alloc(1500, i));
  await until(() => s.pending.length === 3, 'three frames queued');
  t.equal(s.pendingBytes, 4500);
  t.equal(h.budget.heldKiB, toKiB(4500), 'the queue is charged to the budget');
  h.relay.connect(s);
  const up = await h.upstream.nextConnection();
  await until(() => up.messages.length === 3, 'the queued frames upstream');
  t.same(
    up.messages.map((m) => m.data[0]),
    [0, 1, 2],
    'in the order sent',
  );
  t.equal(s.pending.length, 0);
  t.equal(h.budget.heldKiB, 0, 'and released once sent');
  browser.ws.send('after');
  await until(() => up.messages.length === 4, 'a frame after the open');
  t.equal(up.messages[3].data.toString(), 'after');
});

t.test('a queue past its bound in frames closes the session (pending_overflow)', async (t) => {
  const h = await startRelay(t, { relay: { pendingMaxFrames: 2 } });
  const { browser, s } = await h.connect(false);
  for (let i = 0; i < 3; i++) browser.ws.send(`frame ${i}`);
  t.same(await browser.closed, {
    code: Errors.PENDING_OVERFLOW.closeCode,
    reason: Errors.PENDING_OVERFLOW.message,
  });
  await h.finishedOf(s);
  t.equal(h.metrics.pendingOverflows, 1);
  t.equal(s.error, Errors.PENDING_OVERFLOW);
  t.equal(s.closedBy, 'proxy');
  t.equal(s.framesIn, 2, 'the frame past the bound is not counted in');
  t.equal(h.budget.heldKiB, 0, 'nothing stays charged');
});

t.test('a queue past its bound in bytes closes the session (pending_overflow)', async (t) => {
  const h = await startRelay(t, { relay: { pendingMaxBytes: 1000 } });
  const { browser, s } = await h.connect(false);
  browser.ws.send(Buffer.alloc(600));
  browser.ws.send(Buffer.alloc(600));
  t.equal((await browser.closed).code, Errors.PENDING_OVERFLOW.closeCode);
  await h.finishedOf(s);
  t.equal(h.metrics.pendingOverflows, 1);
  t.equal(s.bytesIn, 600);
});

t.test("the upstream's pong reaches the session through the upstream leg's events", async (t) => {
  const h = await startRelay(t);
  const { s } = await h.connect();
  const up = await h.upstream.nextConnection();
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  // What the sweeper does each keepalive round.
  s.upstreamAlive = false;
  s.upstream!.ping();
  await until(() => s.upstreamAlive, 'the pong');
  t.equal(up.pings, 1, 'the upstream got the ping');
});
