// What the primary hands each worker thread (workerData, a structured clone).
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config';
import type { ClusterState } from './shared-state';

export interface WorkerData {
  readonly state: ClusterState;
  readonly index: number;
  /** The primary's validated configuration, with the port every worker shares. */
  readonly cfg: Config;
  /** This worker's line to the main thread's day totals (usage/process-days.ts), transferred. */
  readonly days: MessagePort;
}
