// WORKERS > 1: the main thread only supervises. It creates the shared state,
// starts one worker per slot with the configuration it has read (workers read
// neither .env nor the environment), replaces a worker that dies (counting its
// sessions out of the shared connection counter), and drains them all on
// SIGTERM/SIGINT. Why threads: docs/decisions/0010-worker-threads.md.
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startSummary, type Config } from '../config';
import { ConnectionCounter } from '../admission/connection-counter';
import { MetricsBoard } from '../observability/metrics-board';
import { BufferBudget } from '../relay/buffer-budget';
import { ProcessDays } from '../usage/process-days';
import { probePort } from '../port-probe';
import { reportStartFailure } from '../start-failure';
import { warnUnboundedSocketBuffers } from '../kernel-socket-buffers';
import type { LogSink } from '../observability/log-sink';
import { exitAfterFlush, shutdownOnSignals } from '../shutdown-signals';
import { createClusterState, type FromWorker, type ToWorker } from './shared-state';
import { relayWorkerLimits } from './young-generation';
import type { WorkerData } from './worker-data';

/** A worker that keeps dying is a bug, not bad luck: give up rather than spin. */
const MAX_CRASHES_PER_MINUTE = 10;
/** How long workers get to close their sockets when the process must exit now. */
const ABORT_DEADLINE_MS = 2000;

/** `sink` is the stdout writer behind `logger`; workers' lines are written through it too. */
export function runPrimary(cfg: Config, logger: Logger, sink: LogSink): void {
  const state = createClusterState(cfg);
  const held = new Int32Array(state.held);
  const counter = new ConnectionCounter({
    max: cfg.maxConnections,
    maxPerIp: cfg.maxConnectionsPerIp,
    shared: state.counter,
  });
  const board = new MetricsBoard(state.board);
  // Quotas without REDIS_URL hold for the process, whichever thread a caller's sessions land on.
  const days = new ProcessDays();
  const workers: Array<Worker | null> = new Array<Worker | null>(cfg.workers).fill(null);
  const crashes: number[] = [];
  const resourceLimits = relayWorkerLimits();
  let listening = 0;
  let started = false;
  let stopping = false;
  let exitCode = 0;
  // PORT=0 becomes a fixed free port below, before any worker listens.
  let port = cfg.port;
  /** Set while a signal's drain waits for the workers to exit. */
  let drained: ((code: number) => void) | null = null;

  function send(w: Worker, msg: ToWorker): void {
    w.postMessage(msg);
  }

  function spawn(i: number): void {
    // A signal during start-up: no new worker would ever be told to stop.
    if (stopping) return;
    const line = new MessageChannel();
    days.serve(line.port1);
    const workerData: WorkerData = { state, index: i, cfg: { ...cfg, port }, days: line.port2 };
    const w = new Worker(join(__dirname, 'worker.js'), { workerData, resourceLimits, transferList: [line.port2] });
    w.once('exit', () => line.port1.close());
    workers[i] = w;
    w.on('message', (msg: FromWorker) => {
      if (msg.type === 'log') {
        sink.write(msg.line);
      } else if (msg.type === 'failed') {
        if (started) {
          logger.fatal({ worker: i, err: msg.message }, 'worker failed to start');
        } else {
          reportStartFailure(msg.message, logger);
          exitNow();
        }
      } else if (started) {
        logger.info({ worker: i }, 'worker replaced');
      } else {
        if (++listening === 1) {
          port = msg.port;
          for (let k = 1; k < cfg.workers; k++) spawn(k);
        }
        if (listening === cfg.workers) {
          started = true;
          logger.info({ port, host: cfg.host, ...startSummary(cfg) }, 'voice-live-proxy listening');
          warnUnboundedSocketBuffers(logger);
        }
      }
    });
    w.on('error', (err) => logger.error({ worker: i, err: err.message }, 'worker error'));
    w.on('exit', (code) => onExit(i, code));
  }

  function onExit(i: number, code: number): void {
    workers[i] = null;
    if (stopping) {
      if (workers.every((w) => w === null)) {
        // Node emits a worker's `exit` only after delivering its messages, so
        // every line it logged has been written (or queued) by now.
        if (exitCode === 0) logger.info({ logLinesDropped: sink.dropped }, 'shutdown complete');
        if (drained !== null) drained(exitCode);
        else exitAfterFlush(exitCode, sink);
      }
      return;
    }
    // Its sockets died with it: give their capacity slots back, keep its counters.
    const lost = Atomics.exchange(held, i, 0);
    counter.forfeit(lost);
    BufferBudget.forfeit(state.budget, i);
    board.retire(i);
    logger.error({ worker: i, code, sessionsLost: lost }, 'worker exited; replacing it');
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && now - crashes[0] > 60_000) crashes.shift();
    if (!started || crashes.length > MAX_CRASHES_PER_MINUTE) {
      logger.fatal({ crashes: crashes.length }, 'workers keep failing; exiting');
      exitNow();
      return;
    }
    spawn(i);
  }

  /**
   * Exit 1 without draining. Workers close their uWS sockets first: a thread
   * torn down with uWS handles open makes Node abort the whole process.
   */
  function exitNow(): void {
    stopping = true;
    exitCode = 1;
    for (const w of workers) if (w !== null) send(w, { type: 'abort' });
    if (workers.every((w) => w === null)) exitAfterFlush(1, sink);
    // A worker that does not answer is torn down by process.exit itself. Not a
    // self-SIGKILL: as PID 1 in a container the kernel ignores that.
    setTimeout(() => process.exit(1), ABORT_DEADLINE_MS).unref();
  }

  // A fixed port is checked first: the workers' SO_REUSEPORT would let them
  // join another process's socket. PORT=0 is turned into a free port here,
  // not by the first worker: uWS sets SO_REUSEPORT only on a non-zero port,
  // so the others could not join a port the first one was given by the kernel.
  probePort(cfg.host, port).then(
    (bound) => {
      port = bound;
      spawn(0);
    },
    (err: Error) => {
      reportStartFailure(err.message, logger);
      exitNow();
    },
  );

  shutdownOnSignals({
    sink,
    drain(signal) {
      stopping = true;
      logger.info({ signal, graceMs: cfg.shutdownGraceMs, sessions: counter.active }, 'draining');
      // Resolved by onExit once the last worker has exited.
      return new Promise<number>((resolve) => {
        drained = resolve;
        for (const w of workers) if (w !== null) send(w, { type: 'shutdown', graceMs: cfg.shutdownGraceMs });
        if (workers.every((w) => w === null)) resolve(exitCode);
      });
    },
    now(signal) {
      logger.warn({ signal }, 'second signal: exiting now');
      exitNow();
    },
  });
}
