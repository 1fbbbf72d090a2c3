// Usage per caller per rolling day, and the quotas on it (docs/cost-control.md).
// A caller is its verified subject with CLIENT_AUTH, else its address (an IPv6
// client: its /64), as admission already keys them (callerKey).
//
// The meter tells this sink, on the relay's hot paths, what each session used;
// here it is added to the caller's account (numbers only) and compared with
// the quotas. Where the day's totals live (a DayStore, day-store.ts):
//   - with REDIS_URL, in Redis for the whole fleet (fleet/usage-scripts.ts);
//   - without it and with worker threads, in the main thread for the process
//     (process-days.ts);
//   - with neither, in this one relay thread (day-window.ts buckets): exact.
//   With a store, each thread adds what its sessions used every QUOTA_FLUSH_MS,
//   and sooner once a session's unflushed use reaches 1/50 of a quota; each add
//   answers the new totals (a caller with live sessions is in every add, used
//   or not). So a thread sees the others' use at most one flush late, every
//   session of a caller over its quota ends within a flush wherever it runs,
//   and a killed replica loses at most one flush of its use.
// A session that crosses a quota finishes the response in progress (at most
// QUOTA_GRACE_MS), then gets an `error` event `quota_exhausted` and a 1008
// close; the next upgrade is refused 429 with Retry-After (upgrade/quota-step.ts).
import type { Logger } from 'pino';
import type { Config } from '../config';
import { Errors, errorEvent } from '../errors';
import { FleetDayStore } from '../fleet/fleet-day-store';
import type { FleetLimiter } from '../fleet/fleet-limiter';
import type { Session } from '../relay/session';
import type { MessagePort } from 'node:worker_threads';
import type { DayStore } from './day-store';
import { exhausted, hourOf, HourBuckets, secondsUntilUnder, type DayTotals, type QuotaLimits } from './day-window';
import { ProcessDayClient } from './process-days';
import type { SessionUsage, UsageSink } from './usage-sink';

export interface QuotaOptions {
  readonly limits: QuotaLimits;
  readonly graceMs: number;
  readonly flushMs: number;
}

/** The counters quotas bump (the metrics registry satisfies this shape). */
export interface QuotaMetrics {
  quotaCloses: number;
}

/** What a caller used over the rolling day, and when it may come back when over a quota. */
export interface CallerUsage extends DayTotals {
  /** Seconds until enough of the window frees up (0: under every quota). */
  retryAfterS: number;
}

/** While Redis is down (FLEET_ON_REDIS_DOWN=open), a caller known here to be over waits this long. */
const DOWN_RETRY_S = 60;
/** The share of a quota at which a caller is logged as near it (the alert in docs/cost-control.md). */
const NEAR_SHARE = 0.8;
/** Callers per add script call; the calls of one flush go out together. */
const FLUSH_CHUNK = 100;
/** A session's unflushed use that triggers a flush before the next tick: this share of a quota. */
const EARLY_FLUSH_SHARE = 50;

const QUOTA_EVENT = errorEvent(Errors.QUOTA_EXHAUSTED_SESSION);

/** The caller a session's usage is counted for: its verified subject, else its address key. */
export function callerKey(subject: string, ipKey: string): string {
  return subject !== '' ? `sub:${subject}` : `ip:${ipKey}`;
}

/** One caller seen by this thread: its known day totals and what is not in them yet. */
class Account {
  /** The day's totals as last known: this thread's buckets, or the store's at the last add. */
  audioMs = 0;
  tokens = 0;
  /** Counted since the last flush. */
  pendingAudio = 0;
  pendingTokens = 0;
  /** Sent to the store, not answered yet. */
  sentAudio = 0;
  sentTokens = 0;
  /** Its live sessions on this thread. */
  readonly holds: Hold[] = [];
  /** A quota was reached: its sessions are ending. */
  over = false;
  /** NEAR_SHARE of a quota was reached (logged once while the account lives). */
  near = false;

  constructor(readonly key: string) {}
}

