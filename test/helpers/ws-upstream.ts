// A minimal `ws` upstream for tests that need to see what the simulator does
// not expose: close codes received, pings received, a socket left unread.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export interface UpstreamConn {
  ws: WebSocket;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
  messages: Array<{ data: Buffer; isBinary: boolean }>;
}

export interface WsUpstream {
  origin: string;
  conns: UpstreamConn[];
  nextConnection(): Promise<UpstreamConn>;
  close(): Promise<void>;
}

export async function startWsUpstream(onConnection?: (c: UpstreamConn) => void): Promise<WsUpstream> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const conns: UpstreamConn[] = [];
  const waiters: Array<(c: UpstreamConn) => void> = [];
  wss.on('connection', (ws, req) => {
    const c: UpstreamConn = {
      ws,
      url: req.url ?? '',
      headers: req.headers,
      pings: 0,
      messages: [],
      closed: new Promise((resolve) =>
        ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      ),
    };
    ws.on('ping', () => {
      c.pings++;
    });
    ws.on('message', (data: Buffer, isBinary) => {
      c.messages.push({ data, isBinary });
    });
    ws.on('error', () => undefined);
    conns.push(c);
    onConnection?.(c);
    const w = waiters.shift();
    if (w) w(c);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    origin: `ws://127.0.0.1:${port}`,
    conns,
    nextConnection() {
      const ready = conns.find((c) => !(c as { taken?: boolean }).taken);
      if (ready) {
        (ready as { taken?: boolean }).taken = true;
        return Promise.resolve(ready);
      }
      return new Promise((resolve) =>
        waiters.push((c) => {
          (c as { taken?: boolean }).taken = true;
          resolve(c);
        }),
      );
    },
    close() {
      for (const c of conns) c.ws.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
