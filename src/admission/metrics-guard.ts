// Who may read /metrics. The counters tell an outsider how busy the
// proxy is, which refusals it makes and how its upstream behaves, so:
// - METRICS_TOKEN set: `Authorization: Bearer <token>` required, compared in
//   constant time before anything else; config refuses a token shorter than
//   32 characters, which is what makes guessing hopeless. The right token is
//   always served.
// - No token, listening on loopback only: served to a peer whose socket
//   address is loopback and whose request carries no forwarding header. A
//   reverse proxy on the same host connects from loopback too; the header
//   it adds is what tells its requests apart (decided by the socket and the
//   request itself, never by TRUST_PROXY, which is about who the client is).
// - No token, listening beyond loopback: refused with 403 `metrics_disabled`.
// Wrong tokens, and only wrong tokens, spend a small per-client bucket; once
// it is empty a wrong token gets 429, so a scanner shows up as
// http_rate_limited. A right token is never refused: whoever shares the
// scraper's address cannot lock it out. With worker threads the buckets are
// shared, so the allowance does not multiply by WORKERS.
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config';
import { IPV4, IPV6, parseRemote, type RemoteAddress } from './ip';
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

/**
 * Headers a proxy adds to say whose request it passes on. Any of them means
 * the loopback peer is relaying someone else.
 */
const FORWARDING_HEADERS: readonly string[] = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'via',
];

const scratch = new Uint16Array(8);

/** The socket peer is this machine: 127.0.0.0/8 (IPv4-mapped too) or ::1. */
export function isLoopbackPeer(remote: RemoteAddress): boolean {
  const kind = parseRemote(remote, scratch);
  if (kind === IPV4) return scratch[6] >> 8 === 127;
  if (kind !== IPV6) return false;
  for (let i = 0; i < 7; i++) if (scratch[i] !== 0) return false;
  return scratch[7] === 1;
}

/** Whether a request names no one it was forwarded for: `header(name)` reads one header ('' when absent). */
export function unforwarded(header: (name: string) => string): boolean {
  for (const name of FORWARDING_HEADERS) if (header(name) !== '') return false;
  return true;
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

  /** Whether check() needs to know if the peer is local (no token, loopback HOST); else pass false. */
  get asksPeer(): boolean {
    return this.open;
  }

  /**
   * `localPeer`: the socket peer is loopback and the request carries no
   * forwarding header (isLoopbackPeer, unforwarded); read only when asksPeer.
   */
  check(authorization: string, ipKey: string, localPeer: boolean): MetricsAccess {
    const expected = this.expected;
    if (expected === null) return this.open && localPeer ? 'ok' : 'disabled';
    const given = Buffer.from(authorization);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return 'ok';
    const wait = this.failures.peek(ipKey);
    if (wait > 0) {
      this.retryAfter = wait;
      return 'rate';
    }
    this.failures.take(ipKey);
    return 'unauthorized';
  }
}
