// A local stand-in for Azure AI Foundry Voice Live on uWebSockets.js: the
// upstream for the proxy's tests, the benchmark and `npm run demo`. Built on
// uWS rather than ws because the benchmark pushes thousands of sessions
// through it and the simulator must not be the bottleneck being measured.
import { UPSTREAM_CALLS_PATH, UPSTREAM_PATH } from '../constants';
import { uws } from '../uws';
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_socket,
  us_socket_context_t,
  WebSocket,
  WebSocketBehavior,
} from 'uWebSockets.js';
import { event } from './events';
import type { SessionParams } from './events';
import { onMessage } from './handlers';
import { pump, SimSession, sendText } from './session';
import type { SessionEnv, SimulatorStats, UserData } from './session';

export type { SimulatorStats } from './session';

/** The simulator serves the path the proxy connects to. */
export const SIMULATOR_PATH = UPSTREAM_PATH;
/** ... and the WebRTC control channel. */
export const SIMULATOR_CALLS_PATH = UPSTREAM_CALLS_PATH;
const MAX_UPGRADE_RECORDS = 1000;

export interface SimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0: an ephemeral port, read it back from `port`. */
  port?: number;
  /** Wait before answering any upgrade (101 or refusal). Default 0. */
  handshakeDelayMs?: number;
  /** Answer every upgrade with this HTTP status and a JSON body, never 101. */
  rejectStatus?: number;
  /**
   * Default true: 401 unless a credential is sent: an `api-key` or
   * `authorization: Bearer x` header, or (as the service accepts from
   * browsers) `api-key=` or `authorization=Bearer x` in the query.
   */
  requireCredential?: boolean;
  /** PCM bytes per response.audio.delta. Default 4800 (100 ms at 24 kHz). */
  audioChunkBytes?: number;
  /** Largest client frame accepted. Default 16 MiB. */
  maxPayloadLength?: number;
  /** Serve wss:// (as Azure does) with this PEM certificate and key; the bench's TLS upstream mode. */
  tls?: { certFile: string; keyFile: string };
}

export interface UpgradeRecord {
  /** Path plus `?query` when there is one. */
  url: string;
  /** The path alone. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** Lowercased names; a repeated header is joined with `, `. */
  headers: Record<string, string>;
}

