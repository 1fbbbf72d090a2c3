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
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
  proxyArgs: '',
  timeline: '',
  json: '',
  help: false,
});
if (o.help) {
  console.log(
    'node bench/budget.mjs [--readers 1000] [--burst-mb 4] [--budget-mib 128] [--live 50] [--echoes 16] [--hold 20] [--workers 2] [--json FILE]\n' +
      '  [--proxy-args "--trace-gc"] (node flags for the proxy) [--timeline FILE] (per-100 ms CPU of every process and thread, /health probes, live RTT, bench loop delay, proxy stdout lines, all on one clock)',
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
// What each reader sends to start its stall, in one write: the burst request, then its numbered echoes.
const STALL_WRITE = Buffer.concat([
  BURST_REQ,
  ...Array.from({ length: o.echoes }, (_, s) => buildFrame(Buffer.from(`seq:${s}`)).frame),
]);

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
    /** performance.now() when the close reached this reader (a stalled reader sees it only once it reads again). */
    this.closedAt = 0;
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
    if (this.closeCode !== 0) return;
    this.closeCode = code || 1006;
    this.closedAt = performance.now();
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

/** utime + stime ticks of each thread of `pid`: [[tid, comm, ticks], ...]. */
function threadTicks(pid) {
  const out = [];
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push([Number(tid), comm, Number(f[11]) + Number(f[12])]);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Pages the kernel's TCP stack holds (all sockets): loopback data not yet read sits here, not in any RSS. */
function tcpMemPages() {
  const m = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** The kernel's TCP memory-pressure counters (TcpExt), to diff between phases. */
const TCP_EXT = [
  'TCPMemoryPressures',
  'TCPMemoryPressuresChrono',
  'PruneCalled',
  'RcvPruned',
  'TCPRcvCollapsed',
  'TCPRcvQDrop',
];
function tcpExt() {
  const rows = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  if (rows.length < 2) return {};
  const names = rows[0].split(' ');
  const values = rows[1].split(' ');
  const out = {};
  for (const k of TCP_EXT) out[k] = Number(values[names.indexOf(k)]);
  return out;
}
/** The TCP settings of this network namespace (tcp_mem is the host's): what the kernel may hold per socket. */
function kernelSettings() {
  const out = {};
  for (const k of ['tcp_mem', 'tcp_wmem', 'tcp_rmem', 'tcp_notsent_lowat']) {
    try {
      out[k] = readFileSync(`/proc/sys/net/ipv4/${k}`, 'utf8').trim().split(/\s+/).map(Number);
    } catch {
      out[k] = null;
    }
  }
  return out;
}
function diff(a, b) {
  const out = {};
  for (const k of Object.keys(b)) out[k] = b[k] - a[k];
  return out;
}

/**
 * --timeline: what every process did, on one clock (ms since the stall
 * began), so a slow /health probe or live echo can be laid beside the
 * proxy thread that was busy, a GC line, or a late bench loop: CPU ticks per
 * SAMPLE_MS of each proxy thread and of the simulator, the live generator and
 * this process; this process's own event-loop lag (a late bench would show up
 * as slow probes it did not suffer).
 */
const SAMPLE_MS = 100;
class Timeline {
  constructor(pids) {
    this.pids = pids;
    this.t0 = performance.now();
    this.samples = [];
    this.lastSampleAt = 0;
    this.lines = [];
    this.last = new Map();
    this.lagMax = 0;
    this.expected = this.t0 + 10;
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** ms since the stall began (negative before it). */
  at(now = performance.now()) {
    return Math.round((now - this.t0) * 10) / 10;
  }

  tick() {
    const now = performance.now();
    this.lagMax = Math.max(this.lagMax, now - this.expected);
    this.expected = now + 10;
    if (now - this.lastSampleAt < SAMPLE_MS) return;
    this.lastSampleAt = now;
    const sample = { at: now, benchLagMs: Math.round(this.lagMax), tcpMemPages: tcpMemPages(), ticks: {} };
    this.lagMax = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      for (const [tid, comm, ticks] of threadTicks(pid)) {
        const key = `${name}:${tid}:${comm}`;
        const prev = this.last.get(key);
        this.last.set(key, ticks);
        if (prev !== undefined && ticks > prev) sample.ticks[key] = ticks - prev;
      }
    }
    this.samples.push(sample);
  }

  line(text) {
    this.lines.push([performance.now(), text]);
  }

  stop() {
    clearInterval(this.timer);
    for (const s of this.samples) s.t = this.at(s.at);
    for (const l of this.lines) l[0] = this.at(l[0]);
  }
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
  const timed = o.timeline !== '';
  const proxy = await startProxy(sim.origin, {
    nodeArgs: o.proxyArgs === '' ? [] : o.proxyArgs.split(' '),
    // Line-buffered, so that each GC line (V8 prints through stdio) is stamped when it happens.
    wrapper: timed ? ['stdbuf', '-oL'] : [],
    stdout: timed ? 'pipe' : 'ignore',
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
  const tl = timed ? new Timeline({ proxy: proxy.pid, sim: sim.pid, live: live.pid, bench: process.pid }) : null;
  if (tl !== null) {
    let rest = '';
    proxy.proc.stdout.on('data', (d) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop();
      for (const l of parts) tl.line(l);
    });
  }
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const prober = fork(join(ROOT, 'bench', 'lib', 'health-prober.mjs'), [], {
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
    prober.send({ cmd: 'start', port: proxy.port, intervalMs: 100, metricsEvery: 3 });
    await once(prober, 'started', 10000);
    console.error(`${opened}/${o.readers} readers open; RSS ${(rssOpen / 1024).toFixed(0)} MiB; stalling them`);
    live.send({ cmd: 'mark' });
    await once(live, 'marked', 10000);
    // Time zero of the timeline (and of the live RTT series, marked just now).
    const stallAt = performance.now();
    const stallHrUs = Number(process.hrtime.bigint() / 1000n);
    if (tl !== null) {
      tl.t0 = stallAt;
      tl.line('stall');
    }
    prober.send({ cmd: 'phase', phase: 'stall' });
    await once(prober, 'phase', 10000);
    loop.enable();
    const tcp0 = tcpExt();
    const cpu0 = cpuMicros(proxy.pid);
    for (const r of readers) {
      if (!r.ready) continue;
      r.sock.sock.pause();
      r.sock.send(STALL_WRITE);
    }
    let peakRss = 0;
    const end = performance.now() + o.hold * 1000;
    while (performance.now() < end) {
      peakRss = Math.max(peakRss, rssKiB(proxy.pid));
      await sleep(100);
    }
    loop.disable();
    const stallEndAt = performance.now();
    const tcp1 = tcpExt();
    const sheds = await metric(proxy.port, 'voice_live_proxy_buffer_budget_sheds_total');
    const budgetPauses = await metric(proxy.port, 'voice_live_proxy_buffer_budget_pauses_total');
    const hwPauses = await metric(proxy.port, 'voice_live_proxy_backpressure_pauses_total');
    live.send({ cmd: 'window' });
    const win = await once(live, 'window', 10000);
    const liveRtt = new Histogram();
    liveRtt.add(win.rtt);
    // A second window for the live sessions while the readers drain.
    live.send({ cmd: 'mark' });
    await once(live, 'marked', 10000);

    // Resume: every reader still open must get its whole burst and its echoes, in order.
    console.error('resuming the readers');
    if (tl !== null) tl.line('resume');
    prober.send({ cmd: 'phase', phase: 'resume' });
    await once(prober, 'phase', 10000);
    const t0 = performance.now();
    for (const r of readers) if (r.closeCode === 0) r.sock.sock.resume();
    const stallRss = peakRss;
    const deadline = performance.now() + o.resumeTimeout * 1000;
    while (readers.some((r) => r.ready && r.closeCode === 0 && !r.complete) && performance.now() < deadline) {
      peakRss = Math.max(peakRss, rssKiB(proxy.pid));
      await sleep(200);
    }
    const resumeS = (performance.now() - t0) / 1000;
    const cpuS = (cpuMicros(proxy.pid) - cpu0) / 1e6;
    if (tl !== null) tl.line('resumed');
    const tcp2 = tcpExt();
    // Sheds decided while the readers drained count too: read the counter again once they are done.
    const shedsTotal = await metric(proxy.port, 'voice_live_proxy_buffer_budget_sheds_total');
    prober.send({ cmd: 'report' });
    const report = await once(prober, 'report', 10000);
    const health = new Histogram();
    const healthResume = new Histogram();
    for (const p of report.probes) {
      if (p.phase === 'stall') health.record(p.ms * 1000);
      else if (p.phase === 'resume') healthResume.record(p.ms * 1000);
    }
    const probeErrors = report.probes.filter((p) => p.ms < 0).length;
    const peakOf = (phase) =>
      Math.max(0, ...report.scrapes.filter((m) => phase === '' || m.phase === phase).map((m) => m.heldBytes));
    const stallHeld = peakOf('stall');
    const peakHeld = peakOf('');
    // nodejs_eventloop_lag_max_seconds: the worst thread's largest delay so far (it only grows within a minute).
    const proxyLag = (phase) =>
      Math.max(0, ...report.scrapes.filter((m) => m.phase === phase).map((m) => m.proxyLoopLagMaxMs));
    live.send({ cmd: 'window' });
    const winResume = await once(live, 'window', 10000);
    const liveRttResume = Histogram.from(winResume.rtt);
    live.send({ cmd: 'stop', drainMs: 1000 });
    const totals = await once(live, 'totals', 20000);
    const shedReaders = readers.filter((r) => r.closeCode === 1013).length;
    // When each reader saw its close: before the stall ended, while resuming, or later.
    const closedIn = (r) => (r.closedAt <= stallEndAt ? 'stall' : 'resume');
    const observed = { stall: {}, resume: {} };
    for (const r of readers) {
      if (r.closeCode === 0) continue;
      const phase = observed[closedIn(r)];
      phase[r.closeCode] = (phase[r.closeCode] ?? 0) + 1;
    }
    const complete = readers.filter((r) => r.complete && r.burstBytes === BURST).length;
    const disordered = readers.filter((r) => r.disorder > 0).length;
    const incomplete = readers.filter((r) => r.ready && r.closeCode === 0 && !r.complete).length;
    const hs = health.summary();
    const ls = liveRtt.summary();
    const hr = healthResume.summary();
    const lr = liveRttResume.summary();
    const lag = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
    const result = {
      bench: 'budget',
      date: new Date().toISOString(),
      machine: machine(),
      kernelSettings: kernelSettings(),
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
        shedsAfterResume: shedsTotal,
        budgetPauses,
        highWaterPauses: hwPauses,
        cpuSeconds: cpuS,
        resumeSeconds: resumeS,
      },
      // Closes as the readers saw them, by phase and code: a stalled reader
      // sees its 1013 only once it reads again (1006 if uWS gave up first).
      readerClosesObserved: observed,
      healthMs: { samples: hs.samples, p50: hs.p50 / 1000, p99: hs.p99 / 1000, max: hs.max / 1000 },
      healthResumeMs: { samples: hr.samples, p50: hr.p50 / 1000, p99: hr.p99 / 1000, max: hr.max / 1000 },
      healthProbeErrors: probeErrors,
      // The prober's own event-loop delay (a late prober is not a slow proxy), and the proxy's worst thread's.
      proberLoopDelayMs: report.proberLoopDelayMs,
      proxyLoopLagMaxMs: { open: proxyLag('open'), stall: proxyLag('stall'), resume: proxyLag('resume') },
      // This process's own event-loop delay during the stall: probes it delayed are not the proxy's.
      benchLoopDelayMs: lag,
      kernelTcp: { stall: diff(tcp0, tcp1), resume: diff(tcp1, tcp2) },
      live: {
        sessions: o.live,
        closedEarly: totals.counters.closedEarly,
        loss: totals.counters.sent - totals.counters.echoes,
        rttP50: ls.p50 / 1000,
        rttP99: ls.p99 / 1000,
        rttMax: ls.max / 1000,
        generatorLagMaxMs: win.lagMaxMs,
        resume: {
          rttP50: lr.p50 / 1000,
          rttP99: lr.p99 / 1000,
          rttMax: lr.max / 1000,
          generatorLagMaxMs: winResume.lagMaxMs,
        },
      },
    };
    if (tl !== null) {
      tl.stop();
      writeFileSync(
        o.timeline,
        JSON.stringify({
          stallHrUs,
          probes: report.probes,
          scrapes: report.scrapes,
          liveRttSeriesMs: win.rttSeriesMs,
          liveRttSeries: win.rttSeries,
          liveRttResumeFromMs: Math.round(stallEndAt - stallAt),
          liveRttResumeSeries: winResume.rttSeries,
          samples: tl.samples,
          lines: tl.lines,
        }),
      );
    }
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
            'budget: peak held MiB while stalled / incl. resume (budget) / budget pauses / high-water pauses',
            `${fmt(stallHeld / MIB, 1)} / ${fmt(peakHeld / MIB, 1)} (${o.budgetMib}) / ${budgetPauses} / ${hwPauses}`,
          ],
          [
            'sheds counted by the proxy at the end of the stall / after resume; 1013 seen by readers',
            `${sheds} / ${shedsTotal}; ${shedReaders}`,
          ],
          ['reader closes as seen, by phase', JSON.stringify(observed)],
          [
            '/health during the stall: p50 / p99 / max ms',
            `${fmt(hs.p50 / 1000, 1)} / ${fmt(hs.p99 / 1000, 1)} / ${fmt(hs.max / 1000, 1)} (${hs.samples} probes)`,
          ],
          [
            '/health while resuming: p50 / p99 / max ms',
            `${fmt(hr.p50 / 1000, 1)} / ${fmt(hr.p99 / 1000, 1)} / ${fmt(hr.max / 1000, 1)} (${hr.samples} probes)`,
          ],
          [
            'loop delay max ms: bench during the stall / prober / proxy worst thread (open; stall; resume)',
            `${fmt(lag.max, 1)} / ${fmt(report.proberLoopDelayMs.max, 1)} / ${result.proxyLoopLagMaxMs.open}; ${result.proxyLoopLagMaxMs.stall}; ${result.proxyLoopLagMaxMs.resume}`,
          ],
          [
            'live sessions: closed early / loss / RTT p50 / p99 / max ms (stall)',
            `${totals.counters.closedEarly} / ${result.live.loss} / ${fmt(ls.p50 / 1000, 2)} / ${fmt(ls.p99 / 1000, 2)} / ${fmt(ls.max / 1000, 1)}`,
          ],
          [
            'live RTT p50 / p99 / max ms while resuming; generator lag max ms stall / resume',
            `${fmt(lr.p50 / 1000, 2)} / ${fmt(lr.p99 / 1000, 2)} / ${fmt(lr.max / 1000, 1)}; ${fmt(win.lagMaxMs, 0)} / ${fmt(winResume.lagMaxMs, 0)}`,
          ],
          [
            'kernel TCP pressure (stall; resume)',
            `${JSON.stringify(result.kernelTcp.stall)}; ${JSON.stringify(result.kernelTcp.resume)}`,
          ],
          ['resume: all delivered in s / proxy CPU s (stall + resume)', `${fmt(resumeS, 1)} / ${fmt(cpuS, 1)}`],
        ],
      ),
    );
    if (o.json !== '') writeJson(o.json, result);
  } finally {
    live.kill('SIGKILL');
    prober.kill('SIGKILL');
    await proxy.stop();
    await sim.stop();
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
