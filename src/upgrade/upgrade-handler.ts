// The upgrade handler of every socket path. Everything needed later is copied
// out of the stack-allocated HttpRequest first, synchronously; then the gate
// decides (docs/contract.md §4), the client's query becomes an upstream
// target, and the rest of the pipeline (pipeline.ts) upgrades now, or later
// when CLIENT_AUTH or the fleet must be asked first.
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { newIdentity } from '../admission/gate';
import { ticketParam } from '../auth/query-ticket';
import { GA_PROTOCOL_PATHS, UPSTREAM_CALLS_PATH } from '../constants';
import { corsOrigin, requestFacts } from '../http/request-facts';
import { UpgradeReply } from '../http/upgrade-reply';
import type { RouteProtocol } from '../config/api-versions';
import type { ProxyContext } from '../proxy-context';
import type { ClientUserData } from '../relay/session';
import { buildTarget, type UpstreamTarget } from '../upstream/target';
import { Attempt } from './attempt';
import { acceptRequestId, parseClientParams, type CredentialHeaders } from './client-params';
import { gateStep } from './gate-step';
import { chooseProtocol } from './subprotocols';
import { admit, refuse } from './pipeline';

export function upgrade(px: ProxyContext, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const f = requestFacts(px, res, req);
  if (f === null) return; // it carried a body: answered 400, connection closing, no slot taken
  const key = req.getHeader('sec-websocket-key');
  const offer = chooseProtocol(req.getHeader('sec-websocket-protocol'));
  const extensions = req.getHeader('sec-websocket-extensions');
  const clientRequestId = acceptRequestId(req.getHeader('x-ms-client-request-id'));
  const credentialHeaders = { authorization: req.getHeader('authorization'), apiKey: req.getHeader('api-key') };
  const path = req.getUrl();
  const callsPath = path === UPSTREAM_CALLS_PATH;
  const route = GA_PROTOCOL_PATHS.includes(path) ? 'openai-ga' : 'voice-live';
  const query = req.getQuery() ?? '';
  // `req` is not touched past this line.

  const id = newIdentity();
  const refused = gateStep(px.gate, f, id);
  const ud: ClientUserData = {
    session: null,
    requestError: null,
    target: null,
    // The gate admitted: it holds a capacity slot.
    hasSlot: refused === null,
    ip: id.ip,
    ipKey: id.ipKey,
    origin: f.origin,
    clientRequestId,
    subject: '',
    lease: null,
  };
  const a = new Attempt(
    new UpgradeReply(res, key, offer.echo, extensions, context, { tls: id.tls, corsOrigin: corsOrigin(px, f) }),
    ud,
  );
  if (refused !== null) {
    refuse(px, a, refused);
    return;
  }
  readTarget(px, ud, query, credentialHeaders, callsPath, route, offer.apiKey);
  const auth = px.auth;
  if (auth !== null) {
    a.credentials = {
      ticket: auth.mode === 'ticket' ? ticketParam(query) : '',
      bearer: auth.mode === 'token' ? bearerOf(ud.target) : '',
      origin: f.origin,
    };
  }
  admit(px, a);
}

/**
 * The client's query as an upstream target, or the request error to report
 * after the upgrade (error event + 1008: a browser cannot read an HTTP
 * refusal's body).
 */
function readTarget(
  px: ProxyContext,
  ud: ClientUserData,
  query: string,
  credentialHeaders: CredentialHeaders,
  callsPath: boolean,
  route: RouteProtocol,
  protocolKey: boolean,
): void {
  const { cfg, log, metrics } = px;
  const parsed = parseClientParams(query, cfg.allowedApiVersions, credentialHeaders, route);
  if (!parsed.ok) {
    ud.requestError = parsed.error;
    return;
  }
  const p = parsed.params;
  if (p.apiKeyIgnored || p.bearerDropped || p.tokenDropped || protocolKey) {
    // Client secrets are dropped, never forwarded: the proxy's own credential serves the session.
    // Counted and logged by kind so an operator sees apps sending keys; the values never appear.
    const dropped: string[] = [];
    if (p.apiKeyIgnored) {
      metrics.clientCredentialsDroppedApiKey++;
      dropped.push('api_key');
    }
    if (p.bearerDropped) {
      metrics.clientCredentialsDroppedBearer++;
      dropped.push('bearer');
    }
    if (p.tokenDropped) {
      metrics.clientCredentialsDroppedToken++;
      dropped.push('token');
    }
    if (protocolKey) {
      metrics.clientCredentialsDroppedSubprotocol++;
      dropped.push('subprotocol');
    }
    log.debug({ ip: ud.ip, dropped }, 'client credential dropped, not forwarded');
  }
  if (p.clientApiVersion !== '' && p.clientApiVersion !== p.apiVersion) {
    log.debug(
      { ip: ud.ip, requested: p.clientApiVersion, upstream: p.apiVersion || cfg.apiVersion },
      'api-version mapped',
    );
  }
  if (parsed.params.unknownCount > 0) {
    // Dropped, never forwarded; counted so an operator sees a client asking for something.
    metrics.unknownParameters += parsed.params.unknownCount;
    log.debug(
      { ip: ud.ip, unknown: parsed.params.unknown, count: parsed.params.unknownCount },
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

/** The user token the target would forward ('' when it carries none). */
function bearerOf(target: UpstreamTarget | null): string {
  const h = target?.headers.authorization;
  return h !== undefined && h.startsWith('Bearer ') ? h.slice(7) : '';
}
