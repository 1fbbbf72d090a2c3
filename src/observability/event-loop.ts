// Event-loop lag, the one number that says "this thread is too busy to relay
// audio on time". perf_hooks samples it in C++ (no JS timer per sample); we
// only read the histogram when /metrics is scraped.
//
// A histogram that is never reset reports the lifetime p99, which hides a bad
// minute behind hours of idle. So every `windowMs` the current window is
// copied into `last*` and reset; readers see the last complete window (or the
// current one before the first window closes); the max also covers the open
// window.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const NS_PER_S = 1e9;

export interface EventLoopLag {
  readonly min: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

const ZERO: EventLoopLag = Object.freeze({ min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0, max: 0 });

export interface EventLoopMonitorOptions {
  /** Sampling resolution in ms (perf_hooks default is 10; 20 halves the cost). */
  readonly resolutionMs?: number;
  /** Length of a reporting window in ms; 0 = never reset (lifetime values). */
  readonly windowMs?: number;
}

/** Histogram values are nanoseconds; an empty histogram reports NaN/huge min. */
function seconds(ns: number): number {
  return Number.isFinite(ns) && ns > 0 ? ns / NS_PER_S : 0;
}

export class EventLoopMonitor {
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly resolutionMs: number;
  private readonly windowMs: number;
  private last: EventLoopLag = ZERO;
  private windows = 0;

  constructor(opts: EventLoopMonitorOptions = {}) {
    this.resolutionMs = opts.resolutionMs ?? 20;
    this.windowMs = opts.windowMs ?? 60_000;
  }

  get running(): boolean {
    return this.histogram !== null;
  }

  start(): void {
    if (this.histogram !== null) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    if (this.windowMs > 0) {
      this.timer = setInterval(rotate, this.windowMs, this);
      // A metrics timer must never keep a draining process alive.
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (this.histogram !== null) {
      this.histogram.disable();
      this.histogram = null;
    }
  }

  /** Closes the current window now (the interval does this every windowMs). */
  rotate(): void {
    const h = this.histogram;
    if (h === null) return;
    this.last = stats(h);
    this.windows++;
    h.reset();
  }

  /** Lag in seconds; zeros when stopped. */
  read(): EventLoopLag {
    const h = this.histogram;
    if (h === null) return ZERO;
    // The max also includes the open window, so a stall shows on the next scrape.
    if (this.windows > 0) return { ...this.last, max: Math.max(this.last.max, seconds(h.max)) };
    return stats(h);
  }
}

function stats(h: IntervalHistogram): EventLoopLag {
  return {
    min: seconds(h.min),
    mean: seconds(h.mean),
    stddev: seconds(h.stddev),
    p50: seconds(h.percentile(50)),
    p90: seconds(h.percentile(90)),
    p99: seconds(h.percentile(99)),
    max: seconds(h.max),
  };
}

// Module-level so setInterval needs no closure per monitor.
function rotate(m: EventLoopMonitor): void {
  m.rotate();
}
