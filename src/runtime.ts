// One proxy instance with its observability, as run by a thread: the single
// thread of WORKERS=1 (index.ts) or one worker thread (cluster/worker.ts).
import type { Logger } from 'pino';
import type { Config } from './config';
import { EventLoopMonitor } from './observability/event-loop';
import { Metrics } from './observability/metrics';
import { RuntimeStats } from './observability/runtime-stats';
import { NOOP_TELEMETRY, startTelemetry } from './observability/telemetry';
import { TelemetryPump } from './observability/telemetry-pump';
import type { Runtime, RuntimeOptions } from './api-types';
import { startProxy, type InspectableProxy } from './server';

export type { Runtime, RuntimeOptions } from './api-types';

/** The public Runtime with the inspectable server (the process entry logs its session count). */
export interface InspectableRuntime extends Runtime {
  readonly server: InspectableProxy;
}

export async function startRuntime(cfg: Config, logger: Logger, opts: RuntimeOptions): Promise<InspectableRuntime> {
  const eventLoop = new EventLoopMonitor();
  eventLoop.start();
  const runtime = new RuntimeStats();
  runtime.start();
  const metrics = new Metrics({ eventLoop, runtime });
  const telemetry = await startTelemetry(cfg.appInsightsConnectionString, logger);
  const server = await startProxy(cfg, {
    logger,
    metrics,
    telemetry,
    board: opts.board,
    shared: opts.shared,
    budget: opts.budget,
    days: opts.days,
  });
  const pump = new TelemetryPump(telemetry, metrics, opts.reportsActive ? () => server.gate.counter.active : null);
  if (telemetry !== NOOP_TELEMETRY) pump.start();
  return {
    server,
    metrics,
    async stop(graceMs: number): Promise<void> {
      await server.shutdown(graceMs);
      pump.stop();
      pump.send();
      await telemetry.flush();
      eventLoop.stop();
      runtime.stop();
    },
  };
}
