// Every decision about a client, in order, before the upgrade (docs/contract.md §4):
// draining -> client IP -> rate limit -> origin -> capacity. A refusal is an
// entry of the errors table plus an optional Retry-After; no 101 is ever sent.
//
// Upgrades and plain HTTP routes spend separate buckets: a session
// holds the operator's upstream capacity for minutes, so its burst is smaller
// than the one for cheap HTTP answers. An IPv6 client also spends from its
// wider prefixes (/56, /48 by default), each with a multiple of one /64's
// allowance, so a whole allocation cannot act as 65,536 clients.
import type { Config, PrefixLimit } from '../config';
import { Errors, type ProxyError } from '../errors';
import { ClientIpResolver, rateKey, type RemoteAddress } from './client-ip';
import { ConnectionCounter } from './connection-counter';
import { prefixKey } from './ip';
import { OriginPolicy } from './origin';
import { SharedRateLimiter } from './shared-rate-limiter';
import { RateLimiter } from './token-bucket';

/** State shared by every worker thread (README: Scaling across cores); absent with WORKERS=1. */
export interface SharedAdmission {
  readonly counter: SharedArrayBuffer;
  /** Buckets for plain HTTP routes. */
  readonly rate: SharedArrayBuffer;
  /** Buckets for WebSocket upgrades. */
  readonly upgradeRate: SharedArrayBuffer;
  /** Slots held per worker, so a dead worker's slots can be counted out. */
  readonly held: Int32Array;
  readonly index: number;
  /** Single-use ticket ids (auth/replay-cache.ts). */
  readonly replays?: SharedArrayBuffer;
  /** Sessions per verified subject (auth/subject-limit.ts). */
  readonly subjects?: SharedArrayBuffer;
  /** Wrong /metrics tokens per client (admission/metrics-guard.ts). */
  readonly metricsFailures?: SharedArrayBuffer;
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

type Limiter = RateLimiter | SharedRateLimiter;

/** Seconds a client refused for capacity should wait: long enough to let a session end. */
const CAPACITY_RETRY_AFTER = 5;

export class AdmissionGate {
  readonly origins: OriginPolicy;
  readonly ips: ClientIpResolver;
  /** Buckets for plain HTTP routes. */
  readonly limiter: Limiter;
  /** Buckets for upgrades. */
  readonly upgradeLimiter: Limiter;
  readonly counter: ConnectionCounter;
  private readonly held: Int32Array | null;
  private readonly index: number;
  private readonly prefixes: readonly PrefixLimit[];
  private readonly maxPerIp: number;
  draining = false;

  constructor(cfg: Config, shared?: SharedAdmission) {
    this.origins = new OriginPolicy(cfg);
    this.ips = new ClientIpResolver(cfg.trustProxy);
    this.limiter = limiter(cfg.rateLimitWindowMs, cfg.rateLimitMaxRequests, cfg.rateLimitMaxKeys, shared?.rate);
    this.upgradeLimiter = limiter(
      cfg.upgradeRateLimitWindowMs,
      cfg.upgradeRateLimitMaxRequests,
      cfg.rateLimitMaxKeys,
      shared?.upgradeRate,
    );
    this.counter = new ConnectionCounter({
      max: cfg.maxConnections,
      maxPerIp: cfg.maxConnectionsPerIp,
      shared: shared?.counter,
    });
    this.maxPerIp = cfg.maxConnectionsPerIp;
    this.prefixes = cfg.ipv6PrefixLimits;
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
    return this.take(this.limiter, v.ipKey);
  }

  /**
   * Decide an upgrade. On 'accepted' a capacity slot is held for v.ipKey and
   * the caller must release it exactly once (release()).
   */
  decideUpgrade(f: RequestFacts, v: Verdict): Verdict {
    this.identify(f, v);
    if (this.draining) return refuse(v, 'draining', Errors.DRAINING, CAPACITY_RETRY_AFTER);
    const wait = this.take(this.upgradeLimiter, v.ipKey);
    if (wait > 0) return refuse(v, 'rate', Errors.RATE_LIMITED, wait);
    if (this.origins.check(f.origin) !== 'ok') return refuse(v, 'origin', Errors.ORIGIN_REFUSED, 0);
    const slot = this.acquire(v.ipKey);
    if (slot === 'global') return refuse(v, 'capacity', Errors.AT_CAPACITY, CAPACITY_RETRY_AFTER);
    if (slot === 'ip') return refuse(v, 'ip_capacity', Errors.IP_AT_CAPACITY, CAPACITY_RETRY_AFTER);
    if (this.held !== null) Atomics.add(this.held, this.index, 1);
    v.outcome = 'accepted';
    v.error = null;
    return v;
  }

  release(ipKey: string): void {
    this.counter.release(ipKey);
    if (this.maxPerIp > 0 && ipKey.endsWith('/64')) {
      for (const p of this.prefixes) this.counter.releaseKey(prefixKey(ipKey, p.bits));
    }
    if (this.held !== null) Atomics.sub(this.held, this.index, 1);
  }

  /** A token from the client's own bucket and, for IPv6, from each wider prefix's. */
  private take(l: Limiter, ipKey: string): number {
    let wait = l.take(ipKey);
    if (wait > 0 || !ipKey.endsWith('/64')) return wait;
    for (const p of this.prefixes) {
      wait = l.take(prefixKey(ipKey, p.bits), p.factor);
      if (wait > 0) return wait;
    }
    return 0;
  }

  /** The global and per-IP slot, then each wider prefix's; all or nothing. */
  private acquire(ipKey: string): 'ok' | 'global' | 'ip' {
    const slot = this.counter.tryAcquire(ipKey);
    if (slot !== 'ok' || this.maxPerIp === 0 || !ipKey.endsWith('/64')) return slot;
    const prefixes = this.prefixes;
    for (let i = 0; i < prefixes.length; i++) {
      const got = this.counter.acquireKey(prefixKey(ipKey, prefixes[i].bits), this.maxPerIp * prefixes[i].factor);
      if (got !== 'ok') {
        for (let j = 0; j < i; j++) this.counter.releaseKey(prefixKey(ipKey, prefixes[j].bits));
        this.counter.release(ipKey);
        return got;
      }
    }
    return 'ok';
  }
}

function limiter(
  windowMs: number,
  maxRequests: number,
  maxKeys: number,
  shared: SharedArrayBuffer | undefined,
): Limiter {
  return shared === undefined
    ? new RateLimiter({ windowMs, maxRequests, maxKeys })
    : new SharedRateLimiter({ windowMs, maxRequests, shared });
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
