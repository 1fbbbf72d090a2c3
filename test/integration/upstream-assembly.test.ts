// Upstream messages that span reads (message-assembly.ts), over real sockets:
// a raw upstream announces a large frame (or a message in fragments) and
// sends it slowly. The memory held for it grows with the bytes received, not
// with the announced length; it is charged to BUFFER_BUDGET_BYTES while held
// and given back when the message is delivered or the session ends, however
// it ends; a budget spent by unfinished messages sheds the session holding
// the most with 1013 (docs/contract.md §3).
import t from 'tap';
import type { Test } from 'tap';
import { startHarness, type Harness } from '../helpers/harness';
import { until } from '../helpers/wait';
import { startRawUpstream, serverFrame, type RawConn, type RawUpstream } from '../helpers/raw-upstream';
import type { TestClient } from '../helpers/client';
import type { Session } from '../../src/relay/session';
import { BLOCK_BYTES } from '../../src/upstream/assembly-pool';

const KIB = 1024;
const MIB = 1024 * KIB;
const PIECE = 64 * KIB;
/** Not charged: the frame one read cut (src/relay/accounting.ts ASSEMBLY_SLACK_BYTES). */
const SLACK = 64 * KIB;

/** Bytes that differ at every offset, so a block reused too early or out of order shows. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n, seed);
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32BE((i * 2654435761 + seed) >>> 0, i);
  return b;
}

/** A frame header with a 64-bit length, for a payload sent separately. */
function header(opcode: number, length: number, fin = true): Buffer {
  const h = Buffer.alloc(10);
  h[0] = (fin ? 0x80 : 0) | opcode;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

interface Leg {
  c: TestClient;
  u: RawConn;
  s: Session;
}

async function open(h: Harness, up: RawUpstream): Promise<Leg> {
  const before = new Set(h.proxy.relay.sessions);
  const c = h.client();
  await c.opened;
  const u = await up.nextConnection();
  await until(() => [...h.proxy.relay.sessions].some((s) => !before.has(s) && s.upstreamOpen), 'the upstream to open');
  const s = [...h.proxy.relay.sessions].find((x) => !before.has(x))!;
  return { c, u, s };
}

/** The proxy in front of a raw upstream this test writes frames with, both closed at teardown. */
async function behindRawUpstream(t: Test, env: Record<string, string> = {}): Promise<{ up: RawUpstream; h: Harness }> {
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  return { up, h: await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin, ...env }) };
}

/** The browser closes, both legs end, and the budget is back where it was before the session. */
async function endAndCheckIdle(t: Test, h: Harness, leg: Leg, idleKiB: number): Promise<void> {
  leg.c.ws.close();
  await leg.u.closed;
  leg.u.socket.end();
  await until(() => h.proxy.relay.sessions.size === 0, 'the session to end');
  t.equal(h.proxy.relay.budget.heldKiB, idleKiB, 'the budget is back at its idle value');
}

/**
 * Writes `payload` in PIECE-sized writes, waiting after each until the proxy
 * has read it, and returns the most the session held beyond what had arrived
 * of the message (`already`: its bytes sent before this payload).
 */
async function dribble(leg: Leg, payload: Buffer, already = 0, stop = () => false): Promise<number> {
  let worst = 0;
  for (let at = 0; at < payload.length && !stop(); at += PIECE) {
    const piece = payload.subarray(at, at + PIECE);
    await leg.u.write(piece);
    const received = already + at + piece.length;
    await until(() => stop() || leg.s.heldAssembly >= received, `${received} bytes to be read`);
    if (stop()) break;
    worst = Math.max(worst, leg.s.heldAssembly - received);
  }
  return worst;
}

