// One stream-load run against one target (proxy, nginx, the simulator
// directly, or an operator's own URL): start what needs starting, fork the
// generator processes, ramp, warm up, measure a steady window, drain, count.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { Histogram } from './histogram.mjs';
import { benchCertificate } from './tls-cert.mjs';
import {
  ROOT,
  sleep,
  startSimulator,
  startProxy,
  startNginx,
  cpuMicros,
  cpuSplitMicros,
  rssKiB,
  fdCount,
  hostCpuSample,
  hostBusy,
  hostIrq,
} from './procs.mjs';
import { countSyscalls } from './syscall-count.mjs';

const NPROC = cpus().length;
const WORKER = join(ROOT, 'bench', 'lib', 'load-worker.mjs');
const SIM_QUERY = '/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime';

export function sourceIps(spec, targetUrl) {
  if (spec === 'none') return null;
  const host = new URL(targetUrl).hostname;
  if (spec === 'auto' && !/^127\./.test(host) && host !== 'localhost') return null;
  const m = /^(\d+\.\d+\.\d+)\.(\d+)-(\d+)$/.exec(spec === 'auto' ? '127.0.1.1-254' : spec);
  if (m === null) throw new Error(`--source-ips: expected a.b.c.X-Y, auto or none, got ${spec}`);
  const out = [];
  for (let i = Number(m[2]); i <= Number(m[3]); i++) out.push(`${m[1]}.${i}`);
  return out;
}

function once(child, ev, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`generator: no '${ev}' within ${timeoutMs} ms`));
    }, timeoutMs);
    function on(msg) {
      if (msg.ev !== ev) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(msg);
    }
    child.on('message', on);
  });
}

async function all(workers, cmd, ev, timeoutMs) {
  const waits = workers.map((w) => once(w, ev, timeoutMs));
  if (cmd !== null) for (const w of workers) w.send(cmd);
  return Promise.all(waits);
}

function sumCounters(list) {
  const out = { closeCodes: {}, failReasons: {} };
  for (const c of list) {
    for (const [k, v] of Object.entries(c)) {
      if (k === 'closeCodes' || k === 'failReasons') {
        for (const [kk, vv] of Object.entries(v)) out[k][kk] = (out[k][kk] ?? 0) + vv;
      } else if (k === 'lagMaxMs') {
        out[k] = Math.max(out[k] ?? 0, v);
      } else {
        out[k] = (out[k] ?? 0) + v;
      }
    }
  }
  return out;
}

