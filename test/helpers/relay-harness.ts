// A Relay on its own, over real sockets: a uWS server on 127.0.0.1 whose
// socket handlers call the relay (as src/socket/client-socket.ts does, without
// admission), a real `ws` upstream (test/helpers/ws-upstream.ts), and `ws`
// browsers. The relay's metrics, budget and outbox are the real ones.
import type { Test } from 'tap';
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';
import pino from 'pino';
import { Relay, type RelayOptions } from '../../src/relay/relay';
import type { ClientUserData, Session } from '../../src/relay/session';
import { BufferBudget } from '../../src/relay/buffer-budget';
import { Outbox } from '../../src/relay/outbox';
import { Metrics } from '../../src/observability/metrics';
import { Meter } from '../../src/usage/meter';
import { UsageTotals } from '../../src/usage/usage-totals';
import { usageRows } from '../../src/observability/usage-metric-table';
import type { UpstreamTarget } from '../../src/upstream/target';
import { startWsUpstream, type UpstreamConn, type WsUpstream } from './ws-upstream';

export const DEFAULTS: RelayOptions = {
  pendingMaxFrames: 64,
  pendingMaxBytes: 1024 * 1024,
  clientHighWaterBytes: 1024 * 1024,
  upstreamMaxBufferedBytes: 8 * 1024 * 1024,
  upstreamConnectTimeoutMs: 5000,
  upstreamMaxPayload: 16 * 1024 * 1024,
};

export interface Browser {
  ws: WebSocket;
  messages: Array<{ data: Buffer; isBinary: boolean }>;
  closed: Promise<{ code: number; reason: string }>;
}

export interface RelayHarness {
  relay: Relay;
  metrics: Metrics;
  budget: BufferBudget;
  upstream: WsUpstream;
  /** Sessions in the order the relay finished them. */
  finished: Session[];
  /** Resolves when `s` is finished. */
  finishedOf(s: Session): Promise<void>;
  /** A browser, its session, and (unless `connectNow` is false) the upstream connection it opened. */
  connect(connectNow?: boolean): Promise<{ browser: Browser; s: Session }>;
  /** A target for upstreams other than the harness's own (a port that never answers, say). */
  target(origin: string): UpstreamTarget;
  /** The next sessions go to `target`. */
  useTarget(target: UpstreamTarget): void;
}

interface Options {
  relay?: Partial<RelayOptions>;
  budgetBytes?: number;
  /** uWS maxBackpressure toward the browsers. */
  maxBackpressure?: number;
  /** Called with each upstream connection as it arrives. */
  onUpstream?: (c: UpstreamConn) => void;
  /** Called right after the relay handled a browser's close. */
  onClientClosed?: (s: Session) => void;
}

function makeTarget(origin: string): UpstreamTarget {
  return {
    mode: 'standard',
    credential: 'key',
    label: 'gpt-test',
    url: `${origin}/voice-live/realtime?model=gpt-test`,
    path: '/voice-live/realtime',
    headers: {},
    requestId: 'req-test',
    transport: 'websocket',
    apiVersion: '2025-10-01',
  } as UpstreamTarget;
}

export async function startRelay(t: Test, o: Options = {}): Promise<RelayHarness> {
  const upstream = await startWsUpstream(o.onUpstream);
  t.teardown(() => upstream.close());
  const metrics = new Metrics();
  const budget = new BufferBudget(o.budgetBytes ?? 64 * 1024 * 1024);
  const finished: Session[] = [];
  const finishWaiters = new Map<Session, () => void>();
  const relay = new Relay(
    { ...DEFAULTS, ...o.relay },
    metrics,
    budget,
    new Outbox(),
    (s) => {
      finished.push(s);
      finishWaiters.get(s)?.();
    },
    new Meter<Session>(new UsageTotals(metrics.usage, usageRows({ allowedModels: [], defaultModel: 'gpt-test' }))),
  );
  const log = pino({ level: 'silent' });
  let nextTarget = makeTarget(upstream.origin);
  let connectNow = true;
  const opened: Array<(s: Session) => void> = [];
  const app = uWS.App().ws<ClientUserData>('/*', {
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: o.maxBackpressure ?? 64 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    idleTimeout: 0,
    open: (ws) => {
      const s = relay.open(ws, nextTarget, '127.0.0.1', log, connectNow);
      ws.getUserData().session = s;
      opened.shift()?.(s);
    },
    message: (ws, message, isBinary) => {
      const s = ws.getUserData().session;
      if (s !== null) relay.clientMessage(s, message, isBinary);
    },
    drain: (ws) => {
      const s = ws.getUserData().session;
      if (s !== null) relay.clientDrain(s);
    },
    close: (ws, code, message) => {
      const s = ws.getUserData().session;
      if (s === null) return;
      relay.clientClosed(s, code, Buffer.from(message).toString());
      o.onClientClosed?.(s);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (ls) => {
      if (!ls) return reject(new Error('cannot listen'));
      t.teardown(() => uWS.us_listen_socket_close(ls));
      resolve(uWS.us_socket_local_port(ls));
    }),
  );
  const harness: RelayHarness = {
    relay,
    metrics,
    budget,
    upstream,
    finished,
    finishedOf: (s) => (finished.includes(s) ? Promise.resolve() : new Promise<void>((r) => finishWaiters.set(s, r))),
    target: makeTarget,
    useTarget: (target) => (nextTarget = target),
    async connect(now = true) {
      connectNow = now;
      const session = new Promise<Session>((r) => opened.push(r));
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      t.teardown(() => ws.terminate());
      ws.on('error', () => undefined);
      const messages: Browser['messages'] = [];
      ws.on('message', (data: Buffer, isBinary) => messages.push({ data, isBinary }));
      const closed = new Promise<{ code: number; reason: string }>((r) =>
        ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
      );
      await new Promise((r) => ws.once('open', r));
      return { browser: { ws, messages, closed }, s: await session };
    },
  };
  return harness;
}