t.test(
  'an 8 MiB frame sent 64 KiB at a time: held memory follows the bytes received, charged, then given back',
  async (t) => {
    const { up, h } = await behindRawUpstream(t);
    const budget = h.proxy.relay.budget;
    const idle = budget.heldKiB;
    const leg = await open(h, up);
    const size = 8 * MIB;
    const payload = pattern(size, 7);

    await leg.u.write(Buffer.concat([serverFrame(1, 'before'), header(2, size)]));
    t.equal((await leg.c.next()).data.toString(), 'before');
    t.equal(leg.s.heldAssembly, 0, 'an announced length alone holds nothing');
    let peakKiB = 0;
    const watch = setInterval(() => (peakKiB = Math.max(peakKiB, budget.heldKiB)), 1);
    t.teardown(() => clearInterval(watch));
    const worst = await dribble(leg, payload.subarray(0, size - PIECE));
    t.ok(worst <= BLOCK_BYTES, `held at most ${worst} bytes beyond what had arrived (one block)`);
    t.ok(
      budget.heldKiB - idle >= (size - PIECE - SLACK) / KIB,
      `the budget is charged for it beyond one read's worth: ${budget.heldKiB - idle} KiB while ${(size - PIECE) / KIB} KiB are held`,
    );
    t.equal(leg.s.heldKiB * KIB >= leg.s.heldAssembly - SLACK, true, "the session's charge covers it");

    await leg.u.write(Buffer.concat([payload.subarray(size - PIECE), serverFrame(1, 'after')]));
    const got = await leg.c.next();
    t.ok(got.isBinary && got.data.equals(payload), '8 MiB delivered intact');
    t.equal((await leg.c.next()).data.toString(), 'after', 'and in order');
    t.equal(leg.s.heldAssembly, 0, 'nothing held for it once delivered');
    clearInterval(watch);
    t.ok(peakKiB * KIB <= size + 2 * BLOCK_BYTES + 4 * MIB, `budget peak ${peakKiB} KiB`);

    await endAndCheckIdle(t, h, leg, idle);
  },
);

t.test('a message in fragments sent slowly: the same across fragments, with a ping between them', async (t) => {
  const { up, h } = await behindRawUpstream(t);
  const budget = h.proxy.relay.budget;
  const idle = budget.heldKiB;
  const leg = await open(h, up);
  const fragment = 512 * KIB + 3; // not a multiple of a block: fragments share blocks
  const parts = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pattern(fragment, i));
  let worst = 0;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    await leg.u.write(header(i === 0 ? 2 : 0, fragment, last));
    if (last) break;
    worst = Math.max(worst, await dribble(leg, parts[i], i * fragment));
    if (i === 3) await leg.u.write(serverFrame(9, 'still there'));
  }
  t.ok(worst <= BLOCK_BYTES, `held at most ${worst} bytes beyond what had arrived`);
  t.ok(budget.heldKiB - idle >= (7 * fragment - SLACK) / KIB, 'seven fragments charged to the budget');
  await leg.u.write(parts[7]);
  const got = await leg.c.next();
  t.equal(got.isBinary, true, 'a binary message (the first fragment says so)');
  t.ok(got.data.equals(Buffer.concat(parts)), `${parts.length} fragments delivered as one message, intact`);
  t.equal(leg.s.heldAssembly, 0, 'nothing held once delivered');
  while (leg.u.pongs.length === 0) await new Promise((r) => leg.u.socket.once('data', r));
  t.equal(leg.u.pongs[0].toString(), 'still there', 'the ping between fragments was answered');

  await endAndCheckIdle(t, h, leg, idle);
});

