// The uWS app: routes and the upgrade handler, nothing else. Admission is
// decided in admission/, frames move in relay/, the upstream address is made
// in upstream/. uWS requests are stack-allocated: everything needed later is
// read out of `req` synchronously in the handler.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import uWS from './uws';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Config } from './config';
import { Errors, errorEvent } from './errors';
import { AdmissionGate, newVerdict, type RequestFacts, type SharedAdmission, type Verdict } from './admission/gate';
import { MetricsGuard } from './admission/metrics-guard';
import { sendError, sendJson, writeHead, type ResponseContext } from './http/respond';
import { Metrics, METRICS_CONTENT_TYPE } from './observability/metrics';
import type { MetricsBoard } from './observability/metrics-board';
import { NOOP_TELEMETRY, type Telemetry } from './observability/telemetry';
import { Relay } from './relay/relay';
import { BufferBudget } from './relay/buffer-budget';
import { Sweeper } from './relay/sweeper';
import type { ClientUserData, Session } from './relay/session';
import { ModelPolicy } from './upstream/model-policy';
import { UPSTREAM_CALLS_PATH, UPSTREAM_PATH } from './constants';
import { fleetRefusal } from './fleet/fleet-refusal';
import { acceptRequestId, parseClientParams } from './upstream/params';
import type { CallerAuth, CallerCredentials } from './auth/caller-auth';
import { ticketParam } from './auth/query-ticket';
import { errorFor, type AuthOutcome } from './auth/refusal';
import { SubjectLimit } from './auth/subject-limit';
import { DeferredUpgrade } from './http/deferred-upgrade';
import { ServerCredential } from './upstream/server-credential';
import { buildTarget, type UpstreamTarget } from './upstream/target';

/** Largest frame accepted from the upstream: Voice Live's own limit is 15 MiB. */
export const UPSTREAM_MAX_PAYLOAD = 16 * 1024 * 1024;

const PKG = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};
// The major version only: the exact one tells a scanner which advisories apply
// and tells a client nothing it can use.
const ROOT_BODY = JSON.stringify({
  name: PKG.name,
  version: PKG.version.split('.')[0],
  endpoints: {
    websocket: '/ws',
    realtime: UPSTREAM_PATH,
    webrtc: UPSTREAM_CALLS_PATH,
    health: '/health',
    liveness: '/livez',
    readiness: '/readyz',
    metrics: '/metrics',
  },
});
const LIVE_BODY = '{"status":"ok"}';
const READY_BODY = '{"status":"ready"}';
const DRAINING_BODY = '{"status":"draining"}';

/** Every path a browser or SDK may open its socket on. */
export const SOCKET_PATHS: readonly string[] = ['/ws', UPSTREAM_PATH, UPSTREAM_CALLS_PATH];

export interface ProxyDeps {
  logger: Logger;
  metrics?: Metrics;
  telemetry?: Telemetry;
  /** Admission state shared by every worker thread (WORKERS > 1). */
  shared?: SharedAdmission;
  /** Every worker's metrics, so /metrics reports the whole process. */
  board?: MetricsBoard;
  /** The process-wide buffer budget's shared cell (WORKERS > 1); absent: this thread's own. */
  budget?: SharedArrayBuffer;
}

export interface ProxyServer {
  readonly port: number;
  readonly relay: Relay;
  readonly gate: AdmissionGate;
  readonly metrics: Metrics;
  /** Drain, wait up to graceMs for sessions to end, close the rest with 1001, close the port. */
  shutdown(graceMs: number): Promise<void>;
  /**
   * Close every socket now, without close frames. For a worker thread that is
   * dying: a thread must not exit with uWS sockets open (Node aborts the whole
   * process on the open handles).
   */
  abort(): void;
}

/** The first offered subprotocol is echoed, as the `ws` server the older proxies used did. */
function firstProtocol(header: string): string {
  const comma = header.indexOf(',');
  return (comma === -1 ? header : header.slice(0, comma)).trim();
}