/** One live session's place in its caller's account. */
export class Hold {
  inResponse = false;
  /** The quota was crossed: it ends once the response in progress is done (or the grace is over). */
  ending = false;
  ended = false;
  /** The grace for the response in progress. */
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly session: Session,
    readonly account: Account,
  ) {}
}

export class Quotas implements UsageSink<Session> {
  readonly limits: QuotaLimits;
  /** The day's totals are kept beyond this thread: the fleet's (REDIS_URL) or the process's (WORKERS > 1). */
  readonly shared: boolean;
  private readonly accounts = new Map<string, Account>();
  /** Without a store: each caller's hourly buckets. */
  private readonly local = new Map<string, HourBuckets>();
  private readonly earlyAudio: number;
  private readonly earlyTokens: number;
  private readonly timer: NodeJS.Timeout;
  private flushing = false;
  private flushQueued = false;
  private closed = false;
  private readonly flushBound: () => void;
  /** The socket an error event is being sent to: cork() runs its callback synchronously. */
  private sending: Session | null = null;
  private readonly sendBound: () => void;
  private readonly scratch: DayTotals = { audioMs: 0, tokens: 0 };
  /**
   * With a store: the totals the last upgrade check read, for the
   * session it admits to start from (one slot: a check and its open follow
   * each other; a mismatch only means the session learns them at its first flush).
   */
  private seedKey = '';
  private readonly seed: DayTotals = { audioMs: 0, tokens: 0 };

  constructor(
    private readonly opts: QuotaOptions,
    private readonly store: DayStore | null,
    private readonly log: Logger,
    private readonly metrics: QuotaMetrics,
  ) {
    this.limits = opts.limits;
    this.shared = store !== null;
    this.earlyAudio = opts.limits.audioMs > 0 ? opts.limits.audioMs / EARLY_FLUSH_SHARE : Infinity;
    this.earlyTokens = opts.limits.tokens > 0 ? opts.limits.tokens / EARLY_FLUSH_SHARE : Infinity;
    this.flushBound = () => void this.flush();
    this.sendBound = () => this.sending?.client?.send(QUOTA_EVENT, false);
    this.timer = setInterval(this.flushBound, opts.flushMs);
    this.timer.unref();
  }

  /** Any quota on (else only the fleet's day totals are kept). */
  get enforcing(): boolean {
    return this.limits.audioMs > 0 || this.limits.tokens > 0;
  }

  /** An admitted session starts counting for `key` (callerKey). */
  sessionOpened(s: Session, key: string): void {
    const a = this.account(key);
    const h = new Hold(s, a);
    // Kept on the session: the hot paths find it without a lookup.
    s.quotaHold = h;
    a.holds.push(h);
    if (a.over) this.startEnding(h);
  }

  // --- UsageSink: the relay's hot paths. Numbers and comparisons only. ---

  audioAdded(s: Session, audioMs: number): void {
    const h = s.quotaHold;
    if (h === null) return;
    h.account.pendingAudio += audioMs;
    this.check(h.account);
  }

  responseStarted(s: Session): void {
    const h = s.quotaHold;
    if (h !== null) h.inResponse = true;
  }

  responseDone(s: Session, tokens: number): void {
    const h = s.quotaHold;
    if (h === null) return;
    h.inResponse = false;
    h.account.pendingTokens += tokens;
    this.check(h.account);
    // The response it was allowed to finish is done: now it is told and closed.
    if (h.ending && !h.ended) {
      if (h.timer !== null) clearTimeout(h.timer);
      h.timer = null;
      setImmediate(endHold, this, h);
    }
  }

  sessionFinished(s: Session, _usage: SessionUsage): void {
    const h = s.quotaHold;
    if (h === null) return;
    s.quotaHold = null;
    h.ended = true;
    if (h.timer !== null) clearTimeout(h.timer);
    const list = h.account.holds;
    list.splice(list.indexOf(h), 1);
  }

  // --- Upgrades and reads. ---

  /** Without a store: seconds until `key` may connect (0: now). */
  checkLocal(key: string, nowMs = Date.now()): number {
    return this.readLocal(key, nowMs).retryAfterS;
  }

