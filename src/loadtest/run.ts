// `voice-live-proxy loadtest` without its command line: probe the target,
// check the cost of a run against a real upstream, drive the load through
// LoadGenerator with a progress line every second, and build the report.
import { availableParallelism } from 'node:os';
import { LoadGenerator } from './generator';
import { probeUpstream } from './probe';
import { pcmBytesFor } from './audio';
import { latencyMs, progressLine, redactUrl, splitRefusals, type LoadReport, type Threshold } from './report';
import type { WorkerConfig } from './protocol';
import { mintTicket } from '../auth/mint-ticket';

export interface LoadTestOptions {
  readonly url: string;
  readonly sessions: number;
  readonly rate: number;
  /** PCM16 bytes per append; default: real-time audio at `rate`. */
  readonly frameBytes?: number;
  readonly durationS: number;
  readonly rampS: number;
  readonly drainS?: number;
  readonly origin?: string;
  readonly threads?: number;
  readonly ca?: string | null;
  readonly insecure?: boolean;
  readonly sourceIps?: readonly string[] | null;
  /** Skip the probe: what the target is. */
  readonly upstream?: 'auto' | 'simulator' | 'voice-live';
  /** A real upstream: run even past LIVE_CAP_SESSION_MINUTES. */
  readonly acceptCost?: boolean;
  readonly commitEvery?: number;
  readonly maxP99Ms?: number;
  readonly maxLoss?: number;
  /** From TICKET_SECRET / TICKET_AUDIENCE (never argv): one ticket per session. */
  readonly ticket?: { readonly secret: string; readonly audience: string } | null;
  /**
   * CLIENT_AUTH=token: one user token (LOADTEST_BEARER_TOKEN or --token-file,
   * never argv) for every session, sent as `token=` as a browser page does.
   */
  readonly bearerToken?: string | null;
  readonly progressEveryMs?: number;
  /**
   * Aborted by the operator (SIGINT/SIGTERM): stop opening sessions and sending,
   * wait at most `interruptDrainS` for the answers in flight, close the
   * sessions, and report what ran (`interrupted: true`).
   */
  readonly signal?: AbortSignal;
  readonly interruptDrainS?: number;
}

/** Against a real (billed) upstream, runs longer than this many session-minutes need --i-know-this-costs. */
export const LIVE_CAP_SESSION_MINUTES = 10;

export class LoadTestRefused extends Error {}

/** Stopped by the operator before any load was sent (during the probe): nothing to report. */
export class LoadTestInterrupted extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sleeps ms, or less when `signal` aborts first; the timer never outlives it. */
function sleepUnless(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Resolves with p, or with null as soon as `signal` aborts. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const stop = (): void => resolve(null);
    signal.addEventListener('abort', stop, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', stop);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** A JWT's `exp` (seconds), read without verifying: only to warn; null when there is none. */
function tokenExpiry(token: string): number | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp : null;
  } catch {
    return null;
  }
}

