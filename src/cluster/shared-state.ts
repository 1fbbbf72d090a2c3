// What the worker threads share, created once by the primary and handed to
// every worker through workerData: the connection counter, the rate-limit
// table, the per-worker slot tally and the metrics board
// (docs/decisions/0010-worker-threads.md).
import type { Config } from '../config';
import type { LogLineMessage } from '../observability/log-sink';
import { ConnectionCounter } from '../admission/connection-counter';
import { SharedRateLimiter } from '../admission/shared-rate-limiter';
import { MetricsBoard } from '../observability/metrics-board';
import { BufferBudget } from '../relay/buffer-budget';
import { ReplayCache } from '../auth/replay-cache';
import { SubjectLimit } from '../auth/subject-limit';
import { MetricsGuard } from '../admission/metrics-guard';

export interface ClusterState {
  readonly workers: number;
  readonly counter: SharedArrayBuffer;
  readonly rate: SharedArrayBuffer;
  /** Upgrades spend their own buckets. */
  readonly upgradeRate: SharedArrayBuffer;
  /** Int32 per worker: capacity slots it holds now. */
  readonly held: SharedArrayBuffer;
  readonly board: SharedArrayBuffer;
  /** The process-wide buffer budget (BUFFER_BUDGET_BYTES): bytes held for slow peers, all workers. */
  readonly budget: SharedArrayBuffer;
  /** Ticket ids already used, and sessions per verified subject (CLIENT_AUTH). */
  readonly replays: SharedArrayBuffer;
  readonly subjects: SharedArrayBuffer;
  /** Wrong /metrics tokens per client, one allowance for the process. */
  readonly metricsFailures: SharedArrayBuffer;
}

export function createClusterState(cfg: Config): ClusterState {
  return {
    workers: cfg.workers,
    counter: ConnectionCounter.createShared(cfg.maxConnections),
    rate: SharedRateLimiter.createShared(cfg.rateLimitMaxKeys),
    upgradeRate: SharedRateLimiter.createShared(cfg.rateLimitMaxKeys),
    held: new SharedArrayBuffer(cfg.workers * Int32Array.BYTES_PER_ELEMENT),
    board: MetricsBoard.createShared(cfg.workers),
    budget: BufferBudget.createShared(cfg.workers),
    // Small unless used: the tables are only sized when CLIENT_AUTH needs them.
    replays: cfg.clientAuth === 'ticket' ? ReplayCache.createShared() : ReplayCache.createShared(32),
    subjects: SubjectLimit.createShared(cfg.maxSessionsPerSubject > 0 ? cfg.maxConnections : 0),
    metricsFailures: MetricsGuard.createShared(),
  };
}

/** Messages between the primary and its workers. */
export type ToWorker = { type: 'shutdown'; graceMs: number } | { type: 'abort' };
export type FromWorker = { type: 'listening'; port: number } | { type: 'failed'; message: string } | LogLineMessage;
