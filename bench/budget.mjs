#!/usr/bin/env node
// BUFFER_BUDGET_BYTES at full scale: N stalled readers each asking
// for a burst they do not read, against one process-wide budget, while live
// sessions stream audio at real-time cadence beside them. Reports the proxy's
// peak RSS, what the budget saw, /health latency during the stall, the live
// sessions' round trips, and whether the readers that resume get everything,
// in order.
//
//   npm run build && node bench/budget.mjs --readers 1000 --burst-mb 4 --budget-mib 128
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { Histogram } from './lib/histogram.mjs';
import { ROOT, machine, rssKiB, sleep, startProxy, startSimulator, cpuMicros } from './lib/procs.mjs';
import { OP_BINARY, OP_TEXT, RawSocket, buildFrame } from './lib/raw-ws.mjs';
import { sourceIps } from './lib/stream-run.mjs';

const o = parseArgs(process.argv.slice(2), {
  readers: 1000,
  burstMb: 4,
  budgetMib: 128,
  live: 50,
  echoes: 16,
  hold: 20,
  workers: 2,
  maxInflight: 128,
  resumeTimeout: 180,
  json: '',
  help: false,
});
if (o.help) {
  console.log(
    'node bench/budget.mjs [--readers 1000] [--burst-mb 4] [--budget-mib 128] [--live 50] [--echoes 16] [--hold 20] [--workers 2] [--json FILE]',
  );
  process.exit(0);
}
const MIB = 1024 * 1024;
const BURST = Math.round(o.burstMb * 1e6);
const CREATED = Buffer.from('{"type":"session.created"');
const DONE = Buffer.from('simulator.burst.done');
const SEQ = Buffer.from('seq:');
const ECHO_ON = buildFrame(Buffer.from('{"type":"simulator.echo_raw"}')).frame;
const BURST_REQ = buildFrame(
  Buffer.from(JSON.stringify({ type: 'simulator.burst', bytes: BURST, frameBytes: 64 * 1024 })),
).frame;

function has(buf, start, end, needle) {
  return buf.subarray(start, end).includes(needle);
}

class Reader {
  constructor(i, url, headers, ips) {
    this.ready = false;
    this.burstBytes = 0;
    this.nextSeq = 0;
    this.disorder = 0;
    this.done = false;
    this.closeCode = 0;
    this.sock = new RawSocket(url, { headers, localAddress: ips ? ips[i % ips.length] : undefined }, this);
  }
  onOpen() {}
  onFrame(op, buf, start, end) {
    if (!this.ready) {
      if (op === OP_TEXT && has(buf, start, start + 40, CREATED)) {
        this.ready = true;
        this.sock.send(ECHO_ON);
      }
      return;
    }
    if (op === OP_BINARY) this.burstBytes += end - start;
    else if (op === OP_TEXT && end - start >= 4 && buf.compare(SEQ, 0, 4, start, start + 4) === 0) {
      if (Number(buf.toString('latin1', start + 4, end)) !== this.nextSeq) this.disorder++;
      this.nextSeq++;
    } else if (op === OP_TEXT && has(buf, start, end, DONE)) this.done = true;
  }
  onClose(code) {
    if (this.closeCode === 0) this.closeCode = code || 1006;
  }
  get complete() {
    return this.done && this.nextSeq === o.echoes;
  }
}

async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function healthMs(port) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  await res.arrayBuffer();
  return performance.now() - t0;
}

function once(child, ev, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`live generator: no ${ev}`)), timeoutMs);
    child.on('message', function on(msg) {
      if (msg.ev !== ev) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(msg);
    });
  });
}