/** `url` with `name=value` added to its query. */
const withParam = (url: string, name: string, value: string): string =>
  `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;

export async function runLoadTest(o: LoadTestOptions, log: (line: string) => void): Promise<LoadReport> {
  const signal = o.signal;
  // A function, not a narrowed field read: the signal aborts while this awaits.
  const aborted = (): boolean => signal?.aborted === true;
  // The token rides in the query like a browser page's (it cannot set headers on a
  // WebSocket); o.url, which the report prints, never holds it.
  const target = o.bearerToken ? withParam(o.url, 'token', o.bearerToken) : o.url;
  const headers: Record<string, string> = o.origin === undefined ? {} : { Origin: o.origin };
  const ticket: WorkerConfig['ticket'] =
    o.ticket === null || o.ticket === undefined ? null : { ...o.ticket, ttlSeconds: 60 };
  const sockOpts = { headers, rejectUnauthorized: o.insecure !== true, ca: o.ca ?? undefined };

  if (o.bearerToken) {
    // The proxy checks the token at each upgrade, so only the sessions opened after its exp are refused.
    const exp = tokenExpiry(o.bearerToken);
    const left = exp === null ? null : exp - Date.now() / 1000;
    if (left !== null && left < o.rampS + 30)
      log(
        `loadtest: warning: the bearer token ${left <= 0 ? `expired ${Math.round(-left)} s ago` : `expires in ${Math.round(left)} s`}; ` +
          'sessions opened after that are refused (http 401, auth_expired)\n',
      );
  }
  let upstream = o.upstream ?? 'auto';
  if (upstream === 'auto') {
    const url =
      ticket === null ? target : withParam(target, 'ticket', await mintTicket({ sub: 'loadtest-probe', ...ticket }));
    const p = await probeUpstream(url, sockOpts, undefined, signal);
    if (p.kind === 'interrupted')
      throw new LoadTestInterrupted('interrupted during the probe, before any load was sent');
    if (p.kind === 'refused')
      throw new LoadTestRefused(
        `the probe session was not opened (${p.reason}); check --url, --origin, tickets or the bearer token, or pass --upstream simulator|voice-live to skip the probe`,
      );
    upstream = p.kind;
  }
  if (upstream === 'voice-live') {
    const sessionMinutes = (o.sessions * (o.rampS + o.durationS)) / 60;
    log(
      `loadtest: warning: ${redactUrl(o.url)} does not echo like the simulator: it looks like real Voice Live, billed per ` +
        `session and audio minute. This run is about ${sessionMinutes.toFixed(1)} session-minutes; it measures opens and turn latency.\n`,
    );
    if (sessionMinutes > LIVE_CAP_SESSION_MINUTES && o.acceptCost !== true)
      throw new LoadTestRefused(
        `against a real upstream a run is capped at ${LIVE_CAP_SESSION_MINUTES} session-minutes (sessions x (ramp + duration)); ` +
          'lower --sessions or --duration, point --url at a proxy whose upstream is the simulator, or pass --i-know-this-costs',
      );
  }
  const mode = upstream === 'simulator' ? 'echo' : 'respond';
  const periodMs = 1000 / o.rate;
  const threads = o.threads ?? Math.max(1, Math.min(availableParallelism(), Math.ceil(o.sessions / 2500)));
  if (aborted()) throw new LoadTestInterrupted('interrupted before any load was sent');
  const gen = new LoadGenerator({
    url: target,
    headers,
    sessions: o.sessions,
    threads,
    mode,
    periodMs,
    pcmBytes: o.frameBytes ?? pcmBytesFor(periodMs),
    rampMs: o.rampS * 1000,
    commitEvery: o.commitEvery ?? Math.max(1, Math.round(o.rate)),
    sourceIps: o.sourceIps ?? null,
    insecure: o.insecure,
    ca: o.ca ?? null,
    ticket,
  });

  const t0 = performance.now();
  let cpuMark = process.cpuUsage();
  let lastAt = t0;
  let lastSent = 0;
  let lastRecv = 0;
  let ticking = true;
  const progress = async (): Promise<void> => {
    const p = await gen.progress();
    const now = performance.now();
    const dt = (now - lastAt) / 1000;
    const cpu = process.cpuUsage(cpuMark);
    cpuMark = process.cpuUsage();
    log(
      progressLine(
        (now - t0) / 1000,
        o.sessions,
        p.counters,
        (p.counters.sent - lastSent) / dt,
        (p.counters.recv - lastRecv) / dt,
        latencyMs(p.live),
        (cpu.user + cpu.system) / dt / 1e4,
        p.eluMax,
      ),
    );
    lastAt = now;
    lastSent = p.counters.sent;
    lastRecv = p.counters.recv;
  };
  const every = o.progressEveryMs ?? 1000;
  let ticker: Promise<void> = Promise.resolve();
  const loop = (async () => {
    while (ticking) {
      await sleep(every);
      if (ticking) ticker = progress().catch(() => {});
      await ticker;
    }
  })();

  try {
    await gen.start();
    // Each wait below ends early when the operator stops the run; what ran is reported.
    await unlessAborted(gen.ramped((o.rampS + 30) * 1000), signal);
    // Stopped during the ramp: no load, and an empty window (marked now) to report.
    const loaded = !aborted();
    if (loaded) gen.send();
    await gen.mark();
    const cpuA = process.cpuUsage();
    await sleepUnless(o.durationS * 1000, signal);
    const w = await gen.window();
    const cpu = process.cpuUsage(cpuA);
    const interrupted = aborted();
    const stoppedAt = performance.now();
    const c = interrupted
      ? await gen.stop((o.interruptDrainS ?? 2) * 1000, true)
      : await gen.stop((o.drainS ?? 2) * 1000);
    ticking = false;
    await loop;
    await gen.close(interrupted ? 500 : 1000);
    if (gen.error !== null) throw gen.error;

    const { refused, failed } = splitRefusals(c);
    // Interrupted: what was still on its way at the stop is neither answered nor lost.
    const answered = mode === 'echo' ? c.echoes : c.responses;
    const appends = (mode === 'echo' ? c.sent : c.commits) - c.inFlight;
    const lost = appends - answered;
    const loss = appends === 0 ? 0 : lost / appends;
    const rtt = mode === 'echo' ? latencyMs(w.rtt) : null;
    const firstAudio = mode === 'respond' ? latencyMs(w.ttfa) : null;
    const cpuUs = cpu.user + cpu.system;
    const frames = w.sent + w.recv;
    const thresholds: { maxP99Ms?: Threshold; maxLoss?: Threshold } = {};
    if (o.maxP99Ms !== undefined) {
      const value = (rtt ?? firstAudio)!.p99;
      thresholds.maxP99Ms = { limit: o.maxP99Ms, value, ok: value !== null && value <= o.maxP99Ms };
    }
    if (o.maxLoss !== undefined) thresholds.maxLoss = { limit: o.maxLoss, value: loss, ok: loss <= o.maxLoss };
    const wallS = w.ms / 1000;
    return {
      url: redactUrl(o.url),
      interrupted,
      ranS: Math.round((stoppedAt - t0) / 10) / 100,
      loadS: loaded ? Math.round(w.ms / 10) / 100 : 0,
      upstream,
      mode: mode === 'echo' ? 'echo' : 'turns',
      config: {
        sessions: o.sessions,
        rate: o.rate,
        frameBytes: o.frameBytes ?? pcmBytesFor(periodMs),
        appendBytes: gen.frameBytes,
        durationS: o.durationS,
        rampS: o.rampS,
        tickets: ticket !== null,
        bearerToken: Boolean(o.bearerToken),
      },
      sessions: {
        requested: o.sessions,
        opened: c.created,
        refused,
        failed,
        closedEarly: c.closeCodes,
        notStarted: c.notStarted,
        pending: o.sessions - c.created - c.failed - c.notStarted,
      },
      frames: {
        sent: c.sent,
        received: c.recv,
        echoed: c.echoes,
        lost,
        inFlight: c.inFlight,
        loss,
        outOfOrder: c.outOfOrder,
        errorEvents: c.errors,
        skipped: c.skippedFrames,
      },
      roundTripMs: rtt,
      turnFirstAudioMs: firstAudio,
      turnDoneMs: mode === 'respond' ? latencyMs(w.done) : null,
      generator: {
        threads: gen.threadCount,
        cpuPct: wallS > 0 ? Math.round(cpuUs / wallS / 1e2) / 100 : 0,
        usPerFrame: frames > 0 ? Math.round((cpuUs / frames) * 100) / 100 : null,
        busiestThread: Math.round(w.eluMax * 1000) / 1000,
        lagMaxMs: w.lagMaxMs,
        // A busy thread, or sends more than a whole period late (skipped, not just
        // delayed): one late wake-up on a shared host is the host, not the generator.
        saturated: w.eluMax > 0.9 || c.skippedFrames > 0,
      },
      thresholds,
      ok: Object.values(thresholds).every((t) => t.ok),
    };
  } finally {
    ticking = false;
    await gen.terminate();
  }
}
