// Who may read /metrics. The counters tell an outsider how busy the
// proxy is, which refusals it makes and how its upstream behaves, so:
// - METRICS_TOKEN set: `Authorization: Bearer <token>` required, compared in
//   constant time; config refuses a token shorter than 32 characters.
// - No token, listening on loopback only: open (local development, a sidecar).
// - No token, listening beyond loopback: refused with 403 `metrics_disabled`.
// Wrong tokens spend a small per-client bucket; once it is empty every
// attempt from that client gets 429 before the token is even compared, so a
// guess costs about six seconds instead of twenty microseconds. With worker
// threads the buckets are shared, so the allowance does not multiply by WORKERS.
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config';
import { SharedRateLimiter } from './shared-rate-limiter';
import { RateLimiter } from './token-bucket';

export type MetricsAccess = 'ok' | 'disabled' | 'unauthorized' | 'rate';

/** Failed attempts allowed per client per minute: a mistyped token, not a search. */
export const METRICS_FAILURES_PER_MINUTE = 10;
const MAX_TRACKED = 10_000;

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return (
    h === 'localhost' ||
    h === '::1' ||
    h === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

export class MetricsGuard {
  /** Seconds to put in Retry-After after a 'rate' answer. */
  retryAfter = 0;
  private readonly expected: Buffer | null;
  private readonly open: boolean;
  private readonly failures: RateLimiter | SharedRateLimiter;

  /** Room for the failure buckets every worker shares (WORKERS > 1). */
  static createShared(): SharedArrayBuffer {
    return SharedRateLimiter.createShared(MAX_TRACKED);
  }

  constructor(cfg: Pick<Config, 'metricsToken' | 'host'>, shared?: SharedArrayBuffer) {
    this.expected = cfg.metricsToken === '' ? null : Buffer.from(`Bearer ${cfg.metricsToken}`);
    this.open = this.expected === null && isLoopbackHost(cfg.host);
    const bucket = { windowMs: 60_000, maxRequests: METRICS_FAILURES_PER_MINUTE };
    this.failures =
      shared === undefined
        ? new RateLimiter({ ...bucket, maxKeys: MAX_TRACKED })
        : new SharedRateLimiter({ ...bucket, shared });
  }

  /** Whether /metrics is served at all without a token (for the start-up log line). */
  get disabled(): boolean {
    return this.expected === null && !this.open;
  }

  check(authorization: string, ipKey: string): MetricsAccess {
    const expected = this.expected;
    if (expected === null) return this.open ? 'ok' : 'disabled';
    const wait = this.failures.peek(ipKey);
    if (wait > 0) {
      this.retryAfter = wait;
      return 'rate';
    }
    const given = Buffer.from(authorization);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return 'ok';
    this.failures.take(ipKey);
    return 'unauthorized';
  }
}