  /**
   * With a store: seconds until `key` may connect (0: now), or -1 when Redis
   * cannot answer and FLEET_ON_REDIS_DOWN=closed. Never rejects.
   */
  async checkShared(key: string): Promise<number> {
    if (!this.enforcing) return 0;
    const u = await this.readShared(key);
    return u === null ? -1 : u.retryAfterS;
  }

  /** The caller's day: the store's (null when Redis cannot answer and FLEET_ON_REDIS_DOWN=closed), else this thread's. */
  async read(key: string): Promise<CallerUsage | null> {
    return this.shared ? this.readShared(key) : this.readLocal(key, Date.now());
  }

  /** Add what is left to the day's totals and stop (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  /** For a dying thread: stop without a last flush (its unflushed use is lost). */
  abort(): void {
    clearInterval(this.timer);
    this.closed = true;
  }

  // --- Internals. ---

  private account(key: string): Account {
    let a = this.accounts.get(key);
    if (a === undefined) {
      a = new Account(key);
      const b = this.local.get(key);
      if (b !== undefined) {
        b.totals(hourOf(Date.now()), this.scratch);
        a.audioMs = this.scratch.audioMs;
        a.tokens = this.scratch.tokens;
      } else if (this.seedKey === key) {
        a.audioMs = this.seed.audioMs;
        a.tokens = this.seed.tokens;
        this.seedKey = '';
      }
      a.over = this.enforcing && exhausted(usageOf(a, this.scratch), this.limits);
      this.accounts.set(key, a);
    }
    return a;
  }

  private check(a: Account): void {
    if (a.over) return;
    const l = this.limits;
    const audio = a.audioMs + a.sentAudio + a.pendingAudio;
    const tokens = a.tokens + a.sentTokens + a.pendingTokens;
    if ((l.audioMs > 0 && audio >= l.audioMs) || (l.tokens > 0 && tokens >= l.tokens)) {
      this.crossed(a, audio, tokens);
    } else if (
      !a.near &&
      ((l.audioMs > 0 && audio >= l.audioMs * NEAR_SHARE) || (l.tokens > 0 && tokens >= l.tokens * NEAR_SHARE))
    ) {
      // Once per account, not per frame.
      a.near = true;
      this.log.info({ caller: a.key, audioMs: Math.round(audio), tokens }, 'caller near daily quota');
    } else if (
      this.shared &&
      !this.flushQueued &&
      (a.pendingAudio >= this.earlyAudio || a.pendingTokens >= this.earlyTokens)
    ) {
      this.flushQueued = true;
      setImmediate(this.flushBound);
    }
  }

  private crossed(a: Account, audio: number, tokens: number): void {
    a.over = true;
    a.near = true;
    this.log.info(
      { caller: a.key, audioMs: Math.round(audio), tokens, sessions: a.holds.length },
      'caller reached daily quota',
    );
    for (const h of a.holds) this.startEnding(h);
  }

  private startEnding(h: Hold): void {
    if (h.ending) return;
    h.ending = true;
    if (h.inResponse) h.timer = setTimeout(endHold, this.opts.graceMs, this, h);
    else setImmediate(endHold, this, h);
  }

  /** Tell the browser why (an `error` event after everything relayed so far), then close both legs 1008. */
  end(h: Hold): void {
    if (h.ended) return;
    h.ended = true;
    if (h.timer !== null) clearTimeout(h.timer);
    h.timer = null;
    const s = h.session;
    if (s.client === null || s.finished) return;
    this.metrics.quotaCloses++;
    s.log.info(s.line({ caller: h.account.key, inResponse: h.inResponse }), 'quota exhausted, closing session');
    // What the upstream sent before (the end of the response) goes first.
    s.relay.outbox.flush();
    this.sending = s;
    s.client.cork(this.sendBound);
    this.sending = null;
    s.relay.fail(s, Errors.QUOTA_EXHAUSTED_SESSION);
  }

