// Event-loop lag, the one number that says "this thread is too busy to relay
// audio on time". perf_hooks samples it in C++ (no JS timer per sample); we
// only read the histogram when /metrics is scraped.
//
// A histogram that is never reset reports the lifetime p99, which hides a bad
// minute behind hours of idle. So every `windowMs` the current window is
// copied into `last*` and reset; readers see the last complete window (or the
// current one before the first window closes); the max also covers the open
// window.
//
// perf_hooks records the time between two ticks of its sampling timer, so an
// idle thread reads the resolution itself (20 ms here, 10 in prom-client's
// metrics of the same names). We report the lag beyond the resolution: an
// idle thread reads 0, and the alert threshold (deploy/prometheus-alerts.yaml)
// means what it says.
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

/** A recorded delay less the sampling interval it includes. */
function lagSeconds(ns: number, resolutionNs: number): number {
  return seconds(ns - resolutionNs);
}

export class EventLoopMonitor {
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly resolutionMs: number;
  private readonly resolutionNs: number;
  private readonly windowMs: number;
  private last: EventLoopLag = ZERO;
  private windows = 0;

  constructor(opts: EventLoopMonitorOptions = {}) {
    this.resolutionMs = opts.resolutionMs ?? 20;
    this.resolutionNs = this.resolutionMs * 1e6;
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
    this.last = stats(h, this.resolutionNs);
    this.windows++;
    h.reset();
  }

  /** Lag in seconds; zeros when stopped. */
  read(): EventLoopLag {
    const h = this.histogram;
    if (h === null) return ZERO;
    // The max also includes the open window, so a stall shows on the next scrape.
    if (this.windows > 0) return { ...this.last, max: Math.max(this.last.max, lagSeconds(h.max, this.resolutionNs)) };
    return stats(h, this.resolutionNs);
  }
}

function stats(h: IntervalHistogram, resolutionNs: number): EventLoopLag {
  return {
    min: lagSeconds(h.min, resolutionNs),
    mean: lagSeconds(h.mean, resolutionNs),
    stddev: seconds(h.stddev),
    p50: lagSeconds(h.percentile(50), resolutionNs),
    p90: lagSeconds(h.percentile(90), resolutionNs),
    p99: lagSeconds(h.percentile(99), resolutionNs),
    max: lagSeconds(h.max, resolutionNs),
  };
}

// Module-level so setInterval needs no closure per monitor.
function rotate(m: EventLoopMonitor): void {
  m.rotate();
}
