// The load generator's main thread: splits the sessions over worker threads
// (worker.ts), steps them through ramp, send, a measured window, drain and
// close, and merges what they report. `voice-live-proxy loadtest` and the
// benchmarks in bench/ both drive load through this class, so an operator's
// numbers and docs/performance.md come from the same code.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { Histogram } from './histogram';
import {
  sumCounters,
  type Counters,
  type LoadMode,
  type WorkerCommand,
  type WorkerConfig,
  type WorkerEvent,
  type WindowReport,
} from './protocol';

export interface GeneratorOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly sessions: number;
  readonly threads: number;
  readonly mode: LoadMode;
  readonly periodMs: number;
  readonly pcmBytes: number;
  readonly tickMs?: number;
  readonly rampMs: number;
  readonly commitEvery?: number;
  /** Handshakes in flight across all threads. */
  readonly maxInflight?: number;
  readonly sourceIps?: readonly string[] | null;
  readonly insecure?: boolean;
  readonly ca?: string | null;
  readonly ticket?: WorkerConfig['ticket'];
}

/** The merged window of every thread. */
export interface MergedWindow {
  readonly ms: number;
  readonly sent: number;
  readonly recv: number;
  readonly sentBytes: number;
  readonly recvBytes: number;
  /** The busiest thread's event-loop utilisation (0..1). */
  readonly eluMax: number;
  readonly lagMaxMs: number;
  readonly rttSeriesMs: number;
  readonly rttSeries: number[];
  readonly rtt: Histogram;
  readonly ttfa: Histogram;
  readonly done: Histogram;
}

export interface Progress {
  readonly counters: Counters;
  /** The main latency (echo round trip, or commit to first audio) since the previous call. */
  readonly live: Histogram;
  readonly eluMax: number;
}

const WORKER = join(__dirname, 'worker.js');

export class LoadGenerator {
  private readonly workers: Worker[] = [];
  private readonly failures: Error[] = [];
  frameBytes = 0;

  constructor(private readonly o: GeneratorOptions) {}

  /** Start the threads; they begin opening sessions (over rampMs) at once. */
  async start(): Promise<void> {
    const o = this.o;
    const n = Math.max(1, Math.min(o.threads, o.sessions));
    const per = Math.floor(o.sessions / n);
    let first = 0;
    const inits: Array<Promise<WorkerEvent>> = [];
    for (let i = 0; i < n; i++) {
      const count = i === n - 1 ? o.sessions - first : per;
      const cfg: WorkerConfig = {
        url: o.url,
        headers: o.headers ?? {},
        sourceIps: o.sourceIps ?? null,
        insecure: o.insecure ?? false,
        ca: o.ca ?? null,
        mode: o.mode,
        periodMs: o.periodMs,
        pcmBytes: o.pcmBytes,
        tickMs: o.tickMs ?? 2,
        rampMs: o.rampMs,
        commitEvery: o.commitEvery ?? 25,
        maxInflight: Math.max(1, Math.ceil((o.maxInflight ?? 256) / n)),
        first,
        count,
        ticket: o.ticket ?? null,
      };
      first += count;
      const w = new Worker(WORKER, { workerData: cfg });
      w.on('error', (err) => this.failures.push(err));
      this.workers.push(w);
      inits.push(this.once(w, 'init', 10_000));
    }
    const [init] = await Promise.all(inits);
    if (init.ev === 'init') this.frameBytes = init.frameBytes;
  }

  get threadCount(): number {
    return this.workers.length;
  }

  /** A worker thread that died (an exception in it): the run's numbers are incomplete. */
  get error(): Error | null {
    return this.failures[0] ?? null;
  }

  /** Resolves once every session has opened or failed, or after timeoutMs (then null). */
  async ramped(timeoutMs: number): Promise<Counters | null> {
    try {
      const r = await this.all(null, 'ramped', timeoutMs);
      return sumCounters(r.map((x) => (x as { counters: Counters }).counters));
    } catch {
      return null;
    }
  }

