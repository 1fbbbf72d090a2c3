// Everything one proxy instance holds, built once by startProxy. The route,
// upgrade and socket handlers are module-level functions that take this object
// as their first argument (as ws's listeners reach their socket through one
// object), so nothing is closed over per request, connection or message.
import type { Logger } from 'pino';
import type { ProxyDeps } from './api-types';
import type { Config } from './config';
import { AdmissionGate } from './admission/gate';
import { MetricsGuard } from './admission/metrics-guard';
import type { CallerAuth } from './auth/caller-auth';
import { SubjectLimit } from './auth/subject-limit';
import type { FleetLimiter } from './fleet/fleet-limiter';
import { Metrics } from './observability/metrics';
import type { MetricsBoard } from './observability/metrics-board';
import { NOOP_TELEMETRY, type Telemetry } from './observability/telemetry';
import { BufferBudget } from './relay/buffer-budget';
import { Outbox } from './relay/outbox';
import { Relay } from './relay/relay';
import type { Session } from './relay/session';
import { Sweeper } from './relay/sweeper';
import { CorkAnchor } from './http/cork-anchor';
import { ModelPolicy } from './upstream/model-policy';
import { ServerCredential } from './upstream/server-credential';
import { startQuotas, type Quotas } from './usage/quotas';
import { Meter } from './usage/meter';
import { createUsageSink, rowsFor } from './usage/create-sink';
import type { UsageSink } from './usage/usage-sink';
import type { UsageRow } from './observability/usage-metric-table';

/** Largest frame accepted from the upstream: Voice Live's own limit is 15 MiB. */
export const UPSTREAM_MAX_PAYLOAD = 16 * 1024 * 1024;

export class ProxyContext {
  readonly cfg: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly telemetry: Telemetry;
  readonly gate: AdmissionGate;
  readonly models: ModelPolicy;
  readonly budget: BufferBudget;
  /** This thread's outbox for upstream -> browser frames (relay/outbox.ts), shared by every session. */
  readonly outbox: Outbox;
  readonly relay: Relay;
  /** Where each session's usage goes as it grows (usage/create-sink.ts): the one sink the relay's meter tells. */
  readonly usageSink: UsageSink<Session>;
  /** The (mode, model) rows of the usage totals on /metrics. */
  readonly usageRows: readonly UsageRow[];
  readonly sweeper: Sweeper;
  /** The proxy's own Entra ID token, for keyless sessions. */
  readonly identity: ServerCredential;
  /** CLIENT_AUTH's verifier; null with CLIENT_AUTH=none. */
  readonly auth: CallerAuth | null;
  readonly subjects: SubjectLimit;
  /** Limits shared across replicas through Redis (docs/contract.md §6); null without REDIS_URL. */
  readonly fleet: FleetLimiter | null;
  /** Daily quotas and usage totals per caller (usage/quotas.ts); null with neither a quota nor REDIS_URL. */
  readonly quotas: Quotas | null;
  readonly metricsGuard: MetricsGuard;
  /** Every worker's metrics (WORKERS > 1), else null. */
  readonly board: MetricsBoard | null;
  /** This thread's row on the board and in the shared tables (0 with WORKERS=1). */
  readonly workerIndex: number;
  /** One of several worker threads listening on one port (WORKERS > 1). */
  readonly sharesPort: boolean;
  /**
   * Forwarded headers are read only when TRUST_PROXY says they mean something
   * (each getHeader is a scan of the request).
   */
  readonly readsForwarded: boolean;
  /** Set while shutdown waits for the last session to end. */
  onIdle: (() => void) | null;
  /** Corks late upgrades (http/cork-anchor.ts); its request is made only when upgrades can be late. */
  readonly corkAnchor: CorkAnchor;

