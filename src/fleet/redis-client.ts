// The Redis connection for the fleet, with every call bounded in time.
//
// ioredis rather than node-redis: `defineCommand` sends a script as EVALSHA
// and falls back to EVAL by itself when a restarted Redis has lost its script
// cache (which happens on every restart without persistence); it has a
// per-command timeout (`commandTimeout`) and lets us turn the offline queue
// off, so a call made while Redis is away fails at once instead of waiting
// in memory; it reconnects forever with our backoff; `rediss://` turns on
// TLS from the URL alone. node-redis can do most of this, but its command
// timeouts and offline-queue behaviour took more code to bound.
import Redis from 'ioredis';
import { ACQUIRE, RELEASE, RENEW } from './scripts';
import { USAGE_ADD, USAGE_READ } from './usage-scripts';

/** The scripts as commands (ioredis `defineCommand` adds these methods). */
export interface FleetRedis {
  vlpAcquire(...args: Array<string | number>): Promise<[number, number]>;
  vlpRenew(...args: string[]): Promise<number>;
  vlpRelease(...args: string[]): Promise<number>;
  /** usage-scripts.ts: the totals per caller after the add, [audio, tokens, ...]. */
  vlpUsageAdd(...args: Array<string | number>): Promise<number[]>;
  /** usage-scripts.ts: [audio, tokens, retryAfterSeconds]. */
  vlpUsageRead(...args: Array<string | number>): Promise<[number, number, number]>;
  pipeline(): FleetPipeline;
  readonly status: string;
  on(event: 'ready' | 'error' | 'close', fn: (err?: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface FleetPipeline {
  vlpRenew(...args: string[]): FleetPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** Reconnect backoff: quick at first (a failover), then every 2 s at most. */
function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

export function createFleetRedis(url: string, timeoutMs: number): FleetRedis {
  const client = new Redis(url, {
    commandTimeout: timeoutMs,
    // A connect that hangs (a black-holed address) is given up and retried.
    connectTimeout: Math.max(1000, timeoutMs * 4),
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail rather than being resent later.
    maxRetriesPerRequest: 0,
    retryStrategy: retryDelay,
    // The scripts are loaded by the first EVALSHA miss; no other startup work.
    enableReadyCheck: true,
    lazyConnect: false,
  });
  client.defineCommand('vlpAcquire', { numberOfKeys: 0, lua: ACQUIRE });
  client.defineCommand('vlpRenew', { numberOfKeys: 0, lua: RENEW });
  client.defineCommand('vlpRelease', { numberOfKeys: 0, lua: RELEASE });
  client.defineCommand('vlpUsageAdd', { numberOfKeys: 0, lua: USAGE_ADD });
  client.defineCommand('vlpUsageRead', { numberOfKeys: 0, lua: USAGE_READ });
  return client as unknown as FleetRedis;
}
