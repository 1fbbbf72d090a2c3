// The demo page's routes, registered only when DEMO=true (server.ts loads
// this module lazily, so a production proxy never reads these files).
// demo/public/ is read once, at registration, into a fixed table: a request
// can only name a file that was there at start, so there is no path to
// traverse and no disk access per request.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { isLoopbackPeer } from '../admission/metrics-guard';
import { Errors } from '../errors';
import { sendError, sendJson, statusLine, type ResponseContext } from '../http/respond';
import { writeSecurityHeaders } from '../http/security-headers';

/** Same path from src/demo (tap runs the sources) and dist/demo (node runs the build). */
export const DEMO_PUBLIC_DIR = join(__dirname, '..', '..', 'demo', 'public');

export const DEMO_PREFIX = '/demo/';
/** The one user the demo's tickets name. */
export const DEMO_SUBJECT = 'demo-user';

/** The page's file types; anything else in the directory is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  // AudioWorklet.addModule() rejects a module served as anything but JavaScript.
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
});

const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** File name -> asset, for every servable file directly in `dir`. */
export function loadAssets(dir: string): Map<string, Asset> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new Error(`DEMO=true but the demo page is missing: ${dir} (run from a source checkout)`);
  }
  const assets = new Map<string, Asset>();
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined || !SAFE_NAME.test(name)) continue;
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    assets.set(name, Object.freeze({ contentType, body: readFileSync(file) }));
  }
  if (!assets.has('index.html')) throw new Error(`DEMO=true but ${join(dir, 'index.html')} is missing`);
  return assets;
}

/**
 * GET /demo -> 308 /demo/, GET /demo/ -> index.html, GET /demo/<file> -> that
 * file. Every answer carries the security headers; the page's own get the
 * demo CSP (scripts, styles and sockets from this origin only). Rate-limited
 * like the proxy's other HTTP routes.
 */
/** The proxy's rate-limited admission for plain HTTP requests (http/request-facts.ts). */
export type AdmitHttp = (res: HttpResponse, req: HttpRequest) => ResponseContext | null;

/** Mints a ticket for the demo's one user (CLIENT_AUTH=ticket with TICKET_SECRET), or null. */
export type DemoMinter = (() => Promise<string>) | null;

export function registerDemoRoutes(
  app: TemplatedApp,
  admit: AdmitHttp,
  dir = DEMO_PUBLIC_DIR,
  mint: DemoMinter = null,
): void {
  const assets = loadAssets(dir);

  // Demo only: hands a ticket to whoever asks from this machine, which is
  // exactly what a real backend must not do (it mints one per signed-in user).
  // `{"ticket":null}` unless the proxy runs with CLIENT_AUTH=ticket and
  // TICKET_SECRET. The socket's own address decides, never X-Forwarded-For: a
  // demo reached through a front end is reached from beyond loopback, and
  // its tickets would open sessions for anyone who can load the page.
  app.get('/demo/ticket', (res, req) => {
    const ctx = admit(res, req);
    if (ctx === null) return;
    if (mint !== null && !isLoopbackPeer(res.getRemoteAddress())) {
      sendError(res, Errors.DEMO_TICKET_LOOPBACK_ONLY, ctx);
      return;
    }
    if (mint === null) {
      sendJson(res, 200, '{"ticket":null}', ctx);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    mint().then(
      (ticket) => {
        if (!aborted) sendJson(res, 200, JSON.stringify({ ticket, sub: DEMO_SUBJECT }), ctx);
      },
      () => {
        if (!aborted) sendError(res, Errors.NOT_FOUND, ctx);
      },
    );
  });

  app.get('/demo', (res, req) => {
    const ctx = admit(res, req);
    if (ctx === null) return;
    res.cork(() => {
      res.writeStatus('308 Permanent Redirect');
      writeSecurityHeaders(res, ctx.tls, 'demo');
      res.writeHeader('Location', DEMO_PREFIX);
      res.endWithoutBody();
    });
  });

  app.get('/demo/*', (res, req) => {
    const name = req.getUrl().slice(DEMO_PREFIX.length) || 'index.html';
    const ctx = admit(res, req);
    if (ctx === null) return;
    const asset = assets.get(name);
    if (asset === undefined) {
      sendError(res, Errors.NOT_FOUND, ctx);
      return;
    }
    res.cork(() => {
      res.writeStatus(statusLine(200));
      writeSecurityHeaders(res, ctx.tls, 'demo');
      res.writeHeader('Content-Type', asset.contentType);
      // A demo is edited and reloaded: always revalidate, never serve stale JS.
      res.writeHeader('Cache-Control', 'no-cache');
      res.end(asset.body);
    });
  });
}
