// Listen, drain, close. Shutdown stops new upgrades (draining: probes answer
// 503, upgrades are refused), lets sessions end on their own for the grace
// period, closes the rest with 1001, and only then closes the port: the
// uWS app must outlive its last socket. abort() is the dying thread's path.
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { LISTEN_SHARED, listenExclusive, listenOn, uws } from './uws';
import { Errors } from './errors';
import { probePort } from './port-probe';
import type { ProxyContext } from './proxy-context';
import type { InspectableProxy } from './server';

/** How long closed sessions' upstream legs get to finish their close handshakes. */
const UPSTREAM_CLOSE_WAIT_MS = 2000;

/**
 * The app that listens and how to close every socket: one App for a plain
 * port; with TLS the current SSLApp, whose listening socket a certificate
 * swap replaces (tls/tls-apps.ts).
 */
export interface Served {
  readonly app: TemplatedApp;
  /** The port must take a second listening socket later (a certificate swap): SO_REUSEPORT in a lone thread too. */
  readonly rejoins: boolean;
  /** The port is open on `listenSocket`. */
  opened(listenSocket: us_listen_socket): void;
  /** Closes the listening socket (if open) and every socket of every app. */
  close(): void;
}

export async function listen(px: ProxyContext, served: Served): Promise<InspectableProxy> {
  const { app } = served;
  const { cfg } = px;
  // uWS sets SO_REUSEPORT by default, so a second proxy started on a taken
  // port (a stale process, a double deploy) would silently split the
  // sessions with the first. A lone thread takes its port exclusively and
  // fails to start instead; worker threads share theirs by design (the
  // primary has checked that no one else holds it: port-probe.ts). A lone
  // thread whose certificate swaps need SO_REUSEPORT checks the port the same
  // way, and turns PORT=0 into a fixed port the swaps can join.
  let port = cfg.port;
  if (served.rejoins && !px.sharesPort) {
    try {
      port = await probePort(cfg.host, port);
    } catch (err) {
      served.close();
      throw err;
    }
  }
  // Held before the port opens, so the first late upgrade is already corked by
  // it; only CLIENT_AUTH and the fleet make upgrades late.
  if (px.upgradesWait) await px.corkAnchor.start();
  return new Promise((resolve, reject) => {
    const options = px.sharesPort || served.rejoins ? LISTEN_SHARED : listenExclusive();
    listenOn(app, cfg.host, port, options, (listenSocket) => {
      if (listenSocket === false) {
        px.corkAnchor.stop();
        served.close();
        reject(new Error(`cannot listen on ${cfg.host}:${port} (in use, or not an address of this host)`));
        return;
      }
      served.opened(listenSocket);
      px.sweeper.start();
      let closing: Promise<void> | null = null;
      resolve({
        port: uws().us_socket_local_port(listenSocket as unknown as us_socket),
        relay: px.relay,
        gate: px.gate,
        corkAnchor: px.corkAnchor,
        sweeper: px.sweeper,
        metrics: px.metrics,
        shutdown(graceMs: number): Promise<void> {
          closing ??= shutdown(px, served, graceMs);
          return closing;
        },
        abort: () => abort(px, served),
      });
    });
  });
}

async function shutdown(px: ProxyContext, served: Served, graceMs: number): Promise<void> {
  const { relay } = px;
  px.gate.draining = true;
  await waitIdle(px, graceMs);
  for (const s of relay.sessions) relay.fail(s, Errors.SHUTDOWN);
  await waitIdle(px, UPSTREAM_CLOSE_WAIT_MS);
  for (const s of relay.sessions) s.upstream?.terminate();
  px.sweeper.stop();
  px.identity.close();
  px.corkAnchor.stop();
  served.close();
  // The sessions' last use goes to the day's totals while Redis is still connected.
  await px.quotas?.close();
  await px.fleet?.close();
}

function abort(px: ProxyContext, served: Served): void {
  px.gate.draining = true;
  px.identity.close();
  px.sweeper.stop();
  for (const s of px.relay.sessions) s.upstream?.terminate();
  px.corkAnchor.stop();
  served.close();
  px.fleet?.abort();
}

/** Resolves when the last session has ended (ProxyContext.onIdle), or after `ms`. */
function waitIdle(px: ProxyContext, ms: number): Promise<void> {
  if (px.relay.sessions.size === 0) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      px.onIdle = null;
      done();
    }
    px.onIdle = finish;
  });
}