  private readLocal(key: string, nowMs: number): CallerUsage {
    const a = this.accounts.get(key);
    const extra: DayTotals = { audioMs: a?.pendingAudio ?? 0, tokens: a?.pendingTokens ?? 0 };
    const b = this.local.get(key);
    const day = b === undefined ? { audioMs: 0, tokens: 0 } : b.totals(hourOf(nowMs), { audioMs: 0, tokens: 0 });
    const retryAfterS = !this.enforcing
      ? 0
      : b === undefined
        ? secondsUntilUnder([], hourOf(nowMs), nowMs, this.limits, extra)
        : b.retryAfterS(nowMs, this.limits, extra);
    return { audioMs: day.audioMs + extra.audioMs, tokens: day.tokens + extra.tokens, retryAfterS };
  }

  private async readShared(key: string): Promise<CallerUsage | null> {
    const store = this.store!;
    const a = this.accounts.get(key);
    // Only what was not sent yet: a store answers in order (one Redis connection, one
    // MessagePort), so an add sent before this read is already in the totals it answers.
    const extraAudio = a === undefined ? 0 : Math.floor(a.pendingAudio);
    const extraTokens = a === undefined ? 0 : Math.floor(a.pendingTokens);
    if (store.up) {
      try {
        const [audioMs, tokens, retryAfterS] = await store.read(key, this.limits, {
          audioMs: extraAudio,
          tokens: extraTokens,
        });
        this.seedKey = key;
        this.seed.audioMs = audioMs;
        this.seed.tokens = tokens;
        // A fresher view than its last flush (unless an add sent after this read is in flight).
        const known = this.accounts.get(key);
        if (known !== undefined && known.sentAudio + known.sentTokens === 0) {
          known.audioMs = audioMs;
          known.tokens = tokens;
        }
        return { audioMs: audioMs + extraAudio, tokens: tokens + extraTokens, retryAfterS };
      } catch {
        // The store noted the failure (Redis down); decided below as FLEET_ON_REDIS_DOWN says.
      }
    }
    if (store.onDown === 'closed') return null;
    // Open: what this replica knows (the fleet's totals at its last add, and its own since).
    if (a === undefined) return { audioMs: extraAudio, tokens: extraTokens, retryAfterS: 0 };
    const day = usageOf(a, { audioMs: 0, tokens: 0 });
    return { ...day, retryAfterS: this.enforcing && exhausted(day, this.limits) ? DOWN_RETRY_S : 0 };
  }

  /** Add every account's unflushed use to the day's totals; forget callers with nothing left here. */
  private async flush(): Promise<void> {
    this.flushQueued = false;
    if (this.flushing || this.closed) return;
    this.flushing = true;
    try {
      if (this.shared) await this.flushShared();
      else this.flushLocal(Date.now());
    } finally {
      this.flushing = false;
    }
    // Use that reached the early share during the round trip goes now, not at the next tick.
    if (this.shared && !this.flushQueued && this.store!.up) {
      for (const a of this.accounts.values()) {
        if (a.pendingAudio >= this.earlyAudio || a.pendingTokens >= this.earlyTokens) {
          this.flushQueued = true;
          setImmediate(this.flushBound);
          break;
        }
      }
    }
  }

  private flushLocal(nowMs: number): void {
    const hour = hourOf(nowMs);
    for (const a of this.accounts.values()) {
      let b = this.local.get(a.key);
      if (a.pendingAudio > 0 || a.pendingTokens > 0) {
        if (b === undefined) this.local.set(a.key, (b = new HourBuckets()));
        b.add(hour, a.pendingAudio, a.pendingTokens);
        a.pendingAudio = 0;
        a.pendingTokens = 0;
      }
      if (b !== undefined) {
        b.totals(hour, this.scratch);
        a.audioMs = this.scratch.audioMs;
        a.tokens = this.scratch.tokens;
      }
      this.settle(a);
    }
    for (const [key, b] of this.local) if (!this.accounts.has(key) && b.idle(hour)) this.local.delete(key);
  }

