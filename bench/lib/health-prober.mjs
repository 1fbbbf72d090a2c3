// The budget bench's /health prober, in a process of its own (forked by
// bench/budget.mjs): the process that holds 1000 stalled readers reads 4 GB
// when they resume, and its own event-loop lag (up to 1.3 s measured) was
// being reported as the proxy's /health latency. Probes /health one at a time
// every `intervalMs`, and every `metricsEvery`th probe also reads /metrics
// (what the budget holds, the proxy's worst event-loop lag); reports its own
// loop delay so that a late prober can be told from a slow proxy. Talks to
// the parent over IPC only.
import { monitorEventLoopDelay } from 'node:perf_hooks';

let port = 0;
let intervalMs = 100;
let metricsEvery = 3;
let t0 = performance.now();
let phase = 'open';
let running = false;
let stopped = null;
const probes = [];
const scrapes = [];
const loop = monitorEventLoopDelay({ resolution: 10 });

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function gauge(text, name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function probe() {
  const t = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  await res.arrayBuffer();
  const ms = performance.now() - t;
  probes.push({ phase, at: Math.round(t - t0), ms: Math.round(ms * 10) / 10 });
}

async function scrape() {
  const t = performance.now();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  scrapes.push({
    phase,
    at: Math.round(t - t0),
    heldBytes: gauge(text, 'voice_live_proxy_buffered_bytes'),
    sheds: gauge(text, 'voice_live_proxy_buffer_budget_sheds_total'),
    proxyLoopLagMaxMs: Math.round(gauge(text, 'nodejs_eventloop_lag_max_seconds') * 1e4) / 10,
  });
}

async function run() {
  let n = 0;
  while (running) {
    const started = performance.now();
    try {
      await probe();
      if (n++ % metricsEvery === 0) await scrape();
    } catch (err) {
      probes.push({ phase, at: Math.round(started - t0), ms: -1, error: String(err) });
    }
    await sleep(Math.max(0, intervalMs - (performance.now() - started)));
  }
  stopped();
}

process.on('message', (msg) => {
  switch (msg.cmd) {
    case 'start':
      port = msg.port;
      intervalMs = msg.intervalMs ?? intervalMs;
      metricsEvery = msg.metricsEvery ?? metricsEvery;
      running = true;
      loop.enable();
      run();
      process.send({ ev: 'started' });
      break;
    case 'phase':
      // Time zero is the first phase change after start (the stall).
      if (phase === 'open') t0 = performance.now();
      phase = msg.phase;
      process.send({ ev: 'phase' });
      break;
    case 'report':
      running = false;
      new Promise((r) => (stopped = r)).then(() => {
        loop.disable();
        process.send({
          ev: 'report',
          probes,
          scrapes,
          proberLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        });
      });
      break;
    default:
      break;
  }
});
process.on('disconnect', () => process.exit(0));
