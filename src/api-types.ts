// The types a backend sees (api.ts), kept apart from the modules that
// implement them: their declarations name no `ws` or uWS type, so a
// TypeScript consumer needs neither @types/ws nor skipLibCheck.
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SharedAdmission } from './admission/gate';
import type { Metrics } from './observability/metrics';
import type { MetricsBoard } from './observability/metrics-board';
import type { Telemetry } from './observability/telemetry';

export interface ProxyDeps {
  logger: Logger;
  metrics?: Metrics;
  telemetry?: Telemetry;
  /** Admission state shared by every worker thread (WORKERS > 1). */
  shared?: SharedAdmission;
  /** Every worker's metrics, so /metrics reports the whole process. */
  board?: MetricsBoard;
  /** The process-wide buffer budget's shared cell (WORKERS > 1); absent: this thread's own. */
  budget?: SharedArrayBuffer;
  /** The main thread's day totals, so quotas hold for the whole process (WORKERS > 1, usage/process-days.ts). */
  days?: MessagePort;
}

export interface ProxyServer {
  readonly port: number;
  readonly metrics: Metrics;
  /** Drain, wait up to graceMs for sessions to end, close the rest with 1001, close the port. */
  shutdown(graceMs: number): Promise<void>;
  /**
   * Close every socket now, without close frames. For a worker thread that is
   * dying: a thread must not exit with uWS sockets open (Node aborts the whole
   * process on the open handles).
   */
  abort(): void;
}

export interface Runtime {
  readonly server: ProxyServer;
  readonly metrics: Metrics;
  /** Drain and close the server, send the last telemetry, stop the monitors. */
  stop(graceMs: number): Promise<void>;
}

export interface RuntimeOptions extends Pick<ProxyDeps, 'board' | 'shared' | 'budget' | 'days'> {
  /** Whether this thread reports the process-wide connection gauge to telemetry (one thread does). */
  readonly reportsActive: boolean;
}
