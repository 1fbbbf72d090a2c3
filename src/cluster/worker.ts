// A worker thread: one uWS app on the shared port (uWS listens with
// SO_REUSEPORT, so the kernel spreads new connections over the workers), with
// admission state and metrics shared through the primary's buffers. Its
// configuration is the primary's (workerData): a worker reads neither .env nor
// the environment, so every thread runs with the same validated settings.
import { parentPort, workerData } from 'node:worker_threads';
import { refreeze } from '../config';
import { toMainThread } from '../observability/log-sink';
import { createLogger } from '../observability/logger';
import { MetricsBoard } from '../observability/metrics-board';
import { startRuntime } from '../runtime';
import type { FromWorker, ToWorker } from './shared-state';
import type { WorkerData } from './worker-data';

const PUBLISH_INTERVAL_MS = 1000;
const { state, index, cfg: primaryCfg, days } = workerData as WorkerData;
const toPrimary = parentPort!;

function tell(msg: FromWorker): void {
  toPrimary.postMessage(msg);
}

async function run(): Promise<void> {
  const cfg = refreeze(primaryCfg);
  // Lines go to the main thread's one stdout writer: none is lost when this
  // thread exits right after stopping, and they come out in order.
  const logger = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty, destination: toMainThread() }).child({
    worker: index,
  });
  const board = new MetricsBoard(state.board);
  // Worker 0 alone reports the process-wide connection gauge to telemetry.
  const { server, metrics, stop } = await startRuntime(cfg, logger, {
    board,
    reportsActive: index === 0,
    budget: state.budget,
    days,
    shared: {
      counter: state.counter,
      rate: state.rate,
      upgradeRate: state.upgradeRate,
      held: new Int32Array(state.held),
      index,
      replays: state.replays,
      subjects: state.subjects,
      metricsFailures: state.metricsFailures,
    },
  });
  // A thread that dies with uWS sockets open takes the whole process down
  // (libuv asserts on the open handles), so an uncaught error closes them first.
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: err.message }, 'worker crashed');
    server.abort();
    process.exit(1);
  });
  const publish = setInterval(() => board.publish(index, metrics.snapshot()), PUBLISH_INTERVAL_MS);
  publish.unref();
  toPrimary.on('message', (msg: ToWorker) => {
    if (msg.type === 'shutdown') {
      stop(msg.graceMs).finally(() => {
        clearInterval(publish);
        board.publish(index, metrics.snapshot());
        process.exit(0);
      });
    } else if (msg.type === 'abort') {
      server.abort();
      process.exit(1);
    }
  });
  tell({ type: 'listening', port: server.port });
}

run().catch((err: unknown) => {
  tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
