// The upgrade handler of every socket path. Everything needed later is copied
// out of the stack-allocated HttpRequest first, synchronously; then the local
// gate decides (docs/contract.md §4), the query becomes an upstream target,
// and the connection is upgraded now, or later through a DeferredUpgrade
// when CLIENT_AUTH or the fleet must be asked first.
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { newVerdict } from '../admission/gate';
import type { CallerCredentials } from '../auth/caller-auth';
import { ticketParam } from '../auth/query-ticket';
import { UPSTREAM_CALLS_PATH } from '../constants';
import { DeferredUpgrade } from '../http/deferred-upgrade';
import { corsOrigin, requestFacts } from '../http/request-facts';
import { sendError } from '../http/respond';
import type { ProxyContext } from '../proxy-context';
import type { ClientUserData } from '../relay/session';
import { acceptRequestId, parseClientParams } from '../upstream/params';
import { buildTarget, type UpstreamTarget } from '../upstream/target';
import { countUpgrade, countUpgraded } from './upgrade-counters';
import { AUTH_UNAVAILABLE, admitCaller, admitFleet } from './late-admission';
import { releaseSlots } from './slots';

export function upgrade(px: ProxyContext, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const f = requestFacts(px, res, req);
  const key = req.getHeader('sec-websocket-key');
  const protocol = firstProtocol(req.getHeader('sec-websocket-protocol'));
  const extensions = req.getHeader('sec-websocket-extensions');
  const clientRequestId = acceptRequestId(req.getHeader('x-ms-client-request-id'));
  const credentialHeaders = { authorization: req.getHeader('authorization'), apiKey: req.getHeader('api-key') };
  const callsPath = req.getUrl() === UPSTREAM_CALLS_PATH;
  const query = req.getQuery() ?? '';
  // `req` is not touched past this line.

  const { cfg, log, metrics } = px;
  const v = px.gate.decideUpgrade(f, newVerdict());
  if (v.error !== null) {
    countUpgrade(metrics, v.outcome);
    log.debug({ ip: v.ip, outcome: v.outcome }, 'upgrade refused');
    sendError(res, v.error, { tls: v.tls, corsOrigin: corsOrigin(px, f) }, v.retryAfter);
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
      ud.requestError = px.models.check(built.target);
    } else {
      ud.requestError = built.error;
    }
  }
  const auth = px.auth;
  // A request error never reaches the upstream, so in token mode (where
  // the credential to verify is the one it would forward) it is reported as usual.
  if ((auth === null && px.fleet === null) || (auth?.mode === 'token' && ud.requestError !== null)) {
    countUpgraded(px.metrics, ud);
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
    { tls: v.tls, corsOrigin: corsOrigin(px, f) },
    px.corkAnchor,
    () => {
      log.debug({ ip: ud.ip }, 'client left before admission was decided');
      releaseSlots(px, ud);
    },
  );
  if (auth === null) {
    admitFleet(px, later, ud);
    return;
  }
  const credentials: CallerCredentials = {
    ticket: auth.mode === 'ticket' ? ticketParam(query) : '',
    bearer: auth.mode === 'token' ? bearerOf(ud.target) : '',
    origin: f.origin,
  };
  auth.verify(credentials).then(
    (outcome) => admitCaller(px, later, ud, outcome),
    () => admitCaller(px, later, ud, AUTH_UNAVAILABLE),
  );
}

/** The first offered subprotocol is echoed, as the `ws` server the older proxies used did. */
function firstProtocol(header: string): string {
  const comma = header.indexOf(',');
  return (comma === -1 ? header : header.slice(0, comma)).trim();
}

/** The user token the target would forward ('' when it carries none). */
function bearerOf(target: UpstreamTarget | null): string {
  const h = target?.headers.authorization;
  return h !== undefined && h.startsWith('Bearer ') ? h.slice(7) : '';
}