  send(): void {
    this.broadcast({ cmd: 'send' });
  }

  async mark(): Promise<void> {
    await this.all({ cmd: 'mark' }, 'marked', 10_000);
  }

  async window(): Promise<MergedWindow> {
    const ws = (await this.all({ cmd: 'window' }, 'window', 10_000)) as WindowReport[];
    const rtt = new Histogram();
    const ttfa = new Histogram();
    const done = new Histogram();
    let ms = 0,
      sent = 0,
      recv = 0,
      sentBytes = 0,
      recvBytes = 0,
      eluMax = 0,
      lagMaxMs = 0;
    const series: number[] = [];
    for (const w of ws) {
      rtt.add(w.rtt);
      ttfa.add(w.ttfa);
      done.add(w.done);
      ms = Math.max(ms, w.ms);
      sent += w.sent;
      recv += w.recv;
      sentBytes += w.sentBytes;
      recvBytes += w.recvBytes;
      eluMax = Math.max(eluMax, w.elu);
      lagMaxMs = Math.max(lagMaxMs, w.lagMaxMs);
      w.rttSeries.forEach((v, i) => (series[i] = Math.max(series[i] ?? 0, v)));
    }
    return {
      ms,
      sent,
      recv,
      sentBytes,
      recvBytes,
      eluMax,
      lagMaxMs,
      rttSeriesMs: ws[0]?.rttSeriesMs ?? 100,
      rttSeries: series,
      rtt,
      ttfa,
      done,
    };
  }

  async progress(): Promise<Progress> {
    const ps = await this.all({ cmd: 'progress' }, 'progress', 5_000);
    const live = new Histogram();
    let eluMax = 0;
    const counters: Counters[] = [];
    for (const p of ps) {
      if (p.ev !== 'progress') continue;
      live.add(p.live);
      eluMax = Math.max(eluMax, p.elu);
      counters.push(p.counters);
    }
    return { counters: sumCounters(counters), live, eluMax };
  }

  /**
   * Stop sending; after drainMs (for the last echoes) resolves with the run's totals.
   * interrupted: stop opening sessions too, resolve as soon as nothing is in
   * flight (at most drainMs), and count what still is as `inFlight`.
   */
  async stop(drainMs: number, interrupted = false): Promise<Counters> {
    const r = await this.all({ cmd: 'stop', drainMs, interrupted }, 'totals', drainMs + 30_000);
    return sumCounters(r.map((x) => (x as { counters: Counters }).counters));
  }

  /** Close every session (1000), then end the threads. */
  async close(graceMs = 1000): Promise<void> {
    await this.all({ cmd: 'close', graceMs }, 'closed', graceMs + 10_000).catch(() => {});
    await this.terminate();
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private broadcast(cmd: WorkerCommand): void {
    for (const w of this.workers) w.postMessage(cmd);
  }

  private all(cmd: WorkerCommand | null, ev: WorkerEvent['ev'], timeoutMs: number): Promise<WorkerEvent[]> {
    const waits = this.workers.map((w) => this.once(w, ev, timeoutMs));
    if (cmd !== null) this.broadcast(cmd);
    return Promise.all(waits);
  }

  private once(w: Worker, ev: WorkerEvent['ev'], timeoutMs: number): Promise<WorkerEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        w.off('message', on);
        w.off('exit', gone);
        reject(new Error(`load generator: no '${ev}' within ${timeoutMs} ms`));
      }, timeoutMs);
      function on(msg: WorkerEvent): void {
        if (msg.ev !== ev) return;
        clearTimeout(t);
        w.off('message', on);
        w.off('exit', gone);
        resolve(msg);
      }
      function gone(code: number): void {
        clearTimeout(t);
        w.off('message', on);
        reject(new Error(`load generator thread exited (${code}) before '${ev}'`));
      }
      w.on('message', on);
      w.once('exit', gone);
    });
  }
}
