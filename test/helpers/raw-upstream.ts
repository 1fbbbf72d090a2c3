// An upstream that does the WebSocket handshake by hand and then writes
// whatever bytes a test chooses (frames cut anywhere, frames in the same
// write as the 101 response, malformed frames), over TCP or TLS. What the
// proxy sends back is parsed by ws's own Receiver in server mode.
import { createHash } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Writable } from 'node:stream';
import WebSocket from 'ws';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface RawConn {
  socket: Socket;
  /** Frames the proxy sent, unmasked. */
  messages: Array<{ data: Buffer; isBinary: boolean }>;
  pongs: Buffer[];
  /** The proxy's close frame (code 1005 when it had none), or 1006 if the TCP connection ended without one. */
  closed: Promise<{ code: number; reason: string }>;
  /** Writes and resolves once the bytes are handed to the kernel. */
  write(bytes: Buffer): Promise<void>;
}

export interface RawUpstream {
  origin: string;
  nextConnection(): Promise<RawConn>;
  close(): Promise<void>;
}

export interface RawUpstreamOptions {
  /** Bytes written in the same write as the 101 response. */
  head?: Buffer;
  tls?: { cert: Buffer; key: Buffer };
}

export async function startRawUpstream(opts: RawUpstreamOptions = {}): Promise<RawUpstream> {
  const waiters: Array<(c: RawConn) => void> = [];
  const ready: RawConn[] = [];
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let request = '';
    const onRequest = (chunk: Buffer): void => {
      request += chunk.toString('latin1');
      const end = request.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onRequest);
      const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      const response = Buffer.from(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        'latin1',
      );
      socket.write(Buffer.concat([response, opts.head ?? Buffer.alloc(0)]));
      const conn = track(socket, Buffer.from(request.slice(end + 4), 'latin1'));
      const w = waiters.shift();
      if (w) w(conn);
      else ready.push(conn);
    };
    socket.on('data', onRequest);
  };
  const server: Server = opts.tls ? createTlsServer(opts.tls, onSocket) : createTcpServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${opts.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    nextConnection() {
      const c = ready.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function track(socket: Socket, rest: Buffer): RawConn {
  const Receiver = (WebSocket as unknown as { Receiver: new (o: object) => Writable }).Receiver;
  const receiver = new Receiver({ isServer: true, binaryType: 'nodebuffer', allowSynchronousEvents: true });
  const messages: RawConn['messages'] = [];
  const pongs: Buffer[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    receiver.on('conclude', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
    socket.on('close', () => resolve({ code: 1006, reason: '' }));
  });
  receiver.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  receiver.on('pong', (data: Buffer) => pongs.push(data));
  receiver.on('error', () => socket.destroy());
  if (rest.length > 0) receiver.write(rest);
  socket.on('data', (d: Buffer) => receiver.write(d));
  return {
    socket,
    messages,
    pongs,
    closed,
    write: (bytes) => new Promise<void>((resolve) => socket.write(bytes, () => resolve())),
  };
}

/** A server frame (unmasked), optionally with the FIN bit clear or RSV bits set. */
export function serverFrame(
  opcode: number,
  payload: Buffer | string,
  opts: { fin?: boolean; rsv?: number } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + len);
  out[0] = (opts.fin === false ? 0 : 0x80) | (opts.rsv ?? 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  data.copy(out, head);
  return out;
}
