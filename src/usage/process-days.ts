// The day totals of one process with worker threads (WORKERS > 1, no
// REDIS_URL). The kernel spreads a caller's connections over the threads, so
// a total kept per thread would give each caller a quota per thread: the main
// thread keeps the one account instead (ProcessDays), and each relay thread
// reaches it over its own MessagePort (ProcessDayClient), adding and reading
// the way a replica does with Redis (quotas.ts). Lost with the process, as a
// single thread's totals are.
import type { MessagePort } from 'node:worker_threads';
import type { DayStore } from './day-store';
import { hourOf, HourBuckets, secondsUntilUnder, type DayTotals, type QuotaLimits } from './day-window';

/** Callers with nothing left in the window are forgotten at most this often. */
const SWEEP_MS = 60_000;

type Request = { id: number; add: ReadonlyArray<string | number> } | { id: number; read: ReadNumbers };
type ReadNumbers = [key: string, audioLimit: number, tokenLimit: number, audioExtra: number, tokenExtra: number];
interface Reply {
  id: number;
  totals: number[];
}

/** The main thread's account of every caller: the arithmetic of fleet/usage-scripts.ts, in memory. */
export class ProcessDays {
  private readonly callers = new Map<string, HourBuckets>();
  private readonly scratch: DayTotals = { audioMs: 0, tokens: 0 };
  private sweptAt = 0;

  add(entries: ReadonlyArray<string | number>, nowMs = Date.now()): number[] {
    const hour = hourOf(nowMs);
    const out: number[] = [];
    for (let i = 0; i + 2 < entries.length; i += 3) {
      const key = String(entries[i]);
      let b = this.callers.get(key);
      if (b === undefined) this.callers.set(key, (b = new HourBuckets()));
      b.add(hour, Number(entries[i + 1]), Number(entries[i + 2]));
      b.totals(hour, this.scratch);
      out.push(this.scratch.audioMs, this.scratch.tokens);
    }
    if (nowMs - this.sweptAt >= SWEEP_MS) this.sweep(hour, nowMs);
    return out;
  }

  read(key: string, limits: QuotaLimits, extra: DayTotals, nowMs = Date.now()): [number, number, number] {
    const hour = hourOf(nowMs);
    const b = this.callers.get(key);
    if (b === undefined) return [0, 0, secondsUntilUnder([], hour, nowMs, limits, extra)];
    b.totals(hour, this.scratch);
    return [this.scratch.audioMs, this.scratch.tokens, b.retryAfterS(nowMs, limits, extra)];
  }

  /** Callers it holds (a window not yet empty). */
  get size(): number {
    return this.callers.size;
  }

  /** Answers one relay thread's requests on `port` until the port closes. */
  serve(port: MessagePort): void {
    port.on('message', (req: Request) => {
      const totals = 'add' in req ? this.add(req.add) : this.readNumbers(req.read);
      port.postMessage({ id: req.id, totals } satisfies Reply);
    });
    // The main thread lives as long as its workers; the port must not keep it alive alone.
    port.unref();
  }

  private readNumbers([key, audioLimit, tokenLimit, audioExtra, tokenExtra]: ReadNumbers): number[] {
    return this.read(key, { audioMs: audioLimit, tokens: tokenLimit }, { audioMs: audioExtra, tokens: tokenExtra });
  }

  private sweep(hour: number, nowMs: number): void {
    this.sweptAt = nowMs;
    for (const [key, b] of this.callers) if (b.idle(hour)) this.callers.delete(key);
  }
}

/** A relay thread's side: the main thread's ProcessDays, one round trip per call. */
export class ProcessDayClient implements DayStore {
  readonly up = true;
  readonly onDown = 'open';
  private next = 1;
  private readonly waiting = new Map<number, (totals: number[]) => void>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (reply: Reply) => {
      const done = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) port.unref();
      done?.(reply.totals);
    });
    // Held open only while a call waits (a last flush at shutdown is answered before the thread ends).
    port.unref();
  }

  add(entries: ReadonlyArray<string | number>): Promise<number[]> {
    return this.ask({ id: this.next++, add: entries });
  }

  async read(key: string, limits: QuotaLimits, extra: DayTotals): Promise<[number, number, number]> {
    const t = await this.ask({
      id: this.next++,
      read: [key, limits.audioMs, limits.tokens, extra.audioMs, extra.tokens],
    });
    return [t[0], t[1], t[2]];
  }

  private ask(req: Request): Promise<number[]> {
    return new Promise((resolve) => {
      if (this.waiting.size === 0) this.port.ref();
      this.waiting.set(req.id, resolve);
      this.port.postMessage(req);
    });
  }
}