  private async flushShared(): Promise<void> {
    const store = this.store!;
    const batch: Account[] = [];
    for (const a of this.accounts.values()) {
      // A caller with live sessions is asked even when they used nothing since: another
      // thread or replica may have taken it over the quota, and its sessions end too.
      if (a.pendingAudio >= 1 || a.pendingTokens >= 1 || (this.enforcing && !a.over && a.holds.length > 0))
        batch.push(a);
      else this.settle(a);
    }
    // While Redis is down nothing is sent: the use waits here and goes with the first add after.
    if (batch.length === 0 || !store.up) return;
    const calls: Array<Promise<void>> = [];
    for (let i = 0; i < batch.length; i += FLUSH_CHUNK) calls.push(this.add(store, batch.slice(i, i + FLUSH_CHUNK)));
    await Promise.all(calls);
  }

  private async add(store: DayStore, batch: Account[]): Promise<void> {
    const args: Array<string | number> = [];
    for (const a of batch) {
      // Whole units only (HINCRBY); a fraction stays for the next add.
      a.sentAudio = Math.floor(a.pendingAudio);
      a.sentTokens = Math.floor(a.pendingTokens);
      a.pendingAudio -= a.sentAudio;
      a.pendingTokens -= a.sentTokens;
      args.push(a.key, a.sentAudio, a.sentTokens);
    }
    try {
      const totals = await store.add(args);
      for (let i = 0; i < batch.length; i++) {
        const a = batch[i];
        a.audioMs = totals[2 * i];
        a.tokens = totals[2 * i + 1];
        a.sentAudio = 0;
        a.sentTokens = 0;
        // Another replica's use may have taken this caller over.
        this.check(a);
      }
    } catch {
      // The store noted the failure (Redis down): the use goes with the next add.
      for (const a of batch) {
        a.pendingAudio += a.sentAudio;
        a.pendingTokens += a.sentTokens;
        a.sentAudio = 0;
        a.sentTokens = 0;
      }
    }
  }

  /** After its totals moved: an account with no session and nothing unflushed is forgotten here. */
  private settle(a: Account): void {
    if (a.holds.length === 0 && a.pendingAudio < 1 && a.pendingTokens < 1 && a.sentAudio + a.sentTokens === 0) {
      this.accounts.delete(a.key);
    } else if (a.over && this.enforcing && !exhausted(usageOf(a, this.scratch), this.limits)) {
      // The window moved on (or a reading was stale): sessions already ending still end.
      a.over = false;
    } else if (!a.over) {
      this.check(a);
    }
  }
}

function usageOf(a: Account, out: DayTotals): DayTotals {
  out.audioMs = a.audioMs + a.sentAudio + a.pendingAudio;
  out.tokens = a.tokens + a.sentTokens + a.pendingTokens;
  return out;
}

function endHold(q: Quotas, h: Hold): void {
  q.end(h);
}

/**
 * This thread's quotas and day totals: null when no quota is set and there is
 * no REDIS_URL (nothing would read them). With REDIS_URL the totals are kept
 * for every caller even without a quota, for the operator and GET /usage.
 * `processPort`: with worker threads, this thread's line to the main thread's
 * totals (process-days.ts), used when there is no REDIS_URL.
 */
export function startQuotas(
  cfg: Pick<Config, 'quotaAudioMinutesPerDay' | 'quotaTokensPerDay' | 'quotaGraceMs' | 'quotaFlushMs'>,
  fleet: FleetLimiter | null,
  processPort: MessagePort | null,
  log: Logger,
  metrics: QuotaMetrics,
): Quotas | null {
  const limits = { audioMs: cfg.quotaAudioMinutesPerDay * 60_000, tokens: cfg.quotaTokensPerDay };
  if (limits.audioMs === 0 && limits.tokens === 0 && fleet === null) return null;
  const store: DayStore | null =
    fleet !== null ? new FleetDayStore(fleet) : processPort !== null ? new ProcessDayClient(processPort) : null;
  return new Quotas({ limits, graceMs: cfg.quotaGraceMs, flushMs: cfg.quotaFlushMs }, store, log, metrics);
}