  constructor(cfg: Config, deps: ProxyDeps) {
    this.cfg = cfg;
    this.log = deps.logger;
    this.metrics = deps.metrics ?? new Metrics();
    this.telemetry = deps.telemetry ?? NOOP_TELEMETRY;
    this.gate = new AdmissionGate(cfg, deps.shared);
    this.models = new ModelPolicy(cfg);
    this.workerIndex = deps.shared?.index ?? 0;
    this.sharesPort = deps.shared !== undefined;
    this.budget = new BufferBudget(cfg.bufferBudgetBytes, deps.budget, this.workerIndex);
    this.outbox = new Outbox();
    // With the fleet on, MAX_SESSIONS_PER_SUBJECT also holds across every replica;
    // ioredis is loaded only then.
    this.fleet =
      cfg.redisUrl === ''
        ? null
        : (require('./fleet/fleet') as typeof import('./fleet/fleet')).startFleet(
            cfg,
            this.log,
            this.metrics,
            cfg.maxSessionsPerSubject,
          );
    // Before the relay: its meter tells the quotas (after the /metrics totals).
    this.quotas = startQuotas(cfg, this.fleet, deps.days ?? null, this.log, this.metrics);
    this.usageRows = rowsFor(cfg);
    this.usageSink = createUsageSink<Session>(cfg, { cells: this.metrics.usage, then: this.quotas });
    this.relay = new Relay(
      {
        pendingMaxFrames: cfg.pendingMaxFrames,
        pendingMaxBytes: cfg.pendingMaxBytes,
        clientHighWaterBytes: cfg.clientHighWaterBytes,
        upstreamMaxBufferedBytes: cfg.upstreamMaxBufferedBytes,
        upstreamConnectTimeoutMs: cfg.upstreamConnectTimeoutMs,
        upstreamMaxPayload: UPSTREAM_MAX_PAYLOAD,
      },
      this.metrics,
      this.budget,
      this.outbox,
      (s) => sessionFinished(this, s),
      new Meter<Session>(this.usageSink),
    );
    this.sweeper = new Sweeper(this.relay, cfg);
    this.identity = new ServerCredential(cfg.azureTokenScope, cfg.azureTokenTimeoutMs, this.log, this.metrics);
    // jose is loaded only when callers are verified.
    this.auth =
      cfg.clientAuth === 'none'
        ? null
        : new (require('./auth/caller-auth') as typeof import('./auth/caller-auth')).CallerAuth(
            cfg,
            this.metrics,
            deps.shared?.replays,
          );
    // Counted on this replica always, with REDIS_URL too: it is the cap that holds while the
    // fleet cannot decide (Redis away in open mode, or not yet answered). It never refuses what
    // the fleet would admit: every session counted here also holds a fleet lease.
    this.subjects = new SubjectLimit(cfg.maxSessionsPerSubject, deps.shared?.subjects);
    this.metricsGuard = new MetricsGuard(cfg, deps.shared?.metricsFailures);
    if (this.metricsGuard.disabled)
      this.log.warn({ host: cfg.host }, '/metrics refused: listening beyond loopback without METRICS_TOKEN');
    this.board = deps.board ?? null;
    this.readsForwarded = this.gate.ips.readsForwardedHeaders;
    this.onIdle = null;
    this.corkAnchor = new CorkAnchor(this.log);
  }

  /**
   * Some upgrades are answered after a wait (upgrade/pipeline.ts): CLIENT_AUTH,
   * the fleet, or quotas read from a store. Those need the cork anchor.
   */
  get upgradesWait(): boolean {
    return (
      this.auth !== null || this.fleet !== null || (this.quotas !== null && this.quotas.shared && this.quotas.enforcing)
    );
  }

  /** With worker threads, puts this thread's row on the board now rather than at the next tick. */
  publishMetrics(): void {
    this.board?.publish(this.workerIndex, this.metrics.snapshot());
  }
}

/** The session's summary line and event; wakes a waiting shutdown when it was the last. */
function sessionFinished(px: ProxyContext, s: Session): void {
  const summary = {
    durationMs: Date.now() - s.openedAt,
    upstreamConnectMs: s.upstreamConnectMs,
    framesIn: s.framesIn,
    bytesIn: s.bytesIn,
    framesOut: s.framesOut,
    bytesOut: s.bytesOut,
    clientCloseCode: s.clientCloseCode,
    upstreamCloseCode: s.upstreamCloseCode,
    closedBy: s.closedBy,
    error: s.error?.code ?? '',
    subject: s.subject,
    // What the session used (usage/meter.ts; docs/cost-control.md says how exact each count is).
    ...s.usage,
  };
  s.log.info(s.line(summary), 'session closed');
  px.telemetry.trackEvent('session_closed', { ...summary, mode: s.target.mode, model: s.target.label });
  if (px.onIdle !== null && px.relay.sessions.size === 0) px.onIdle();
}