t.test('unfinished messages spend the budget: the session holding the most is shed with 1013, counted', async (t) => {
  const { up, h } = await behindRawUpstream(t, { BUFFER_BUDGET_BYTES: String(4 * MIB) });
  const budget = h.proxy.relay.budget;
  const small = await open(h, up);
  const big = await open(h, up);

  // The small session holds 1 MiB of a 2 MiB message...
  const smallPayload = pattern(2 * MIB, 1);
  await small.u.write(header(2, smallPayload.length));
  await dribble(small, smallPayload.subarray(0, MIB));
  // ...the big one announces 8 MiB and sends until the budget is spent.
  let shed = false;
  void big.c.closed.then(() => (shed = true));
  await big.u.write(header(2, 8 * MIB));
  await dribble(big, pattern(8 * MIB, 2), 0, () => shed);
  t.same(await big.c.closed, { code: 1013, reason: 'Server buffer budget exhausted' }, 'the big one is shed');
  t.equal((await big.u.closed).code, 1013, 'its upstream is told 1013 too');
  big.u.socket.end();
  t.equal(h.proxy.metrics.bufferBudgetSheds, 1, 'counted once');
  const line = await h.logLine('"error":"buffer_budget"');
  t.equal(line.clientCloseCode, 1013);
  await h.logLine('buffer budget spent');
  t.ok(budget.heldKiB <= budget.limitKiB, `back within the budget: ${budget.heldKiB} KiB held`);

  // The small session is untouched: the rest of its message arrives whole.
  await small.u.write(smallPayload.subarray(MIB));
  const got = await small.c.next();
  t.ok(got.data.equals(smallPayload), 'the other session gets its message intact');
  t.equal(small.s.error, null, 'and was not closed');
  small.c.ws.close();
  await small.u.closed;
  small.u.socket.end();
  await until(() => h.proxy.relay.sessions.size === 0, 'both sessions to end');
  t.equal(budget.heldKiB, 0, 'the budget is given back');
});

t.test('every way a session ends mid-message gives the budget back', async (t) => {
  const { up, h } = await behindRawUpstream(t, { SHUTDOWN_GRACE_MS: '0' });
  const budget = h.proxy.relay.budget;
  const idle = budget.heldKiB;

  /** A session holding 1 MiB of an unfinished 8 MiB message, charged. */
  async function holding(): Promise<Leg> {
    const leg = await open(h, up);
    await leg.u.write(header(2, 8 * MIB));
    await dribble(leg, pattern(MIB, 3));
    t.ok(budget.heldKiB - idle >= (MIB - SLACK) / KIB, 'charged while held');
    return leg;
  }
  async function given(what: string): Promise<void> {
    await until(() => budget.heldKiB === idle, `${what}: the budget back at idle`);
    t.pass(`${what}: the budget is back at its idle value`);
  }

  // The upstream connection drops.
  let leg = await holding();
  leg.u.socket.destroy();
  t.same(await leg.c.closed, { code: 1011, reason: 'Upstream connection lost' });
  await given('upstream lost');

  // A malformed frame after a fragment (a new text frame inside a fragmented message).
  leg = await open(h, up);
  await leg.u.write(header(2, MIB, false));
  await dribble(leg, pattern(MIB, 4));
  await leg.u.write(serverFrame(1, 'not allowed here'));
  t.equal((await leg.u.closed).code, 1002, 'malformed: 1002 upstream');
  leg.u.socket.end();
  t.same(await leg.c.closed, { code: 1011, reason: 'Upstream connection lost' });
  await given('malformed frame');

  // The browser leaves; what the upstream still sends of the message is not kept.
  leg = await holding();
  leg.c.ws.close(1000);
  await until(() => leg.s.client === null, 'the browser leg to close');
  t.equal(budget.heldKiB, idle, 'given back as soon as the browser is gone');
  t.equal((await leg.u.closed).code, 1000, 'the upstream is told');
  await leg.u.write(pattern(2 * MIB, 5));
  const tcp = leg.s.upstream!.tcp;
  await until(() => tcp.bytesRead >= leg.u.socket.bytesWritten, 'the proxy to read the rest');
  t.equal(leg.s.heldAssembly, 0, 'the rest of the message was read, not kept');
  t.equal(budget.heldKiB, idle, 'nor charged');
  leg.u.socket.end();
  await given('browser close');

  // A proxy decision (here the session limit, as for a shed or an idle timeout).
  leg = await holding();
  h.proxy.relay.fail(leg.s, (await import('../../src/errors')).Errors.SESSION_LIMIT);
  t.equal((await leg.c.closed).code, 1000);
  leg.u.socket.end();
  await given('session limit');

  // Shutdown.
  leg = await holding();
  await h.proxy.shutdown(0);
  t.equal((await leg.c.closed).code, 1001, 'shutdown closes the browser with 1001');
  leg.u.socket.end();
  await given('shutdown');
  await until(() => h.proxy.relay.sessions.size === 0, 'every session to end');
});