export interface Simulator {
  readonly port: number;
  readonly origin: string;
  readonly upgrades: UpgradeRecord[];
  readonly stats: SimulatorStats;
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An answer to an upgrade decided while `req` was still readable. */
type Decision = { status: number; code: string; message: string } | SessionParams;

class SimulatorServer implements Simulator {
  port = 0;
  origin = '';
  readonly upgrades: UpgradeRecord[] = [];
  readonly stats: SimulatorStats = { sessions: 0, active: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  readonly env: SessionEnv;
  readonly app: TemplatedApp;
  readonly delayMs: number;
  readonly rejectStatus: number;
  readonly requireCredential: boolean;
  readonly timers = new Set<NodeJS.Timeout>();
  closed = false;
  readonly scheme: 'ws' | 'wss';

  constructor(opts: SimulatorOptions) {
    this.delayMs = opts.handshakeDelayMs ?? 0;
    this.rejectStatus = opts.rejectStatus ?? 0;
    this.requireCredential = opts.requireCredential ?? true;
    this.env = { stats: this.stats, audioChunkBytes: positive(opts.audioChunkBytes ?? 4800, 'audioChunkBytes') };
    const maxPayloadLength = positive(opts.maxPayloadLength ?? 16 * 1024 * 1024, 'maxPayloadLength');
    const behavior: WebSocketBehavior<UserData> = {
      compression: uws().DISABLED,
      maxPayloadLength,
      // The pump stops at HIGH_WATER_BYTES, so only a peer that sends and
      // never reads gets here; it is closed rather than silently dropped.
      maxBackpressure: 64 * 1024 * 1024 + maxPayloadLength,
      closeOnBackpressureLimit: true,
      idleTimeout: 0,
      sendPingsAutomatically: false,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: onOpen,
      message: onWsMessage,
      drain: onDrain,
      close: onClose,
    };
    this.scheme = opts.tls === undefined ? 'ws' : 'wss';
    this.app = (
      opts.tls === undefined
        ? uws().App()
        : uws().SSLApp({ cert_file_name: opts.tls.certFile, key_file_name: opts.tls.keyFile })
    )
      .ws<UserData>(SIMULATOR_PATH, behavior)
      .ws<UserData>(SIMULATOR_CALLS_PATH, behavior)
      .any('/*', (res, req) => this.onHttp(res, req));
  }

  listen(host: string, port: number): Promise<this> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (socket === false) {
          reject(new Error(`simulator: cannot listen on ${host}:${port}`));
          return;
        }
        this.port = uws().us_socket_local_port(socket as unknown as us_socket);
        this.origin = `${this.scheme}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
        resolve(this);
      });
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.app.close(); // runs every socket's close handler before returning
    }
    return new Promise((resolve) => setImmediate(resolve));
  }

  private record(req: HttpRequest): UpgradeRecord {
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    req.forEach((key, value) => {
      headers[key] = key in headers ? headers[key] + ', ' + value : value;
    });
    const rec = { url: query === '' ? path : path + '?' + query, path, query, headers };
    if (this.upgrades.push(rec) > MAX_UPGRADE_RECORDS) this.upgrades.shift();
    return rec;
  }

  private onHttp(res: HttpResponse, req: HttpRequest): void {
    if (req.getHeader('upgrade') !== '') this.record(req);
    reply(res, 404, 'not_found', 'Not found');
  }

  private onUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // req is stack-allocated: everything needed later is read here.
    const rec = this.record(req);
    const decision = this.decide(rec);
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    if (this.delayMs <= 0) {
      this.answer(res, context, decision, key, protocol, extensions);
      return;
    }
    // The UpgradeAsync pattern: the client may hang up while we wait.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (aborted) return;
      res.cork(() => this.answer(res, context, decision, key, protocol, extensions));
    }, this.delayMs);
    this.timers.add(timer);
  }

  private decide(rec: UpgradeRecord): Decision {
    if (this.rejectStatus > 0)
      return { status: this.rejectStatus, code: String(this.rejectStatus), message: 'Rejected by simulator' };
    if (this.requireCredential && !hasCredential(rec)) {
      return {
        status: 401,
        code: '401',
        message: 'Access denied: missing api-key header or Authorization: Bearer token',
      };
    }
    return sessionParams(rec.query, rec.path === SIMULATOR_CALLS_PATH);
  }

  private answer(
    res: HttpResponse,
    context: us_socket_context_t,
    d: Decision,
    key: string,
    protocol: string,
    extensions: string,
  ): void {
    if ('status' in d) {
      reply(res, d.status, d.code, d.message);
      return;
    }
    const userData: UserData = { s: new SimSession(this.env, d) };
    res.upgrade(userData, key, protocol, extensions, context);
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`simulator: ${name} must be a positive integer, got ${n}`);
  return n;
}

function reply(res: HttpResponse, status: number, code: string, message: string): void {
  res
    .writeStatus(`${status} ${STATUS_TEXT[status] ?? 'Error'}`)
    .writeHeader('content-type', 'application/json')
    .end(JSON.stringify({ error: { code, message } }));
}

const BEARER = /^bearer\s+\S/i;

function hasCredential(rec: UpgradeRecord): boolean {
  const h = rec.headers;
  if (h['api-key'] || BEARER.test(h['authorization'] ?? '')) return true;
  const q = new URLSearchParams(rec.query);
  return !!q.get('api-key') || BEARER.test(q.get('authorization') ?? q.get('Authorization') ?? '');
}

/** Upgrade query -> session parameters, or the 400 the service would give. */
function sessionParams(query: string, call: boolean): Decision {
  const q = new URLSearchParams(query);
  const id = q.get('agent-id');
  const name = q.get('agent-name');
  const base = { apiVersion: q.get('api-version'), model: q.get('model'), call };
  if (id === null && name === null) return { ...base, agent: null };
  const project = q.get('agent-project-name');
  if (project === null || project === '') {
    return {
      status: 400,
      code: 'missing_agent_project_name',
      message: 'agent-project-name is required with agent-id or agent-name',
    };
  }
  return {
    ...base,
    agent: {
      id,
      name,
      version: q.get('agent-version'),
      project_name: project,
      conversation_id: q.get('conversation-id'),
    },
  };
}

// Socket handlers are module-level: per-socket state is the SimSession.
function onOpen(ws: WebSocket<UserData>): void {
  const s = ws.getUserData().s;
  s.ws = ws;
  s.env.stats.sessions++;
  s.env.stats.active++;
  sendText(s, event('session.created', { session: s.session }));
}

function onWsMessage(ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean): void {
  onMessage(ws.getUserData().s, message, isBinary);
}

function onDrain(ws: WebSocket<UserData>): void {
  pump(ws.getUserData().s);
}

function onClose(ws: WebSocket<UserData>): void {
  const s = ws.getUserData().s;
  s.closed = true;
  s.ws = null;
  s.jobs.length = 0;
  s.input.clear();
  s.env.stats.active--;
}

/** Start a simulator; resolves once it listens (port 0 picks a free port). */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const server = new SimulatorServer(opts);
  return server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
}
