// The uWS app: which handler answers which path, nothing else. Admission is
// decided in admission/ and upgrade/, frames move in relay/, the upstream
// address is made in upstream/, listening and draining are lifecycle.ts's,
// the certificate and its swaps tls/'s.
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { loadUws } from './uws';
import type { Config } from './config';
import { SOCKET_ENDPOINTS } from './constants';
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
import { serveTls, type TlsServing } from './tls/tls-serving';

export { UPSTREAM_MAX_PAYLOAD } from './proxy-context';
export type { ProxyDeps, ProxyServer } from './api-types';

/** Every path a browser or SDK may open its socket on: the ones `GET /` lists. */
export const SOCKET_PATHS: readonly string[] = Object.freeze(Object.values(SOCKET_ENDPOINTS));

/** The public handle (api-types.ts) plus the relay and the gate, for the process entry and the tests. */
export interface InspectableProxy extends ProxyServer {
  readonly relay: Relay;
  readonly gate: AdmissionGate;
  readonly corkAnchor: CorkAnchor;
  readonly sweeper: Sweeper;
}

export function startProxy(cfg: Config, deps: ProxyDeps): Promise<InspectableProxy> {
  const px = new ProxyContext(cfg, deps);
  const uws = loadUws(cfg.uwsMaxHeadersSize);
  const stray = (res: HttpResponse, req: HttpRequest): void => notFound(px, res, req);
  if (cfg.tlsCertFile === '') {
    const app = uws.App();
    // Upgrades decided after an await need a cork that is not their own (see cork-anchor.ts);
    // lifecycle.ts makes the anchor's request only when upgrades can wait (px.upgradesWait).
    px.corkAnchor.route(app, stray);
    routes(px)(app);
    let listenSocket: us_listen_socket | null = null;
    return listen(px, {
      app,
      rejoins: false,
      opened: (ls) => {
        listenSocket = ls;
      },
      close() {
        if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
        app.close();
      },
    });
  }
  // With TLS the anchor's loopback request is plain HTTP, so it gets a plain app of its own.
  const anchorApp = uws.App();
  px.corkAnchor.route(anchorApp, stray);
  anchorApp.any('/*', stray);
  let tls: TlsServing;
  try {
    tls = serveTls(cfg, routes(px), px.metrics, px.log, () => px.publishMetrics());
  } catch (err) {
    anchorApp.close();
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return listen(px, {
    app: tls.apps.app,
    rejoins: true,
    opened: (ls) => tls.listening(cfg.host, ls),
    close() {
      tls.close();
      anchorApp.close();
    },
  });
}

/**
 * Adds every route to an app. Runs once for a plain port; with TLS once for
 * each SSLApp, at start and at every certificate swap (tls/tls-apps.ts).
 */
function routes(px: ProxyContext): (app: TemplatedApp) => void {
  // One behaviour for every socket path (docs/contract.md §1): the older proxies' /ws, the
  // service's own path (so the official SDK can use the proxy as its
  // endpoint), the WebRTC control channel and the paths the openai clients open.
  const behavior = clientSocketBehavior(px);
  // The browser demo (DEMO=true only), loaded lazily so production never reads its files.
  const demo = px.cfg.demo ? (require('./demo/routes') as typeof import('./demo/routes')) : null;
  const minter = demo === null ? null : demoMinter(px);
  return (app) => {
    registerHttpRoutes(px, app);
    for (const path of SOCKET_PATHS) {
      app.ws<ClientUserData>(path, behavior);
      app.get(path, (res, req) => upgradeRequired(px, res, req));
    }
    demo?.registerDemoRoutes(app, (res, req) => admitHttp(px, res, req), undefined, minter);
    app.any('/*', (res, req) => notFound(px, res, req));
  };
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
