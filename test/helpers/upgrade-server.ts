// The real upgrade handler and pipeline on a real uWS app, with a socket
// behaviour of its own that only records: 'open' (the 101 was given) and
// 'handler returned' (the upgrade handler's call ended), so a test can tell a
// synchronous upgrade from a deferred one. A closing socket gives its slots
// back (releaseSlots), as the proxy's own close handler does. No upstream is
// ever dialled.
import { Writable } from 'node:stream';
import { connect, type Socket } from 'node:net';
import type { us_listen_socket, us_socket, WebSocket } from 'uWebSockets.js';
import { uws } from '../../src/uws';
import { loadConfig, type Env } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { ProxyContext } from '../../src/proxy-context';
import type { ClientUserData } from '../../src/relay/session';
import { releaseSlots } from '../../src/upgrade/slots';
import { upgrade } from '../../src/upgrade/upgrade-handler';
import { upgradeRequest } from './raw-upgrade';

export interface UpgradeServer {
  readonly px: ProxyContext;
  readonly port: number;
  readonly events: string[];
  readonly logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose msg is `msg` (already written or to come). */
  logLine(msg: string): Promise<Record<string, unknown>>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startUpgradeServer(t: Teardown, env: Env = {}): Promise<UpgradeServer> {
  const cfg = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    AZURE_VOICE_LIVE_ENDPOINT: 'http://127.0.0.1:9',
    AZURE_SPEECH_KEY: 'sk-test-api-key-0123456789abcdef',
    ALLOWED_ORIGINS: 'http://localhost:3000',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const watchers: Array<{ msg: string; resolve: (v: Record<string, unknown>) => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString().split('\n')) {
        if (text === '') continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        logs.push(line);
        for (let i = watchers.length - 1; i >= 0; i--) {
          if (line.msg === watchers[i].msg) watchers.splice(i, 1)[0].resolve(line);
        }
      }
      cb();
    },
  });
  const px = new ProxyContext(cfg, { logger: createLogger({ level: cfg.logLevel, pretty: false, destination }) });
  const events: string[] = [];
  const sockets = new Set<WebSocket<ClientUserData>>();
  const app = uws().App();
  px.corkAnchor.route(app, (res) => res.cork(() => res.writeStatus('404 Not Found').end()));
  app.ws<ClientUserData>('/ws', {
    upgrade: (res, req, context) => {
      upgrade(px, res, req, context);
      events.push('handler returned');
    },
    open: (ws) => {
      events.push('open');
      sockets.add(ws);
    },
    close: (ws) => {
      sockets.delete(ws);
      events.push('close');
      releaseSlots(px, ws.getUserData());
    },
  });
  const ls = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s === false ? reject(new Error('cannot listen')) : resolve(s))),
  );
  if (px.auth !== null || px.fleet !== null) await px.corkAnchor.start();
  t.teardown(async () => {
    for (const ws of sockets) ws.close();
    px.corkAnchor.stop();
    await px.fleet?.close();
    uws().us_listen_socket_close(ls);
  });
  return {
    px,
    port: uws().us_socket_local_port(ls as unknown as us_socket),
    events,
    logs,
    logLine(msg) {
      const hit = logs.find((l) => l.msg === msg);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve) => watchers.push({ msg, resolve }));
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Still open after a 101 (end it with destroy()). */
  socket: Socket;
}

/** Connects (from `localAddress`), sends one upgrade request and resolves with the head of the answer. */
export function sendUpgrade(
  port: number,
  opts: { query?: string; origin?: string; localAddress?: string } = {},
): { socket: Socket; answer: Promise<Answer> } {
  const socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress ?? '127.0.0.1' });
  const path = opts.query === undefined ? '/ws' : `/ws?${opts.query}`;
  socket.once('connect', () => socket.write(upgradeRequest(port, { path, origin: opts.origin })));
  const answer = new Promise<Answer>((resolve, reject) => {
    let buf = '';
    socket.setEncoding('latin1');
    const onData = (d: string): void => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = buf.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const colon = l.indexOf(':');
        headers[l.slice(0, colon).toLowerCase()] = l.slice(colon + 1).trim();
      }
      const status = Number(lines[0].slice(9, 12));
      const length = Number(headers['content-length'] ?? 0);
      if (status !== 101 && buf.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({ status, headers, body: buf.slice(end + 4, end + 4 + length), socket });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(buf)}`)));
  });
  return { socket, answer };
}

/** One upgrade; a 101's socket is ended at once unless `keep` is set. */
export async function upgradeOnce(
  port: number,
  opts: { query?: string; origin?: string; localAddress?: string; keep?: boolean } = {},
): Promise<Answer> {
  const a = await sendUpgrade(port, opts).answer;
  a.socket.removeAllListeners('close');
  if (a.status !== 101 || opts.keep !== true) a.socket.destroy();
  return a;
}

/** The JSON error code of a refusal. */
export function codeOf(a: Answer): string {
  return (JSON.parse(a.body) as { error: { code: string } }).error.code;
}