export function startProxy(cfg: Config, deps: ProxyDeps): Promise<ProxyServer> {
  const log = deps.logger;
  const metrics = deps.metrics ?? new Metrics();
  const telemetry = deps.telemetry ?? NOOP_TELEMETRY;
  const gate = new AdmissionGate(cfg, deps.shared);
  const models = new ModelPolicy(cfg);
  const budget = new BufferBudget(cfg.bufferBudgetBytes, deps.budget, deps.shared?.index ?? 0);
  const relay = new Relay(
    {
      pendingMaxFrames: cfg.pendingMaxFrames,
      pendingMaxBytes: cfg.pendingMaxBytes,
      clientHighWaterBytes: cfg.clientHighWaterBytes,
      upstreamMaxBufferedBytes: cfg.upstreamMaxBufferedBytes,
      upstreamConnectTimeoutMs: cfg.upstreamConnectTimeoutMs,
      upstreamMaxPayload: UPSTREAM_MAX_PAYLOAD,
    },
    metrics,
    budget,
    onSessionFinished,
  );
  const sweeper = new Sweeper(relay, cfg);
  const identity = new ServerCredential(cfg.azureTokenScope, log, metrics);
  // jose is loaded only when callers are verified.
  const auth: CallerAuth | null =
    cfg.clientAuth === 'none'
      ? null
      : new (require('./auth/caller-auth') as typeof import('./auth/caller-auth')).CallerAuth(
          cfg,
          metrics,
          deps.shared?.replays,
        );
  // With REDIS_URL the fleet counts subjects across replicas instead (one count, not two).
  const subjects = new SubjectLimit(cfg.redisUrl === '' ? cfg.maxSessionsPerSubject : 0, deps.shared?.subjects);
  // Limits shared across replicas through Redis (docs/contract.md §6); null = per process only, as without REDIS_URL.
  // With the fleet on, MAX_SESSIONS_PER_SUBJECT is the fleet's (one count for every replica).
  const fleet =
    cfg.redisUrl === ''
      ? null
      : (require('./fleet/fleet') as typeof import('./fleet/fleet')).startFleet(
          cfg,
          log,
          metrics,
          cfg.maxSessionsPerSubject,
        );
  let onIdle: (() => void) | null = null;

  function onSessionFinished(s: Session): void {
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
    };
    s.log.info(s.line(summary), 'session closed');
    telemetry.trackEvent('session_closed', { ...summary, mode: s.target.mode });
    if (onIdle !== null && relay.sessions.size === 0) onIdle();
  }

  // Forwarded headers are read only when TRUST_PROXY says they mean something
  // (each getHeader is a scan of the request); the socket address is taken as
  // bytes, which uWS hands over cheaper than text.
  const readsForwarded = gate.ips.readsForwardedHeaders;
  function facts(res: HttpResponse, req: HttpRequest): RequestFacts {
    return {
      remoteAddress: res.getRemoteAddress(),
      forwardedFor: readsForwarded ? req.getHeader('x-forwarded-for') : '',
      forwardedProto: readsForwarded ? req.getHeader('x-forwarded-proto') : '',
      origin: req.getHeader('origin'),
    };
  }

  /** The request's Origin when CORS may grant it, else ''. */
  function corsOrigin(f: RequestFacts): string {
    return f.origin !== '' && gate.origins.isAllowed(f.origin) ? f.origin : '';
  }

  /** Identify the client and build the response context. */
  function context(f: RequestFacts, v: Verdict): ResponseContext {
    gate.identify(f, v);
    return { tls: v.tls, corsOrigin: corsOrigin(f) };
  }

  /**
   * A rate-limited plain HTTP request: identify the client and take a token.
   * Returns the response context, or null when it already answered 429.
   */
  function admitHttp(res: HttpResponse, req: HttpRequest): ResponseContext | null {
    const v = newVerdict();
    const ctx = context(facts(res, req), v);
    const wait = gate.rate(v);
    if (wait === 0) return ctx;
    metrics.httpRateLimited++;
    sendError(res, Errors.RATE_LIMITED, ctx, wait);
    return null;
  }

  function healthBody(): string {
    return JSON.stringify({
      status: gate.draining ? 'draining' : 'ok',
      activeConnections: gate.counter.active,
      maxConnections: cfg.maxConnections,
      timestamp: new Date().toISOString(),
    });
  }

  const metricsGuard = new MetricsGuard(cfg);
  if (metricsGuard.disabled)
    log.warn({ host: cfg.host }, '/metrics refused: listening beyond loopback without METRICS_TOKEN');
  const app: TemplatedApp = uWS.App();

  // Load-balancer probes are exempt from the rate limiter: a probe storm
  // must not mark a healthy instance down.
  app.get('/health', (res, req) => {
    const ctx = context(facts(res, req), newVerdict());
    sendJson(res, gate.draining ? 503 : 200, healthBody(), ctx);
  });

  // Kubernetes-style probes, exempt like /health. Liveness: the process still
  // serves, so a draining replica is not restarted mid-drain. Readiness: send
  // it new sessions or not (503 while draining, as /health).
  app.get('/livez', (res, req) => {
    sendJson(res, 200, LIVE_BODY, context(facts(res, req), newVerdict()));
  });
  app.get('/readyz', (res, req) => {
    const ctx = context(facts(res, req), newVerdict());
    sendJson(res, gate.draining ? 503 : 200, gate.draining ? DRAINING_BODY : READY_BODY, ctx);
  });

  app.get('/metrics', (res, req) => {
    const v = newVerdict();
    const ctx = context(facts(res, req), v);
    const access = metricsGuard.check(req.getHeader('authorization'), v.ipKey);
    if (access !== 'ok') {
      if (access === 'rate') metrics.httpRateLimited++;
      sendError(
        res,
        access === 'disabled'
          ? Errors.METRICS_DISABLED
          : access === 'rate'
            ? Errors.RATE_LIMITED
            : Errors.METRICS_UNAUTHORIZED,
        ctx,
        access === 'rate' ? metricsGuard.retryAfter : 0,
      );
      return;
    }
    const extra = {
      activeConnections: () => gate.counter.active,
      maxConnections: cfg.maxConnections,
      draining: gate.draining,
      bufferedBytes: () => budget.heldKiB * 1024,
      bufferBudgetBytes: budget.limitBytes,
    };
    let body: string;
    if (deps.board === undefined) {
      body = metrics.render(extra);
    } else {
      deps.board.publish(deps.shared?.index ?? 0, metrics.snapshot());
      body = Metrics.renderSnapshots(deps.board.collect(), extra);
    }
    res.cork(() => {
      writeHead(res, 200, METRICS_CONTENT_TYPE, ctx);
      res.end(body);
    });
  });

  app.get('/', (res, req) => {
    const ctx = admitHttp(res, req);
    if (ctx !== null) sendJson(res, 200, ROOT_BODY, ctx);
  });

  app.options('/*', (res, req) => {
    const ctx = admitHttp(res, req);
    if (ctx === null) return;
    res.cork(() => {
      writeHead(res, 204, 'text/plain', ctx, true);
      res.endWithoutBody();
    });
  });

  // One behaviour for every socket path (docs/contract.md §1): the older proxies' /ws, the
  // service's own path (so the official SDK can use the proxy as its
  // endpoint) and the WebRTC control channel.
  const behavior: uWS.WebSocketBehavior<ClientUserData> = {
    compression: uWS.DISABLED,
    // uWS cuts a connection without a close frame when a message exceeds its
    // limit; a budget of twice MAX_MESSAGE_BYTES lets us answer 1009 properly
    // for anything up to that, and still bounds what one socket can buffer.
    maxPayloadLength: 2 * cfg.maxMessageBytes,
    // Room for the high-water mark plus one maximal upstream frame and one
    // socket read in flight after pause(): send() must never have to drop.
    maxBackpressure: cfg.clientHighWaterBytes + UPSTREAM_MAX_PAYLOAD + 256 * 1024,
    closeOnBackpressureLimit: false,
    // Liveness is the sweeper's job (one timer for all sockets).
    idleTimeout: 0,
    sendPingsAutomatically: false,

    upgrade(res, req, context) {
      const f = facts(res, req);
      const key = req.getHeader('sec-websocket-key');
      const protocol = firstProtocol(req.getHeader('sec-websocket-protocol'));
      const extensions = req.getHeader('sec-websocket-extensions');
      const clientRequestId = acceptRequestId(req.getHeader('x-ms-client-request-id'));
      const credentialHeaders = { authorization: req.getHeader('authorization'), apiKey: req.getHeader('api-key') };
      const callsPath = req.getUrl() === UPSTREAM_CALLS_PATH;
      const query = req.getQuery() ?? '';
      const v = gate.decideUpgrade(f, newVerdict());
      if (v.error !== null) {
        countRefusal(metrics, v.outcome);
        log.debug({ ip: v.ip, outcome: v.outcome }, 'upgrade refused');
        sendError(res, v.error, { tls: v.tls, corsOrigin: corsOrigin(f) }, v.retryAfter);
        return;
      }
      const ud: ClientUserData = {
        session: null,
        requestError: null,
        target: null,
        hasSlot: true,
        ip: v.ip,
        ipKey: v.ipKey,
        origin: f.origin,
        clientRequestId,
        subject: '',
        lease: null,
      };
      const parsed = parseClientParams(query, cfg.allowedApiVersions, credentialHeaders);
      if (!parsed.ok) {
        ud.requestError = parsed.error;
      } else {
        if (parsed.params.unknownCount > 0) {
          // Dropped, never forwarded; counted so an operator sees a client asking for something.
          metrics.unknownParameters += parsed.params.unknownCount;
          log.debug(
            { ip: v.ip, unknown: parsed.params.unknown, count: parsed.params.unknownCount },
            'unknown query parameters ignored',
          );
        }
        // The SDK's browser build sends its request id as `client-request-id=` (no headers in a browser).
        if (parsed.params.clientRequestId !== '') ud.clientRequestId = parsed.params.clientRequestId;
        // The session's log key is always our own id: a client could send
        // another session's. Theirs is still forwarded upstream (docs/contract.md §2) and
        // logged as its own field.
        const requestId = randomUUID();
        const built = buildTarget(cfg, parsed.params, ud.clientRequestId || requestId, callsPath);
        if (built.ok) {
          ud.target = built.target.requestId === requestId ? built.target : { ...built.target, requestId };
          ud.requestError = models.check(built.target);
        } else {
          ud.requestError = built.error;
        }
      }
      // A request error never reaches the upstream, so in token mode (where
      // the credential to verify is the one it would forward) it is reported as usual.
      if ((auth === null && fleet === null) || (auth?.mode === 'token' && ud.requestError !== null)) {
        countUpgrade(ud);
        res.upgrade(ud, key, protocol, extensions, context);
        return;
      }
      // Caller verification and the fleet's Redis round trip are both async:
      // DeferredUpgrade registers onAborted now and corks the late upgrade.
      const later = new DeferredUpgrade<ClientUserData>(
        res,
        key,
        protocol,
        extensions,
        context,
        { tls: v.tls, corsOrigin: corsOrigin(f) },
        () => {
          log.debug({ ip: ud.ip }, 'client left before admission was decided');
          releaseSlots(ud);
        },
      );
      if (auth === null) {
        admitFleet(later, ud);
        return;
      }
      const credentials: CallerCredentials = {
        ticket: auth.mode === 'ticket' ? ticketParam(query) : '',
        bearer: auth.mode === 'token' ? bearerOf(ud.target) : '',
        origin: f.origin,
      };
      auth.verify(credentials).then(
        (outcome) => admitCaller(later, ud, outcome),
        () => admitCaller(later, ud, UNAVAILABLE),
      );
    },

    open(ws) {
      const ud = ws.getUserData();
      if (ud.requestError !== null || ud.target === null) {
        const err = ud.requestError ?? Errors.INVALID_PARAMETER;
        log.info({ ip: ud.ip, error: err.code }, 'request refused after upgrade');
        ws.send(errorEvent(err), false);
        ws.end(err.closeCode, err.message);
        return;
      }
      const keyless = ud.target.credential === 'identity';
      ud.session = relay.open(ws, ud.target, ud.ip, log, !keyless);
      if (keyless) connectAsServer(ud.session);
      ud.session.subject = ud.subject;
      ud.session.log.info(
        ud.session.line({
          origin: ud.origin,
          clientRequestId: ud.clientRequestId,
          transport: ud.target.transport,
          apiVersion: ud.target.apiVersion,
          subject: ud.subject,
        }),
        'session open',
      );
      telemetry.trackEvent('session_open', { mode: ud.target.mode, model: ud.target.label });
    },

    message(ws, message, isBinary) {
      const s = ws.getUserData().session;
      if (s === null) return;
      if (message.byteLength > cfg.maxMessageBytes) relay.fail(s, Errors.MESSAGE_TOO_BIG);
      else relay.clientMessage(s, message, isBinary);
    },

    drain(ws) {
      const s = ws.getUserData().session;
      if (s !== null) relay.clientDrain(s);
    },

    pong(ws) {
      const s = ws.getUserData().session;
      if (s !== null) s.clientAlive = true;
    },

    close(ws: WebSocket<ClientUserData>, code, message) {
      const ud = ws.getUserData();
      releaseSlots(ud);
      if (ud.session !== null) relay.clientClosed(ud.session, code, Buffer.from(message).toString());
    },
  };

  function countUpgrade(ud: ClientUserData): void {
    if (ud.requestError !== null) metrics.upgradesInvalid++;
    else metrics.upgradesAccepted++;
  }

  /** Give back the capacity slot, the subject's slot and the fleet lease, each exactly once. */
  function releaseSlots(ud: ClientUserData): void {
    if (ud.hasSlot) {
      ud.hasSlot = false;
      gate.release(ud.ipKey);
    }
    if (ud.subject !== '') {
      subjects.release(ud.subject);
      ud.subject = '';
    }
    if (ud.lease !== null) {
      fleet?.release(ud.lease);
      ud.lease = null;
    }
  }

  /** After CLIENT_AUTH's verdict: refuse with 401/503/429, or upgrade. */
  function admitCaller(later: DeferredUpgrade<ClientUserData>, ud: ClientUserData, outcome: AuthOutcome): void {
    if (later.aborted) return; // onAborted gave the slot back
    if (!outcome.ok) {
      releaseSlots(ud);
      metrics.upgradesUnauthorized++;
      // The cause is a jose error code or a claim name, never the credential.
      log.info({ ip: ud.ip, reason: outcome.reason, cause: outcome.cause }, 'caller refused');
      later.refuse(errorFor(outcome.reason), outcome.reason === 'unavailable' ? AUTH_RETRY_AFTER : 0);
      return;
    }
    if (!subjects.tryAcquire(outcome.subject)) {
      releaseSlots(ud);
      metrics.upgradesSubjectCapacity++;
      log.info({ ip: ud.ip, subject: outcome.subject }, 'subject at capacity');
      later.refuse(Errors.SUBJECT_AT_CAPACITY, AUTH_RETRY_AFTER);
      return;
    }
    ud.subject = outcome.subject;
    if (fleet !== null) {
      admitFleet(later, ud);
      return;
    }
    countUpgrade(ud);
    later.upgrade(ud);
  }

  /**
   * The fleet's decision (REDIS_URL): one Redis round trip for the shared
   * per-IP bucket and caps, the subject's cap and FLEET_MAX_SESSIONS.
   */
  function admitFleet(later: DeferredUpgrade<ClientUserData>, ud: ClientUserData): void {
    const f = fleet as NonNullable<typeof fleet>;
    void f.acquire({ ipKey: ud.ipKey, subject: ud.subject || undefined }).then((d) => {
      // The client left while Redis decided: onAborted gave the rest back.
      if (later.aborted) {
        if (d.lease !== null) f.release(d.lease);
        return;
      }
      ud.lease = d.lease;
      if (gate.draining) metrics.upgradesDraining++;
      const refusal = gate.draining ? ([Errors.DRAINING, 5] as const) : fleetRefusal(d.verdict, d.retryAfter, metrics);
      if (refusal !== null) {
        releaseSlots(ud);
        log.debug({ ip: ud.ip, outcome: d.verdict }, 'upgrade refused by the fleet');
        later.refuse(refusal[0], refusal[1]);
        return;
      }
      countUpgrade(ud);
      later.upgrade(ud);
    });
  }

  /**
   * Open a session's upstream leg with the proxy's own token. The token is
   * awaited after the upgrade, not before it: a failure then reaches the
   * browser as close 1011 with a reason it can read (an HTTP refusal is
   * opaque to a browser's WebSocket), the upgrade handler stays synchronous,
   * and the browser's first frames queue in the relay meanwhile as they do
   * during any upstream connect. The wait is bounded by UPSTREAM_CONNECT_TIMEOUT_MS.
   */
  function connectAsServer(s: Session): void {
    const header = identity.current();
    if (header !== '') {
      relay.connect(s, header);
      return;
    }
    const timer = setTimeout(identityFailed, cfg.upstreamConnectTimeoutMs, s);
    identity.get().then(
      (h) => {
        clearTimeout(timer);
        if (s.client !== null && s.upstream === null) relay.connect(s, h);
      },
      () => {
        clearTimeout(timer);
        identityFailed(s);
      },
    );
  }

  function identityFailed(s: Session): void {
    if (s.client === null || s.upstream !== null) return;
    metrics.upstreamConnectsCredential++;
    relay.fail(s, Errors.UPSTREAM_CREDENTIAL);
  }

  for (const path of SOCKET_PATHS) {
    app.ws<ClientUserData>(path, behavior);
    // A plain GET on a socket path (no Upgrade header) is a client mistake worth naming.
    app.get(path, (res, req) => {
      const ctx = admitHttp(res, req);
      if (ctx !== null) sendError(res, Errors.UPGRADE_REQUIRED, ctx);
    });
  }

  // The browser demo (DEMO=true only), loaded lazily so production never reads its files.
  if (cfg.demo)
    (require('./demo/routes') as typeof import('./demo/routes')).registerDemoRoutes(
      app,
      admitHttp,
      undefined,
      demoMinter(cfg),
    );

  app.any('/*', (res, req) => {
    const ctx = admitHttp(res, req);
    if (ctx !== null) sendError(res, Errors.NOT_FOUND, ctx);
  });

  return new Promise((resolve, reject) => {
    app.listen(cfg.host, cfg.port, (listenSocket: us_listen_socket | false) => {
      if (listenSocket === false) {
        reject(new Error(`cannot listen on ${cfg.host}:${cfg.port}`));
        return;
      }
      sweeper.start();
      const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
      let closing: Promise<void> | null = null;
      const server: ProxyServer = {
        port,
        relay,
        gate,
        metrics,
        shutdown(graceMs: number): Promise<void> {
          closing ??= shutdown(graceMs);
          return closing;
        },
        abort() {
          gate.draining = true;
          identity.close();
          sweeper.stop();
          for (const s of relay.sessions) s.upstream?.terminate();
          uWS.us_listen_socket_close(listenSocket as us_listen_socket);
          app.close();
          fleet?.abort();
        },
      };
      async function shutdown(graceMs: number): Promise<void> {
        gate.draining = true;
        await waitIdle(graceMs);
        for (const s of relay.sessions) relay.fail(s, Errors.SHUTDOWN);
        // Give upstream legs a moment to finish their close handshakes.
        await waitIdle(2000);
        for (const s of relay.sessions) s.upstream?.terminate();
        sweeper.stop();
        identity.close();
        uWS.us_listen_socket_close(listenSocket as us_listen_socket);
        app.close();
        await fleet?.close();
      }
      function waitIdle(ms: number): Promise<void> {
        if (relay.sessions.size === 0) return Promise.resolve();
        return new Promise((done) => {
          const timer = setTimeout(finish, ms);
          function finish(): void {
            clearTimeout(timer);
            onIdle = null;
            done();
          }
          onIdle = finish;
        });
      }
      resolve(server);
    });
  });
}

