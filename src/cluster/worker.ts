// A worker thread: one uWS app on the shared port (uWS listens with
// SO_REUSEPORT, so the kernel spreads new connections over the workers), with
// admission state and metrics shared through the primary's buffers.
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig, readEnv } from '../config';
import { createLogger } from '../observability/logger';
import { EventLoopMonitor } from '../observability/event-loop';
import { Metrics } from '../observability/metrics';
import { MetricsBoard } from '../observability/metrics-board';
import { NOOP_TELEMETRY, startTelemetry } from '../observability/telemetry';
import { TelemetryPump } from '../observability/telemetry-pump';
import { startProxy } from '../server';
import type { ClusterState, FromWorker, ToWorker } from './shared-state';

const PUBLISH_INTERVAL_MS = 1000;
const { state, index, port: sharedPort } = workerData as { state: ClusterState; index: number; port: number };
const toPrimary = parentPort!;

function tell(msg: FromWorker): void {
  toPrimary.postMessage(msg);
}

async function run(): Promise<void> {
  const cfg = { ...loadConfig(readEnv()), port: sharedPort };
  const logger = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty }).child({ worker: index });
  const eventLoop = new EventLoopMonitor();
  eventLoop.start();
  const metrics = new Metrics({ eventLoop });
  const board = new MetricsBoard(state.board);
  const telemetry = await startTelemetry(cfg.appInsightsConnectionString, logger);
  const server = await startProxy(cfg, {
    logger, metrics, telemetry, board,
    shared: { counter: state.counter, rate: state.rate, held: new Int32Array(state.held), index },
  });
  // A thread that dies with uWS sockets open takes the whole process down
  // (libuv asserts on the open handles), so an uncaught error closes them first.
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: err.message }, 'worker crashed');
    server.abort();
    process.exit(1);
  });
  // Worker 0 alone reports the process-wide connection gauge; each sends its own counters.
  const pump = new TelemetryPump(telemetry, metrics, index === 0 ? () => server.gate.counter.active : null);
  if (telemetry !== NOOP_TELEMETRY) pump.start();
  const publish = setInterval(() => board.publish(index, metrics.snapshot()), PUBLISH_INTERVAL_MS);
  publish.unref();
  toPrimary.on('message', (msg: ToWorker) => {
    if (msg.type === 'shutdown') {
      server.shutdown(msg.graceMs)
        .then(() => { pump.stop(); pump.send(); return telemetry.flush(); })
        .finally(() => {
          clearInterval(publish);
          board.publish(index, metrics.snapshot());
          eventLoop.stop();
          process.exit(0);
        });
    } else if (msg.type === 'abort') {
      server.abort();
      process.exit(1);
    } else if (msg.type === 'crash' && process.env.VLP_CRASH_TEST === 'true') {
      // Test hook (off unless the variable is set): prove a crashed worker is replaced.
      setImmediate(() => { throw new Error('crash test'); });
    }
  });
  tell({ type: 'listening', port: server.port });
}

run().catch((err: unknown) => {
  tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
