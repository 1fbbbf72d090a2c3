// Limits that hold across every replica (docs/contract.md §6): the per-IP token bucket,
// MAX_CONNECTIONS_PER_IP (and both for each wider IPv6 prefix of IPV6_PREFIX_LIMITS),
// MAX_SESSIONS_PER_SUBJECT and FLEET_MAX_SESSIONS,
// decided in Redis by one script per upgrade (scripts.ts).
//
// Sessions are leases. This replica keeps its own in `leases` and renews them
// all every FLEET_LEASE_MS / 3 in one pipelined call, so a replica that is
// killed stops renewing and its sessions drop out of every count within
// FLEET_LEASE_MS. The renewal re-adds what it sends, which also restores the
// counts after a Redis restart that lost them (and is the heartbeat that
// notices Redis is back).
//
// Redis away or slow: every call is bounded by FLEET_REDIS_TIMEOUT_MS. The
// first failure turns the state to down (one log line, one counter); while
// down, upgrades are decided locally at once (FLEET_ON_REDIS_DOWN=open:
// admitted on the process's own limits, counted; closed: refused 503) without
// touching Redis, and the renewal loop (or ioredis's `ready`) probes until a
// call succeeds and the state turns up again. Nothing here throws to the caller.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrefixLimit } from '../config';
import { prefixKey } from '../admission/ip';
import type { FleetRedis } from './redis-client';

/** What admission knows about the caller: its rate key, and its verified subject when there is one. */
export interface AcquireRequest {
  readonly ipKey: string;
  /** Verified caller identity (CLIENT_AUTH); '' or absent = not counted per subject. */
  readonly subject?: string;
  /** A ticket's replay key and expiry (seconds): claimed once across the fleet. */
  readonly ticket?: { readonly id: string; readonly untilS: number };
}

export type FleetVerdict = 'ok' | 'rate' | 'fleet' | 'ip' | 'subject' | 'replayed' | 'unavailable';

export interface FleetDecision {
  readonly verdict: FleetVerdict;
  /** Seconds for Retry-After (rate limit), else 0. */
  readonly retryAfter: number;
  /** Held on 'ok': give it back with release() exactly once. */
  readonly lease: Lease | null;
}

/** One admitted session's entry in the fleet's counts. */
export class Lease {
  constructor(
    readonly id: string,
    /** The sets it is counted in (fleet, address, each IPv6 prefix, subject). */
    readonly keys: readonly string[],
  ) {}
}

/** The counters the fleet bumps (the metrics registry satisfies this shape). */
export interface FleetMetrics {
  fleetEnabled: number;
  fleetRedisUp: number;
  fleetLeases: number;
  fleetRedisErrors: number;
  fleetRedisUps: number;
  fleetRedisDowns: number;
  fleetLocalAdmits: number;
}

export interface FleetOptions {
  readonly prefix: string;
  readonly leaseMs: number;
  readonly onRedisDown: 'open' | 'closed';
  /** Token bucket (0 = none): the same values as the local limiter. */
  readonly rateBurst: number;
  readonly rateWindowMs: number;
  readonly maxSessions: number;
  readonly maxPerIp: number;
  readonly maxPerSubject: number;
  /** IPV6_PREFIX_LIMITS: an IPv6 client also spends from and counts in each wider prefix. */
  readonly prefixes?: readonly PrefixLimit[];
}

/** Leases per renewal script call; the calls of one renewal go out as one pipeline. */
const RENEW_CHUNK = 1000;

/** While Redis is down, how often it is probed. */
const PROBE_MS = 1000;

const CODES: readonly FleetVerdict[] = ['ok', 'rate', 'fleet', 'ip', 'subject', 'replayed'];

type State = 'unknown' | 'up' | 'down';

export class FleetLimiter {
  /** This replica's leases, by id. */
  readonly leases = new Map<string, Lease>();
  private readonly replicaId = randomBytes(6).toString('hex');
  private seq = 0;
  private state: State = 'unknown';
  private renewing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly fleetKey: string;
  private readonly baseArgs: Array<string | number>;

  constructor(
    readonly opts: FleetOptions,
    /** Also the connection the usage totals use (usage/fleet-usage.ts): one per replica. */
    readonly redis: FleetRedis,
    private readonly log: Logger,
    private readonly metrics: FleetMetrics,
  ) {
    metrics.fleetEnabled = 1;
    this.fleetKey = opts.maxSessions > 0 ? `${opts.prefix}fleet` : '';
    this.baseArgs = [
      opts.prefix,
      '',
      opts.leaseMs,
      opts.rateBurst,
      opts.rateWindowMs,
      '',
      opts.maxSessions,
      opts.maxPerIp,
      '',
      opts.maxPerSubject,
      '',
      0,
    ];
    // ioredis reports errors as events too; without a listener it prints them.
    // The state change is logged by the call that fails, once.
    redis.on('error', () => {
      /* counted where a call fails */
    });
    redis.on('ready', () => {
      void this.renew();
    });
    // One tick a second at most: renew every leaseMs / 3 while up, and probe
    // on every tick while down, so a recovered Redis is seen within a second.
    const renewEvery = Math.max(1, Math.round(opts.leaseMs / 3 / PROBE_MS));
    const tickMs = Math.min(PROBE_MS, Math.floor(opts.leaseMs / 3));
    let ticks = 0;
    this.timer = setInterval(() => {
      if (++ticks >= renewEvery || this.state !== 'up') {
        ticks = 0;
        void this.renew();
      }
    }, tickMs);
    this.timer.unref();
  }

  /** True while the last Redis call succeeded. */
  get up(): boolean {
    return this.state === 'up';
  }

