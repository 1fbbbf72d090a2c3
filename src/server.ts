// The uWS app: which handler answers which path, nothing else. Admission is
// decided in admission/ and upgrade/, frames move in relay/, the upstream
// address is made in upstream/, listening and draining are lifecycle.ts's.
import { loadUws } from './uws';
import type { Config } from './config';
import { AZURE_OPENAI_GA_PATH, AZURE_OPENAI_PATH, OPENAI_PATH, UPSTREAM_CALLS_PATH, UPSTREAM_PATH } from './constants';
import { admitHttp } from './http/request-facts';
import { notFound, registerHttpRoutes, upgradeRequired } from './http/routes';
import { listen } from './lifecycle';
import type { ProxyDeps, ProxyServer } from './api-types';
import { ProxyContext } from './proxy-context';
import type { Relay } from './relay/relay';
import type { Sweeper } from './relay/sweeper';
import type { ClientUserData } from './relay/session';
import type { AdmissionGate } from './admission/gate';
import type { CorkAnchor } from './http/cork-anchor';
import { clientSocketBehavior } from './socket/client-socket';

export { UPSTREAM_MAX_PAYLOAD } from './proxy-context';
export type { ProxyDeps, ProxyServer } from './api-types';

/** Every path a browser or SDK may open its socket on. */
export const SOCKET_PATHS: readonly string[] = [
  '/ws',
  UPSTREAM_PATH,
  UPSTREAM_CALLS_PATH,
  OPENAI_PATH,
  AZURE_OPENAI_GA_PATH,
  AZURE_OPENAI_PATH,
];

/** The public handle (api-types.ts) plus the relay and the gate, for the process entry and the tests. */
export interface InspectableProxy extends ProxyServer {
  readonly relay: Relay;
  readonly gate: AdmissionGate;
  readonly corkAnchor: CorkAnchor;
  readonly sweeper: Sweeper;
}

export function startProxy(cfg: Config, deps: ProxyDeps): Promise<InspectableProxy> {
  const px = new ProxyContext(cfg, deps);
  const app = loadUws(cfg.uwsMaxHeadersSize).App();
  registerHttpRoutes(px, app);
  // Upgrades decided after an await need a cork that is not their own (see cork-anchor.ts);
  // lifecycle.ts makes the anchor's request only when CLIENT_AUTH or the fleet defers upgrades.
  px.corkAnchor.route(app, (res, req) => notFound(px, res, req));

  // One behaviour for every socket path (docs/contract.md §1): the older proxies' /ws, the
  // service's own path (so the official SDK can use the proxy as its
  // endpoint), the WebRTC control channel and the paths the openai clients open.
  const behavior = clientSocketBehavior(px);
  for (const path of SOCKET_PATHS) {
    app.ws<ClientUserData>(path, behavior);
    app.get(path, (res, req) => upgradeRequired(px, res, req));
  }

  // The browser demo (DEMO=true only), loaded lazily so production never reads its files.
  if (cfg.demo)
    (require('./demo/routes') as typeof import('./demo/routes')).registerDemoRoutes(
      app,
      (res, req) => admitHttp(px, res, req),
      undefined,
      demoMinter(px),
    );

  app.any('/*', (res, req) => notFound(px, res, req));
  return listen(px, app);
}

/** The demo's /demo/ticket (DEMO=true only): tickets for its one user, signed with TICKET_SECRET. */
function demoMinter(px: ProxyContext): (() => Promise<string>) | null {
  const cfg = px.cfg;
  if (cfg.clientAuth !== 'ticket' || cfg.ticketSecret === '') return null;
  // Said at start: whoever can ask /demo/ticket gets a session, so the route answers loopback peers only.
  px.log.warn(
    { route: '/demo/ticket', subject: 'demo-user' },
    'DEMO=true with CLIENT_AUTH=ticket: /demo/ticket hands a ticket to any caller on this machine (loopback peers only; others get 403)',
  );
  const { mintTicket } = require('./auth/mint-ticket') as typeof import('./auth/mint-ticket');
  return () => mintTicket({ sub: 'demo-user', secret: cfg.ticketSecret, audience: cfg.ticketAudience });
}
