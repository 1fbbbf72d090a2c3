// The counters as Application Insights metrics: once a minute, what each
// counter grew by since the last send (App Insights sums them across threads
// and instances), plus the live connection gauge from one thread only.
import { COUNTERS, type CounterField } from './metric-table';
import type { Metrics } from './metrics';
import type { Telemetry } from './telemetry';
import { columnTotal, UsageColumn } from './usage-metric-table';

/** The counters metric-table.ts marks for Application Insights, by field name; the full set is on /metrics. */
export const PUMPED: readonly CounterField[] = Object.freeze(
  COUNTERS.filter((def) => def.appInsights).flatMap((def) => def.series.map((s) => s.field)),
);
/** The one gauge sent, under its RenderExtra name, by the thread that owns the process-wide count. */
export const PUMPED_GAUGE = 'activeConnections';

export const PUMP_INTERVAL_MS = 60_000;

/** The usage totals sent, summed over every mode and model: [metric name, column, divisor to its unit]. */
export const PUMPED_USAGE: ReadonlyArray<readonly [string, UsageColumn, number]> = Object.freeze([
  ['usageAudioInSeconds', UsageColumn.AudioInMs, 1000],
  ['usageAudioOutSeconds', UsageColumn.AudioOutMs, 1000],
  ['usageInputTokens', UsageColumn.InputTokens, 1],
  ['usageOutputTokens', UsageColumn.OutputTokens, 1],
  ['usageResponses', UsageColumn.Responses, 1],
]);

export class TelemetryPump {
  private readonly last = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly metrics: Metrics,
    /** The live connection count, or null on threads that must not report it (all but one). */
    private readonly active: (() => number) | null,
  ) {}

  start(intervalMs = PUMP_INTERVAL_MS): void {
    this.timer = setInterval(() => this.send(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  send(): void {
    for (const name of PUMPED) {
      const now = this.metrics[name];
      const delta = now - (this.last.get(name) ?? 0);
      this.last.set(name, now);
      if (delta !== 0) this.telemetry.trackMetric(name, delta);
    }
    for (const [name, column, divisor] of PUMPED_USAGE) {
      const now = columnTotal(this.metrics.usage, column);
      const delta = now - (this.last.get(name) ?? 0);
      this.last.set(name, now);
      if (delta !== 0) this.telemetry.trackMetric(name, delta / divisor);
    }
    if (this.active !== null) this.telemetry.trackMetric(PUMPED_GAUGE, this.active());
  }
}
