// BUFFER_BUDGET_BYTES (docs/contract.md §3): one budget for every byte held for slow peers,
// shown at test scale (the bench runs it at 1000 readers x 4 MB, docs/performance.md).
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';
import type { TestClient } from '../helpers/client';

const KIB = 1024;
const MIB = 1024 * KIB;
const FRAME = 64 * KIB;
const SMALL = 1000;

/** A small binary frame carrying its sequence number. */
function numbered(seq: number): Buffer {
  const b = Buffer.alloc(SMALL, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

async function echoOn(c: TestClient): Promise<void> {
  await c.waitFor('session.created');
  c.send(JSON.stringify({ type: 'simulator.echo_raw' }));
  // A round trip proves echo mode is on.
  c.send('ready');
  while ((await c.next()).data.toString() !== 'ready');
}

/** Checks what a resumed reader gets: the burst's bytes, and the numbered echoes in order. */
class Reader {
  burstBytes = 0;
  nextSeq = 0;
  disorder = 0;
  done = false;
  constructor(readonly c: TestClient) {
    c.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        if (data.includes('simulator.burst.done')) this.done = true;
      } else if (data.length === SMALL) {
        if (data.readUInt32BE(0) !== this.nextSeq || data[SMALL - 1] !== (this.nextSeq & 0xff)) this.disorder++;
        this.nextSeq++;
      } else {
        this.burstBytes += data.length;
      }
    });
  }
}

t.test(
  'stalled readers against a small budget: held bytes stay within it, resumed readers get everything in order, a live session is untouched',
  async (t) => {
    const readers = 8;
    const burst = 12 * MIB; // more than the loopback socket buffers absorb, so uWS must hold the rest
    const echoes = 32;
    const budget = 3 * MIB;
    const h = await startHarness(t, { BUFFER_BUDGET_BYTES: String(budget), SLOW_PEER_TIMEOUT_MS: '120000' });
    const live = h.client();
    await echoOn(live);

    const stalled: Reader[] = [];
    for (let i = 0; i < readers; i++) {
      const c = h.client('', { discard: true });
      await c.opened;
      await until(() => c.bytesReceived > 0, 'session.created');
      c.send(JSON.stringify({ type: 'simulator.echo_raw' }));
      c.ws.pause();
      stalled.push(new Reader(c));
    }
    for (const r of stalled) {
      r.c.send(JSON.stringify({ type: 'simulator.burst', bytes: burst, frameBytes: FRAME }));
      for (let seq = 0; seq < echoes; seq++) r.c.send(numbered(seq), true);
    }

    // Every reader's upstream ends up paused: by its own high-water mark or by the short budget.
    const sessions = () => [...h.proxy.relay.sessions];
    await until(() => sessions().filter((s) => s.paused).length === readers, 'every stalled session to pause', 30_000);
    let peakKiB = h.proxy.relay.budget.heldKiB;
    const rtts: number[] = [];
    for (let i = 0; i < 50; i++) {
      peakKiB = Math.max(peakKiB, h.proxy.relay.budget.heldKiB);
      const start = performance.now();
      live.send(`live-${i}`);
      t.equal((await live.next()).data.toString(), `live-${i}`);
      rtts.push(performance.now() - start);
    }
    const healthStart = performance.now();
    const health = await h.http('/health');
    const healthMs = performance.now() - healthStart;
    t.equal(health.status, 200);
    t.ok(healthMs < 1000, `/health answered in ${healthMs.toFixed(1)} ms while ${readers} readers were stalled`);
    rtts.sort((a, b) => a - b);
    t.comment(
      `live session round trip p50 ${rtts[25].toFixed(2)} ms, max ${rtts[49].toFixed(2)} ms; peak held ${peakKiB} KiB of ${budget / KIB}`,
    );
    t.ok(peakKiB * KIB <= budget, `held ${peakKiB} KiB, budget ${budget / KIB} KiB`);
    t.ok(h.proxy.metrics.bufferBudgetPauses > 0, 'the short budget paused sessions below their own high-water mark');
    t.equal(h.proxy.metrics.bufferBudgetSheds, 0, 'pausing was enough: nobody was shed');
    const metrics = await (await h.http('/metrics')).text();
    t.match(metrics, /voice_live_proxy_buffered_bytes \d+/);
    t.match(metrics, new RegExp(`voice_live_proxy_buffer_budget_bytes ${budget}\\b`));
    const liveSession = sessions()[0]; // opened first
    t.equal(liveSession.framesIn, 52, 'the first session is the live one');
    t.equal(liveSession.pausedAt, 0, 'the live session was never paused');

    // Resume: each reader gets the whole burst and its echoes, in order.
    for (const r of stalled) r.c.ws.resume();
    await until(() => stalled.every((r) => r.done && r.nextSeq === echoes), 'every reader to get everything', 60_000);
    t.same(
      stalled.map((r) => r.burstBytes),
      stalled.map(() => burst),
      'every byte of every burst arrived',
    );
    t.same(
      stalled.map((r) => r.disorder),
      stalled.map(() => 0),
      'the echoes arrived in order',
    );
    // uWS keeps a drained buffer's capacity, so the charge stays until the sockets close.
    t.ok(h.proxy.relay.budget.heldKiB > 0, 'drained readers are still charged for what uWS keeps');
    for (const r of stalled) r.c.ws.close();
    await until(() => h.proxy.relay.budget.heldKiB === 0, 'the budget to be given back', 10_000);
  },
);

t.test('a spent budget sheds the session holding the most with 1013, counted, and spares the others', async (t) => {
  // The pending queue counts: two sessions fill theirs while the upstream connects.
  const h = await startHarness(
    t,
    { BUFFER_BUDGET_BYTES: String(MIB), PENDING_MAX_BYTES: String(4 * MIB) },
    { handshakeDelayMs: 1500 },
  );
  const small = h.client();
  const big = h.client();
  await Promise.all([small.opened, big.opened]);
  small.send(Buffer.alloc(200 * KIB, 1), true);
  await until(() => h.proxy.relay.budget.heldKiB >= 200, 'the small queue to be charged');
  for (let i = 0; i < 20; i++) big.send(Buffer.alloc(FRAME, 2), true);
  const closed = await big.closed;
  t.same(closed, { code: 1013, reason: 'Server buffer budget exhausted' });
  t.equal(h.proxy.metrics.bufferBudgetSheds, 1);
  const line = await h.logLine('"error":"buffer_budget"');
  t.equal(line.clientCloseCode, 1013);
  await h.logLine('buffer budget spent');
  const created = await small.waitFor('session.created');
  t.equal(created.type, 'session.created', 'the smaller session lives on and reaches its upstream');
  await until(() => h.proxy.relay.budget.heldKiB === 0, 'the queue to be given back once the upstream opened');
});
