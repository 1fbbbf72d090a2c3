// Every decision about a client, in order, before the upgrade (docs/contract.md §4):
// draining -> client IP -> rate limit -> origin -> capacity. A refusal is an
// entry of the errors table plus an optional Retry-After; no 101 is ever sent.
import type { Config } from '../config';
import { Errors, type ProxyError } from '../errors';
import { ClientIpResolver, rateKey, type RemoteAddress } from './client-ip';
import { ConnectionCounter } from './connection-counter';
import { OriginPolicy } from './origin';
import { SharedRateLimiter } from './shared-rate-limiter';
import { RateLimiter } from './token-bucket';

/** State shared by every worker thread (README: Scaling across cores); absent with WORKERS=1. */
export interface SharedAdmission {
  readonly counter: SharedArrayBuffer;
  readonly rate: SharedArrayBuffer;
  /** Slots held per worker, so a dead worker's slots can be counted out. */
  readonly held: Int32Array;
  readonly index: number;
}

/** What the upgrade handler read from the request, synchronously. */
export interface RequestFacts {
  /** Socket peer, as uWS bytes (or text); only valid inside the request handler. */
  remoteAddress: RemoteAddress;
  forwardedFor: string;
  forwardedProto: string;
  origin: string;
}

export type Outcome = 'accepted' | 'origin' | 'rate' | 'capacity' | 'ip_capacity' | 'invalid' | 'draining';

export interface Verdict {
  outcome: Outcome;
  error: ProxyError | null;
  retryAfter: number;
  ip: string;
  ipKey: string;
  tls: boolean;
}

/** Seconds a client refused for capacity should wait: long enough to let a session end. */
const CAPACITY_RETRY_AFTER = 5;

export class AdmissionGate {
  readonly origins: OriginPolicy;
  readonly ips: ClientIpResolver;
  readonly limiter: RateLimiter | SharedRateLimiter;
  private readonly held: Int32Array | null;
  private readonly index: number;
  readonly counter: ConnectionCounter;
  draining = false;

  constructor(cfg: Config, shared?: SharedAdmission) {
    this.origins = new OriginPolicy(cfg);
    this.ips = new ClientIpResolver(cfg.trustProxy);
    const windowMs = cfg.rateLimitWindowMs;
    const maxRequests = cfg.rateLimitMaxRequests;
    this.limiter = shared === undefined
      ? new RateLimiter({ windowMs, maxRequests, maxKeys: cfg.rateLimitMaxKeys })
      : new SharedRateLimiter({ windowMs, maxRequests, shared: shared.rate });
    this.counter = new ConnectionCounter({ max: cfg.maxConnections, maxPerIp: cfg.maxConnectionsPerIp, shared: shared?.counter });
    this.held = shared?.held ?? null;
    this.index = shared?.index ?? 0;
  }

  /** Client IP, rate key and TLS flag for any HTTP request. */
  identify(f: RequestFacts, v: Verdict): void {
    v.ip = this.ips.resolve(f.remoteAddress, f.forwardedFor);
    v.ipKey = rateKey(v.ip);
    v.tls = this.ips.cameOverTls(f.remoteAddress, f.forwardedProto);
  }

  /** Rate limit for plain HTTP routes; returns retry-after seconds or 0. */
  rate(v: Verdict): number {
    return this.limiter.take(v.ipKey);
  }

  /**
   * Decide an upgrade. On 'accepted' a capacity slot is held for v.ipKey and
   * the caller must release it exactly once (release()).
   */
  decideUpgrade(f: RequestFacts, v: Verdict): Verdict {
    this.identify(f, v);
    if (this.draining) return refuse(v, 'draining', Errors.DRAINING, CAPACITY_RETRY_AFTER);
    const wait = this.limiter.take(v.ipKey);
    if (wait > 0) return refuse(v, 'rate', Errors.RATE_LIMITED, wait);
    if (this.origins.check(f.origin) !== 'ok') return refuse(v, 'origin', Errors.ORIGIN_REFUSED, 0);
    const slot = this.counter.tryAcquire(v.ipKey);
    if (slot === 'global') return refuse(v, 'capacity', Errors.AT_CAPACITY, CAPACITY_RETRY_AFTER);
    if (slot === 'ip') return refuse(v, 'ip_capacity', Errors.IP_AT_CAPACITY, CAPACITY_RETRY_AFTER);
    if (this.held !== null) Atomics.add(this.held, this.index, 1);
    v.outcome = 'accepted';
    v.error = null;
    return v;
  }

  release(ipKey: string): void {
    this.counter.release(ipKey);
    if (this.held !== null) Atomics.sub(this.held, this.index, 1);
  }
}

export function newVerdict(): Verdict {
  return { outcome: 'accepted', error: null, retryAfter: 0, ip: '', ipKey: '', tls: false };
}

function refuse(v: Verdict, outcome: Outcome, error: ProxyError, retryAfter: number): Verdict {
  v.outcome = outcome;
  v.error = error;
  v.retryAfter = retryAfter;
  return v;
}