/** Start what the target needs; returns { url, headers, relay, sim, stop }. */
async function prepare(target, o, log) {
  if (target === 'external') {
    return {
      url: o.target,
      headers: o.headers,
      relay: o.pid ? { pid: o.pid, name: 'target' } : null,
      sim: null,
      stop: async () => {},
    };
  }
  // --upstream-tls: the simulator on wss:// with a bench-time certificate; the
  // proxy trusts it through NODE_EXTRA_CA_CERTS, nginx through
  // proxy_ssl_trusted_certificate. The browser leg stays plain in every mode.
  const tls = o.upstreamTls && target !== 'direct' ? benchCertificate() : null;
  const sim = await startSimulator({ tls });
  const apiKey = { 'api-key': 'bench-key' };
  if (target === 'direct') {
    return {
      url: sim.origin + SIM_QUERY,
      headers: { ...apiKey, ...o.headers },
      relay: null,
      sim,
      stop: () => sim.stop(),
    };
  }
  if (target === 'nginx') {
    const ngx = await startNginx(sim.port, { tls, workers: o.relayWorkers });
    return {
      url: ngx.origin + SIM_QUERY,
      headers: { ...apiKey, ...o.headers },
      relay: ngx,
      sim,
      stop: async () => {
        await ngx.stop();
        await sim.stop();
      },
    };
  }
  if (target === 'proxy') {
    const workers = { WORKERS: String(o.relayWorkers) };
    const env =
      tls === null ? { ...workers, ...o.proxyEnv } : { ...workers, NODE_EXTRA_CA_CERTS: tls.cert, ...o.proxyEnv };
    const proxy = await startProxy(sim.origin, { env, nodeArgs: o.proxyNodeArgs });
    log(`  proxy pid ${proxy.pid} on ${proxy.origin}, simulator pid ${sim.pid} on ${sim.origin}`);
    return {
      url: proxy.origin + '/ws?model=gpt-realtime',
      headers: { Origin: o.origin, ...o.headers },
      relay: proxy,
      sim,
      stop: async () => {
        await proxy.stop();
        if (proxy.stderr.trim() !== '') log(`  proxy stderr: ${proxy.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        await sim.stop();
      },
    };
  }
  throw new Error(`unknown target ${target}`);
}

/** Run the load once against `target`; resolves with a plain-JSON result. */
export async function runTarget(target, o, log = console.error) {
  const quiet = await waitQuiet(o.waitIdle, log);
  const t = await prepare(target, o, log);
  const workers = [];
  try {
    await sleep(1000);
    const rss0 = t.relay ? rssKiB(t.relay.pid) : 0;
    const procs = Math.max(1, Math.min(o.procs, o.sessions));
    const ips = sourceIps(o.sourceIps, t.url);
    for (let p = 0; p < procs; p++) {
      workers.push(fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    const per = Math.floor(o.sessions / procs);
    let first = 0;
    const initWaits = workers.map((w) => once(w, 'init', 10000));
    workers.forEach((w, i) => {
      const count = i === procs - 1 ? o.sessions - first : per;
      w.send({
        cmd: 'init',
        cfg: {
          url: t.url,
          headers: t.headers,
          sourceIps: ips,
          insecure: o.insecure,
          mode: o.mode,
          chunkMs: o.chunkMs,
          tickMs: o.tickMs,
          rampMs: o.ramp * 1000,
          commitEvery: o.commitEvery,
          maxInflight: Math.max(1, Math.ceil(o.maxInflight / procs)),
          first,
          count,
        },
      });
      first += count;
    });
    const [initInfo] = await Promise.all(initWaits);
    const rampT0 = performance.now();
    const ramped = await all(workers, null, 'ramped', (o.ramp + 120) * 1000);
    const rampSeconds = (performance.now() - rampT0) / 1000;
    const opened = sumCounters(ramped.map((r) => r.counters));
    log(
      `  ${target}: ${opened.created}/${o.sessions} sessions ready in ${rampSeconds.toFixed(1)} s` +
        (opened.failed ? `, ${opened.failed} failed ${JSON.stringify(opened.failReasons)}` : ''),
    );
    if (o.mode !== 'idle') for (const w of workers) w.send({ cmd: 'send' });
    await sleep(o.warmup * 1000);

    const pids = { relay: t.relay?.pid, sim: t.sim?.pid, gen: workers.map((w) => w.pid) };
    const cpuA = snapCpu(pids);
    const hostA = hostCpuSample();
    const rssA = t.relay ? rssKiB(t.relay.pid) : 0;
    await all(workers, { cmd: 'mark' }, 'marked', 10000);
    const wallA = performance.now();
    const counting = o.syscalls && t.relay ? countSyscalls(t.relay.pid, o.duration, log) : null;
    await sleep(o.duration * 1000);
    const syscalls = counting === null ? null : await counting;
    const windows = await all(workers, { cmd: 'window' }, 'window', 10000);
    const wallS = (performance.now() - wallA) / 1000;
    const cpuB = snapCpu(pids);
    const hostB = hostCpuSample();
    const rssB = t.relay ? rssKiB(t.relay.pid) : 0;
    const simRss = t.sim ? rssKiB(t.sim.pid) : 0;
    const fds = t.relay ? fdCount(t.relay.pid) : -1;

    const totals = await all(workers, { cmd: 'stop', drainMs: o.drain * 1000 }, 'totals', (o.drain + 30) * 1000);
    const c = sumCounters(totals.map((x) => x.counters));

    const rtt = new Histogram();
    const ttfa = new Histogram();
    const done = new Histogram();
    let wSent = 0,
      wRecv = 0,
      wSentBytes = 0,
      wRecvBytes = 0,
      genCpuSelf = 0,
      lagMaxMs = 0;
    for (const w of windows) {
      rtt.add(w.rtt);
      ttfa.add(w.ttfa);
      done.add(w.done);
      wSent += w.sent;
      wRecv += w.recv;
      wSentBytes += w.sentBytes;
      wRecvBytes += w.recvBytes;
      genCpuSelf += w.cpuUs;
      lagMaxMs = Math.max(lagMaxMs, w.lagMaxMs);
    }
    const frames = wSent + wRecv;
    const relayCpu = pids.relay ? cpuB.relay - cpuA.relay : NaN;
    const simCpu = pids.sim ? cpuB.sim - cpuA.sim : NaN;
    const genCpu = cpuB.gen - cpuA.gen;
    const ms = (h) => {
      const s = h.summary();
      return {
        samples: s.samples,
        p50: s.p50 / 1000,
        p90: s.p90 / 1000,
        p99: s.p99 / 1000,
        max: s.max / 1000,
        mean: s.mean / 1000,
      };
    };
    const result = {
      target,
      upstream: o.upstreamTls && target !== 'direct' ? 'wss' : 'ws',
      hostBusyBeforePct: quiet,
      url: t.url.replace(/([?&](token|api-key)=)[^&]*/gi, '$1***'),
      mode: o.mode,
      sessions: o.sessions,
      relayWorkers: o.relayWorkers,
      chunkMs: o.chunkMs,
      frameBytes: initInfo.frameBytes,
      generatorProcs: procs,
      ready: opened.created,
      failed: opened.failed,
      failReasons: opened.failReasons,
      rampSeconds,
      closedEarly: c.closedEarly,
      closeCodes: c.closeCodes,
      window: {
        seconds: wallS,
        framesSent: wSent,
        framesReceived: wRecv,
        framesPerSecond: frames / wallS,
        mbitPerSecond: ((wSentBytes + wRecvBytes) * 8) / wallS / 1e6,
        relayCpuPct: relayCpu / wallS / 1e4,
        relayUsPerFrame: frames > 0 ? relayCpu / frames : null,
        relaySysUsPerFrame: frames > 0 && pids.relay ? (cpuB.relaySys - cpuA.relaySys) / frames : null,
        simCpuPct: simCpu / wallS / 1e4,
        simUsPerFrame: frames > 0 ? simCpu / frames : null,
        generatorCpuPct: genCpu / wallS / 1e4,
        generatorSelfCpuPct: genCpuSelf / wallS / 1e4,
        generatorUsPerFrame: frames > 0 ? genCpu / frames : null,
        generatorLagMaxMs: lagMaxMs,
        hostBusyPct: hostBusy(hostA, hostB) * 100,
        // In % of one core: kernel network softirq (loopback TCP delivery,
        // charged to no process), and what else ran (other tenants, kthreads).
        softirqCpuPct: hostIrq(hostA, hostB) * 100 * NPROC,
        otherCpuPct:
          (hostBusy(hostA, hostB) - hostIrq(hostA, hostB)) * 100 * NPROC -
          ((pids.relay ? relayCpu : 0) + (pids.sim ? simCpu : 0) + genCpu) / wallS / 1e4,
      },
      syscalls:
        syscalls === null
          ? null
          : {
              perFrame: frames > 0 ? syscalls.total / frames : null,
              perFrameByName: Object.fromEntries(
                Object.entries(syscalls.byName).map(([k, v]) => [k, frames > 0 ? v / frames : null]),
              ),
              otherPerFrame: Object.fromEntries(
                Object.entries(syscalls.other).map(([k, v]) => [k, frames > 0 ? v / frames : null]),
              ),
            },
      rttMs: o.mode === 'echo' ? ms(rtt) : null,
      responseFirstAudioMs: o.mode === 'respond' ? ms(ttfa) : null,
      responseDoneMs: o.mode === 'respond' ? ms(done) : null,
      totals: {
        framesSent: c.sent,
        framesReceived: c.recv,
        echoes: c.echoes,
        commits: c.commits,
        responses: c.responses,
        loss: o.mode === 'echo' ? c.sent - c.echoes : o.mode === 'respond' ? c.commits - c.responses : 0,
        outOfOrder: c.outOfOrder,
        errorEvents: c.errors,
        skippedFrames: c.skippedFrames,
      },
      memory: t.relay
        ? {
            relayRssIdleKiB: rss0,
            relayRssStartKiB: rssA,
            relayRssEndKiB: rssB,
            relayRssPerSessionKiB: opened.created > 0 ? (Math.max(rssA, rssB) - rss0) / opened.created : NaN,
            relayFds: fds,
            simulatorRssKiB: simRss,
          }
        : { simulatorRssKiB: simRss },
    };
    await all(workers, { cmd: 'close', graceMs: 1500 }, 'closed', 30000).catch(() => {});
    return result;
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await t.stop();
  }
}

/**
 * On a shared host, wait (up to `seconds`) until the machine is mostly idle
 * before starting, so that other tenants do not distort the run. Returns the
 * last measured busy share, in %.
 */
async function waitQuiet(seconds, log) {
  const deadline = performance.now() + seconds * 1000;
  let busy = 0;
  for (;;) {
    const a = hostCpuSample();
    await sleep(1000);
    busy = hostBusy(a, hostCpuSample()) * 100;
    if (seconds <= 0 || busy < 15 || performance.now() > deadline) break;
  }
  if (seconds > 0) log(`  host busy before start: ${busy.toFixed(0)}%${busy >= 15 ? ' (gave up waiting)' : ''}`);
  return busy;
}

function snapCpu(pids) {
  const split = pids.relay ? cpuSplitMicros(pids.relay) : { user: 0, sys: 0 };
  return {
    relay: split.user + split.sys,
    relaySys: split.sys,
    sim: pids.sim ? cpuMicros(pids.sim) : 0,
    gen: pids.gen.reduce((a, p) => a + cpuMicros(p), 0),
  };
}
