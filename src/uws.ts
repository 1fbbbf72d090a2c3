// The one place uWebSockets.js is loaded. uWS reads its request-header budget
// (UWS_HTTP_MAX_HEADERS_SIZE) from the environment once per process, when the
// addon loads, and its own default (4 KB) is smaller than an MSAL token in the
// query string plus a browser's headers; above the budget it answers 431
// before any handler runs.
//
// So the addon is not loaded on import: the first loadUws() call hands uWS
// the validated budget (cfg.uwsMaxHeadersSize) through the environment for
// the length of the require, and puts the environment back as it was. Entry
// points call it before anything else touches uWS; every other module reaches
// the addon through uws(). Worker threads share the addon the main thread
// loaded, so the main thread loads it before it starts them.
import type * as UWS from 'uWebSockets.js';
import { explainUwsLoadFailure } from './native-runtime';

export type Uws = typeof UWS;

/** Room for a long token in the query string plus a browser's own headers. */
export const DEFAULT_MAX_HEADERS_SIZE = 16384;

const VARIABLE = 'UWS_HTTP_MAX_HEADERS_SIZE';
let addon: Uws | null = null;

/**
 * The addon, loaded on the first call with a header budget of `maxHeadersSize`
 * bytes (without one: the environment's UWS_HTTP_MAX_HEADERS_SIZE, else 16 KiB).
 * Later calls return the addon as first loaded: the budget is fixed for the process.
 */
export function loadUws(maxHeadersSize?: number): Uws {
  if (addon !== null) return addon;
  const before = process.env[VARIABLE];
  process.env[VARIABLE] = String(maxHeadersSize ?? before ?? DEFAULT_MAX_HEADERS_SIZE);
  try {
    addon = require('uWebSockets.js') as Uws;
  } catch (err) {
    // Its own message names neither the glibc it needs nor a Node to use.
    throw new Error(explainUwsLoadFailure(err), { cause: err });
  } finally {
    if (before === undefined) delete process.env[VARIABLE];
    else process.env[VARIABLE] = before;
  }
  return addon;
}

/** The addon for a module that uses it; loads it with the default budget if no entry point has. */
export function uws(): Uws {
  return addon ?? loadUws();
}

// uWS's listen options. index.d.ts declares them as an enum the addon does not
// export (ListenOptions is undefined at run time) and omits the overload with
// both a host and options, which the addon accepts.
/** LIBUS_LISTEN_DEFAULT: SO_REUSEPORT on a non-zero port, so another app or thread can join it. */
export const LISTEN_SHARED = 0;

/** LIBUS_LISTEN_EXCLUSIVE_PORT: the port is this app's alone. */
export function listenExclusive(): number {
  return (uws() as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
}

type ListenWithHost = (
  host: string,
  port: number,
  options: number,
  cb: (listenSocket: UWS.us_listen_socket | false) => void,
) => UWS.TemplatedApp;

/** app.listen(host, port, options, cb): the overload index.d.ts leaves out. */
export function listenOn(
  app: UWS.TemplatedApp,
  host: string,
  port: number,
  options: number,
  cb: (listenSocket: UWS.us_listen_socket | false) => void,
): void {
  (app.listen as unknown as ListenWithHost)(host, port, options, cb);
}