async function main() {
  const sim = await startSimulator();
  const proxy = await startProxy(sim.origin, {
    env: {
      BUFFER_BUDGET_BYTES: String(o.budgetMib * MIB),
      WORKERS: String(o.workers),
      // A stalled reader cannot answer pings either: keep the keepalive and
      // slow-reader limits out of the way of what is measured here.
      MAX_CONNECTIONS_PER_IP: '0',
      SLOW_PEER_TIMEOUT_MS: '600000',
      KEEPALIVE_INTERVAL_MS: '200000',
    },
  });
  const url = `${proxy.origin}/ws?model=gpt-realtime`;
  const headers = { Origin: 'http://localhost:3000' };
  const ips = sourceIps('auto', url);
  console.error(`proxy pid ${proxy.pid} (WORKERS=${o.workers}, budget ${o.budgetMib} MiB), simulator pid ${sim.pid}`);
  const live = fork(join(ROOT, 'bench', 'lib', 'load-worker.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const rss0 = rssKiB(proxy.pid);
    // Live sessions: real-time audio, echo mode, in their own process.
    live.send({
      cmd: 'init',
      cfg: {
        url,
        headers,
        sourceIps: ips,
        insecure: false,
        mode: 'echo',
        chunkMs: 40,
        tickMs: 2,
        rampMs: 2000,
        commitEvery: 25,
        maxInflight: 64,
        first: 0,
        count: o.live,
      },
    });
    await once(live, 'init', 10000);
    await once(live, 'ramped', 60000);
    live.send({ cmd: 'send' });

    // Stalled readers: open in bounded waves, switch to raw echo, stop reading, ask for the burst.
    const readers = [];
    for (let i = 0; i < o.readers; i++) {
      while (readers.filter((r) => !r.ready && r.closeCode === 0).length >= o.maxInflight) await sleep(5);
      readers.push(new Reader(i, url, headers, ips));
    }
    while (readers.some((r) => !r.ready && r.closeCode === 0)) await sleep(20);
    const opened = readers.filter((r) => r.ready).length;
    await sleep(500);
    const rssOpen = rssKiB(proxy.pid);
    console.error(`${opened}/${o.readers} readers open; RSS ${(rssOpen / 1024).toFixed(0)} MiB; stalling them`);
    live.send({ cmd: 'mark' });
    await once(live, 'marked', 10000);
    const cpu0 = cpuMicros(proxy.pid);
    for (const r of readers) {
      if (!r.ready) continue;
      r.sock.sock.pause();
      r.sock.send(BURST_REQ);
      for (let s = 0; s < o.echoes; s++) r.sock.send(buildFrame(Buffer.from(`seq:${s}`)).frame);
    }
    const health = new Histogram();
    let peakRss = 0;
    let peakHeld = 0;
    const end = performance.now() + o.hold * 1000;
    let tick = 0;
    while (performance.now() < end) {
      health.record((await healthMs(proxy.port)) * 1000);
      peakRss = Math.max(peakRss, rssKiB(proxy.pid));
      if (tick++ % 3 === 0) peakHeld = Math.max(peakHeld, await metric(proxy.port, 'voice_live_proxy_buffered_bytes'));
      await sleep(100);
    }
    const sheds = await metric(proxy.port, 'voice_live_proxy_buffer_budget_sheds_total');
    const budgetPauses = await metric(proxy.port, 'voice_live_proxy_buffer_budget_pauses_total');
    const hwPauses = await metric(proxy.port, 'voice_live_proxy_backpressure_pauses_total');
    live.send({ cmd: 'window' });
    const win = await once(live, 'window', 10000);
    const liveRtt = new Histogram();
    liveRtt.add(win.rtt);

    // Resume: every reader still open must get its whole burst and its echoes, in order.
    console.error('resuming the readers');
    const t0 = performance.now();
    for (const r of readers) if (r.closeCode === 0) r.sock.sock.resume();
    const stallRss = peakRss;
    const stallHeld = peakHeld;
    const deadline = performance.now() + o.resumeTimeout * 1000;
    tick = 0;
    while (readers.some((r) => r.ready && r.closeCode === 0 && !r.complete) && performance.now() < deadline) {
      peakRss = Math.max(peakRss, rssKiB(proxy.pid));
      if (tick++ % 5 === 0) peakHeld = Math.max(peakHeld, await metric(proxy.port, 'voice_live_proxy_buffered_bytes'));
      await sleep(200);
    }
    const resumeS = (performance.now() - t0) / 1000;
    const cpuS = (cpuMicros(proxy.pid) - cpu0) / 1e6;
    live.send({ cmd: 'stop', drainMs: 1000 });
    const totals = await once(live, 'totals', 20000);
    const shedReaders = readers.filter((r) => r.closeCode === 1013).length;
    const complete = readers.filter((r) => r.complete && r.burstBytes === BURST).length;
    const disordered = readers.filter((r) => r.disorder > 0).length;
    const incomplete = readers.filter((r) => r.ready && r.closeCode === 0 && !r.complete).length;
    const hs = health.summary();
    const ls = liveRtt.summary();
    const result = {
      bench: 'budget',
      date: new Date().toISOString(),
      machine: machine(),
      options: o,
      readerCloseCodes: readers.reduce((m, r) => {
        if (r.closeCode !== 0) m[r.closeCode] = (m[r.closeCode] ?? 0) + 1;
        return m;
      }, {}),
      readers: {
        opened,
        complete,
        shed1013: shedReaders,
        otherCloses: readers.filter((r) => r.closeCode !== 0 && r.closeCode !== 1013).length,
        incomplete,
        disordered,
      },
      proxy: {
        rssIdleMiB: rss0 / 1024,
        rssOpenMiB: rssOpen / 1024,
        rssStallPeakMiB: stallRss / 1024,
        rssPeakMiB: peakRss / 1024,
        heldStallPeakMiB: stallHeld / MIB,
        heldPeakMiB: peakHeld / MIB,
        sheds,
        budgetPauses,
        highWaterPauses: hwPauses,
        cpuSeconds: cpuS,
        resumeSeconds: resumeS,
      },
      healthMs: { samples: hs.samples, p50: hs.p50 / 1000, p99: hs.p99 / 1000, max: hs.max / 1000 },
      live: {
        sessions: o.live,
        closedEarly: totals.counters.closedEarly,
        loss: totals.counters.sent - totals.counters.echoes,
        rttP50: ls.p50 / 1000,
        rttP99: ls.p99 / 1000,
        rttMax: ls.max / 1000,
      },
    };
    console.log(
      table(
        ['what', 'value'],
        [
          [
            'readers opened / complete in order / shed 1013 / other closes / incomplete',
            `${opened} / ${complete} / ${shedReaders} / ${result.readers.otherCloses} / ${incomplete}`,
          ],
          ['readers with frames out of order', disordered],
          [
            'proxy RSS idle / sessions open / peak while stalled / peak incl. resume (MiB)',
            `${fmt(rss0 / 1024, 0)} / ${fmt(rssOpen / 1024, 0)} / ${fmt(stallRss / 1024, 0)} / ${fmt(peakRss / 1024, 0)}`,
          ],
          [
            'budget: peak held MiB while stalled / incl. resume (budget) / budget pauses / high-water pauses / sheds',
            `${fmt(stallHeld / MIB, 1)} / ${fmt(peakHeld / MIB, 1)} (${o.budgetMib}) / ${budgetPauses} / ${hwPauses} / ${sheds}`,
          ],
          ['reader close codes', JSON.stringify(result.readerCloseCodes)],
          [
            '/health during the stall: p50 / p99 / max ms',
            `${fmt(hs.p50 / 1000, 1)} / ${fmt(hs.p99 / 1000, 1)} / ${fmt(hs.max / 1000, 1)} (${hs.samples} probes)`,
          ],
          [
            'live sessions: closed early / loss / RTT p50 / p99 / max ms',
            `${totals.counters.closedEarly} / ${result.live.loss} / ${fmt(ls.p50 / 1000, 2)} / ${fmt(ls.p99 / 1000, 2)} / ${fmt(ls.max / 1000, 1)}`,
          ],
          ['resume: all delivered in s / proxy CPU s (stall + resume)', `${fmt(resumeS, 1)} / ${fmt(cpuS, 1)}`],
        ],
      ),
    );
    if (o.json !== '') writeJson(o.json, result);
  } finally {
    live.kill('SIGKILL');
    await proxy.stop();
    await sim.stop();
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
