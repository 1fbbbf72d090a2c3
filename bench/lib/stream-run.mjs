// One stream-load run against one target (proxy, nginx, the simulator
// directly, or an operator's own URL): start what needs starting, start the
// shared load generator (dist/loadtest, worker threads in this process),
// ramp, warm up, measure a steady window, drain, count.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { loadtestModule, generatorOptions } from './dist.mjs';
import { benchCertificate } from './tls-cert.mjs';
import {
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
  // --browser-tls: the generator speaks wss:// to the relay (the proxy's
  // TLS_CERT_FILE / TLS_KEY_FILE, nginx's ssl listener) and trusts the same
  // bench-time certificate.
  const front = o.browserTls && target !== 'direct' ? benchCertificate() : null;
  const ca = front === null ? null : readFileSync(front.cert, 'utf8');
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
    const ngx = await startNginx(sim.port, { tls, front, workers: o.relayWorkers }).catch(async (err) => {
      await sim.stop();
      throw err;
    });
    return {
      url: ngx.origin + SIM_QUERY,
      ca,
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
    const env = {
      ...workers,
      ...(tls === null ? {} : { NODE_EXTRA_CA_CERTS: tls.cert }),
      ...(front === null ? {} : { TLS_CERT_FILE: front.cert, TLS_KEY_FILE: front.key }),
      ...o.proxyEnv,
    };
    const proxy = await startProxy(sim.origin, { env, nodeArgs: o.proxyNodeArgs, ca }).catch(async (err) => {
      await sim.stop();
      throw err;
    });
    log(`  proxy pid ${proxy.pid} on ${proxy.origin}, simulator pid ${sim.pid} on ${sim.origin}`);
    return {
      url: proxy.origin + '/ws?model=gpt-realtime',
      ca,
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
  let gen = null;
  try {
    await sleep(1000);
    const rss0 = t.relay ? rssKiB(t.relay.pid) : 0;
    const threads = Math.max(1, Math.min(o.procs, o.sessions));
    const { LoadGenerator } = loadtestModule('generator');
    gen = new LoadGenerator(
      generatorOptions(
        {
          url: t.url,
          headers: t.headers,
          sourceIps: sourceIps(o.sourceIps, t.url),
          insecure: o.insecure,
          ca: t.ca ?? null,
          mode: o.mode,
          chunkMs: o.chunkMs,
          tickMs: o.tickMs,
          rampMs: o.ramp * 1000,
          commitEvery: o.commitEvery,
          maxInflight: o.maxInflight,
          count: o.sessions,
        },
        threads,
      ),
    );
    await gen.start();
    const rampT0 = performance.now();
    const opened = await gen.ramped((o.ramp + 120) * 1000);
    if (opened === null) throw new Error(`${target}: sessions not opened within ${o.ramp + 120} s`);
    const rampSeconds = (performance.now() - rampT0) / 1000;
    log(
      `  ${target}: ${opened.created}/${o.sessions} sessions ready in ${rampSeconds.toFixed(1)} s` +
        (opened.failed ? `, ${opened.failed} failed ${JSON.stringify(opened.failReasons)}` : ''),
    );
    if (o.mode !== 'idle') gen.send();
    await sleep(o.warmup * 1000);

    // The generator's threads run in this process: its CPU is this pid's.
    const pids = { relay: t.relay?.pid, sim: t.sim?.pid, gen: [process.pid] };
    const cpuA = snapCpu(pids);
    const hostA = hostCpuSample();
    const rssA = t.relay ? rssKiB(t.relay.pid) : 0;
    await gen.mark();
    const selfA = process.cpuUsage();
    const wallA = performance.now();
    const counting = o.syscalls && t.relay ? countSyscalls(t.relay.pid, o.duration, log) : null;
    await sleep(o.duration * 1000);
    const syscalls = counting === null ? null : await counting;
    const w = await gen.window();
    const self = process.cpuUsage(selfA);
    const wallS = (performance.now() - wallA) / 1000;
    const cpuB = snapCpu(pids);
    const hostB = hostCpuSample();
    const rssB = t.relay ? rssKiB(t.relay.pid) : 0;
    const simRss = t.sim ? rssKiB(t.sim.pid) : 0;
    const fds = t.relay ? fdCount(t.relay.pid) : -1;

    const c = await gen.stop(o.drain * 1000);

    const { rtt, ttfa, done } = w;
    const wSent = w.sent;
    const wRecv = w.recv;
    const wSentBytes = w.sentBytes;
    const wRecvBytes = w.recvBytes;
    const genCpuSelf = self.user + self.system;
    const lagMaxMs = w.lagMaxMs;
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
      browser: o.browserTls && target !== 'direct' ? 'wss' : 'ws',
      hostBusyBeforePct: quiet,
      url: t.url.replace(/([?&](token|api-key)=)[^&]*/gi, '$1***'),
      mode: o.mode,
      sessions: o.sessions,
      relayWorkers: o.relayWorkers,
      chunkMs: o.chunkMs,
      frameBytes: gen.frameBytes,
      generatorThreads: gen.threadCount,
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
        // The busiest generator thread's event-loop utilisation: near 1, the generator is the bottleneck.
        generatorEluMax: w.eluMax,
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
    await gen.close(1500);
    gen = null;
    return result;
  } finally {
    if (gen !== null) await gen.terminate();
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