/** The demo's /demo/ticket (DEMO=true only): tickets for its one user, signed with TICKET_SECRET. */
function demoMinter(cfg: Config): (() => Promise<string>) | null {
  if (cfg.clientAuth !== 'ticket' || cfg.ticketSecret === '') return null;
  const { mintTicket } = require('./auth/mint-ticket') as typeof import('./auth/mint-ticket');
  return () => mintTicket({ sub: 'demo-user', secret: cfg.ticketSecret, audience: cfg.ticketAudience });
}

const AUTH_RETRY_AFTER = 5;
const UNAVAILABLE: AuthOutcome = { ok: false, reason: 'unavailable', cause: 'verifier error' };

/** The user token the target would forward ('' when it carries none). */
function bearerOf(target: UpstreamTarget | null): string {
  const h = target?.headers.authorization;
  return h !== undefined && h.startsWith('Bearer ') ? h.slice(7) : '';
}

function countRefusal(m: Metrics, outcome: string): void {
  if (outcome === 'origin') m.upgradesOrigin++;
  else if (outcome === 'rate') m.upgradesRate++;
  else if (outcome === 'capacity') m.upgradesCapacity++;
  else if (outcome === 'ip_capacity') m.upgradesIpCapacity++;
  else if (outcome === 'draining') m.upgradesDraining++;
}