  /**
   * Decide an upgrade across the fleet: one script, one round trip. Never
   * rejects: a Redis failure is decided by FLEET_ON_REDIS_DOWN.
   */
  async acquire(req: AcquireRequest): Promise<FleetDecision> {
    const subject = req.subject ?? '';
    const o = this.opts;
    const keys: string[] = [];
    if (this.fleetKey !== '') keys.push(this.fleetKey);
    if (o.maxPerIp > 0) keys.push(`${o.prefix}ip:${req.ipKey}`);
    if (o.maxPerSubject > 0 && subject !== '') keys.push(`${o.prefix}sub:${subject}`);
    const prefixes = o.prefixes ?? [];
    const wider: Array<string | number> = [];
    if (prefixes.length > 0 && req.ipKey.endsWith('/64')) {
      for (const p of prefixes) {
        const key = prefixKey(req.ipKey, p.bits);
        if (key === '') continue;
        const max = o.maxPerIp * p.factor;
        wider.push(key, max, p.factor);
        if (max > 0) keys.push(`${o.prefix}ip:${key}`);
      }
    }
    const lease = new Lease(`${this.replicaId}:${++this.seq}`, keys);
    if (this.state !== 'up') return this.fallback(lease, false);
    const args = this.baseArgs.slice();
    args[1] = lease.id;
    args[5] = req.ipKey;
    args[8] = subject;
    if (req.ticket !== undefined) {
      args[10] = req.ticket.id;
      args[11] = req.ticket.untilS;
    }
    for (const w of wider) args.push(w);
    try {
      const [code, wait] = await this.redis.vlpAcquire(...args);
      this.markUp();
      if (code !== 0) return { verdict: CODES[code] ?? 'unavailable', retryAfter: wait, lease: null };
      this.hold(lease);
      return { verdict: 'ok', retryAfter: 0, lease };
    } catch (err) {
      this.markDown(err);
      // The script may have run before the timeout fired: in open mode the
      // renewal keeps the lease (it is real); in closed mode it expires.
      return this.fallback(lease, true);
    }
  }

  /** Give a lease back (session closed, or the upgrade was abandoned). Idempotent. */
  release(lease: Lease): void {
    if (!this.leases.delete(lease.id)) return;
    this.metrics.fleetLeases = this.leases.size;
    if (this.closed) return;
    // Sent even while down (it fails at once when disconnected): a Redis that
    // is only slow still frees the place. If it is lost, the lease is no
    // longer renewed and expires.
    this.redis.vlpRelease(lease.id, ...lease.keys).catch((err: unknown) => this.markDown(err));
  }

  /** Renew every lease this replica holds: one pipeline, whatever the count. */
  async renew(): Promise<void> {
    if (this.renewing || this.closed) return;
    this.renewing = true;
    try {
      const p = this.redis.pipeline();
      let args: string[] = [String(this.opts.leaseMs)];
      let inChunk = 0;
      for (const l of this.leases.values()) {
        args.push(l.id, String(l.keys.length), ...l.keys);
        if (++inChunk >= RENEW_CHUNK) {
          p.vlpRenew(...args);
          args = [String(this.opts.leaseMs)];
          inChunk = 0;
        }
      }
      // Always at least one call, even with no leases: it is the probe that finds Redis back.
      if (args.length > 1 || this.leases.size === 0) p.vlpRenew(...args);
      const results = await p.exec();
      const failed = results?.find(([e]) => e !== null);
      if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('pipeline aborted');
      this.markUp();
    } catch (err) {
      this.markDown(err);
    } finally {
      this.renewing = false;
    }
  }

  /** Stop renewing, give back what is left in one call, close the connection (bounded). */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    const left = [...this.leases.values()];
    this.leases.clear();
    this.metrics.fleetLeases = 0;
    if (this.state === 'up' && left.length > 0) {
      await Promise.all(left.map((l) => this.redis.vlpRelease(l.id, ...l.keys))).catch(() => {
        /* they expire */
      });
    }
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** For a dying thread: drop the connection now (the leases expire). */
  abort(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.redis.disconnect();
  }

  private hold(lease: Lease): void {
    this.leases.set(lease.id, lease);
    this.metrics.fleetLeases = this.leases.size;
  }

  private fallback(lease: Lease, sentToRedis: boolean): FleetDecision {
    if (this.opts.onRedisDown === 'open') {
      this.metrics.fleetLocalAdmits++;
      this.hold(lease);
      return { verdict: 'ok', retryAfter: 0, lease };
    }
    if (sentToRedis) this.redis.vlpRelease(lease.id, ...lease.keys).catch(() => {});
    return { verdict: 'unavailable', retryAfter: 0, lease: null };
  }

  /** A call of another fleet user (the usage totals) succeeded or failed: the same up/down state. */
  noteAnswer(): void {
    this.markUp();
  }

  noteFailure(err: unknown): void {
    this.markDown(err);
  }

  private markUp(): void {
    if (this.state === 'up') return;
    this.state = 'up';
    this.metrics.fleetRedisUp = 1;
    this.metrics.fleetRedisUps++;
    this.log.info({ leases: this.leases.size }, 'fleet: redis up, limits shared across replicas');
  }

  private markDown(err: unknown): void {
    this.metrics.fleetRedisErrors++;
    if (this.state === 'down' || this.closed) return;
    this.state = 'down';
    this.metrics.fleetRedisUp = 0;
    this.metrics.fleetRedisDowns++;
    // The message only: ioredis errors name host and port, never the password.
    this.log.warn(
      { error: err instanceof Error ? err.message : String(err), onRedisDown: this.opts.onRedisDown },
      this.opts.onRedisDown === 'open'
        ? "fleet: redis unavailable, deciding on this replica's own limits"
        : 'fleet: redis unavailable, refusing new sessions',
    );
  }
}
