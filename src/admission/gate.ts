// What admission knows and holds about a client, before any decision: its
// address, the origin policy, the rate buckets, the capacity slots and the
// draining flag. The order in which they decide an upgrade, and the refusal
// each one means, are upgrade/gate-step.ts's (docs/contract.md §4).
//
// Upgrades and plain HTTP routes spend separate buckets: a session
// holds the operator's upstream capacity for minutes, so its burst is smaller
// than the one for cheap HTTP answers. An IPv6 client also spends from its
// wider prefixes (/56, /48, /32 by default), each with a multiple of one /64's
// allowance, so a whole allocation cannot act as 65,536 clients, nor a
// provider's /32 as 65,536 sites.
import type { Config, PrefixLimit } from '../config';
import { ClientIpResolver, rateKey, type RemoteAddress } from './client-ip';
import { ConnectionCounter } from './connection-counter';
import { prefixKey } from './ip';
import { OriginPolicy } from './origin';
import { SharedRateLimiter } from './shared-rate-limiter';
import { RateLimiter } from './token-bucket';

/** State shared by every worker thread (docs/operations.md: Scaling across cores); absent with WORKERS=1. */
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

/** Who sent a request: filled by identify() in every handler. */
export interface ClientIdentity {
  ip: string;
  /** The rate and capacity key: the address, or its /64 for IPv6. */
  ipKey: string;
  /** The client reached us, or our proxy, over TLS. */
  tls: boolean;
}

export function newIdentity(): ClientIdentity {
  return { ip: '', ipKey: '', tls: false };
}

export type SlotRefusal = 'global' | 'ip';

type Limiter = RateLimiter | SharedRateLimiter;

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
  /** TLS_CERT_FILE: every request came over this port's own TLS. */
  private readonly ownTls: boolean;

  constructor(cfg: Config, shared?: SharedAdmission) {
    this.ownTls = cfg.tlsCertFile !== '';
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
  identify(f: RequestFacts, id: ClientIdentity): void {
    id.ip = this.ips.resolve(f.remoteAddress, f.forwardedFor);
    id.ipKey = rateKey(id.ip);
    id.tls = this.ownTls || this.ips.cameOverTls(f.remoteAddress, f.forwardedProto);
  }

  /** A token for a plain HTTP route; returns retry-after seconds or 0. */
  rate(ipKey: string): number {
    return this.take(this.limiter, ipKey);
  }

  /** A token for an upgrade; returns retry-after seconds or 0. */
  rateUpgrade(ipKey: string): number {
    return this.take(this.upgradeLimiter, ipKey);
  }

  /**
   * The global and per-IP capacity slot, then each wider prefix's; all or
   * nothing. On 'ok' the caller holds it and must release() it exactly once.
   */
  acquire(ipKey: string): 'ok' | SlotRefusal {
    const slot = this.acquireSlots(ipKey);
    if (slot === 'ok' && this.held !== null) Atomics.add(this.held, this.index, 1);
    return slot;
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

  private acquireSlots(ipKey: string): 'ok' | SlotRefusal {
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
