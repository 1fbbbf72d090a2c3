// The one module that touches ws's private fields (src/upstream/ws-adapter.ts)
// against the installed ws: the fields exist with the types it expects, and
// a client whose reads were taken over (our parser feeding the adapter, as
// the proxy's upstream leg does) behaves exactly as a plain ws client whose
// own Receiver reads: the close handshake, ping -> automatic pong, pong, and
// a protocol failure give the same events on both ends. A ws release that
// changes any of this fails here, and ws is pinned exactly in package.json.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { FrameParser, type FrameSink } from '../../src/upstream/frame-parser';
import { emitClose, emitControl, failReceiver, socketOf, takeSocket } from '../../src/upstream/ws-adapter';

type Mode = 'ws' | 'adapter';
/** Both clients' limit on a message, as the proxy sets UPSTREAM_MAX_PAYLOAD on both. */
const MAX_PAYLOAD = 1000;

t.test('the installed ws is the version package.json pins', async (t) => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const installed = (require('ws/package.json') as { version: string }).version;
  t.match(pkg.dependencies.ws, /^\d+\.\d+\.\d+$/, 'pinned exactly, no range');
  t.equal(installed, pkg.dependencies.ws, 'node_modules holds the pinned ws');
});

async function startServer(t: Test): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise((r) => wss.close(r));
  });
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

t.test('the private fields are there, with the types the adapter expects', async (t) => {
  const { wss, url } = await startServer(t);
  const serverSide = new Promise<number>((r) => wss.once('connection', (_ws, req) => r(req.socket.remotePort ?? 0)));
  const ws = new WebSocket(url, { perMessageDeflate: false });
  t.teardown(() => ws.terminate());
  t.equal(socketOf(ws), null, 'no socket while connecting');
  await new Promise((r) => ws.once('open', r));
  const socket = socketOf(ws);
  t.ok(socket instanceof Socket, '_socket is a net.Socket once open');
  t.equal(socket!.localPort, await serverSide, 'and it is the connection to the server');
  const receiver = (ws as unknown as { _receiver: unknown })._receiver;
  t.ok(receiver instanceof Writable, '_receiver is a Writable (ws Receiver)');
  const r = receiver as Writable;
  t.equal(typeof r.emit, 'function');
  t.equal(typeof r.end, 'function');
  t.equal(typeof r.destroy, 'function');
  t.ok(socket!.listenerCount('data') > 0, "ws reads the socket through a 'data' listener");
  t.equal(takeSocket(ws), socket, 'takeSocket hands over the same socket');
  t.equal(socket!.listenerCount('data'), 0, "and ws's 'data' listener is gone");
});

/** A client of `mode`, recording its events in order; resolves once it closed. */
function client(t: Test, url: string, mode: Mode, events: string[]): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
  t.teardown(() => ws.terminate());
  ws.on('message', (data: Buffer) => events.push(`message:${data.toString()}`));
  ws.on('ping', (data: Buffer) => events.push(`ping:${data.toString()}`));
  ws.on('pong', (data: Buffer) => events.push(`pong:${data.toString()}`));
  ws.on('error', (err: Error & { code?: string }) => events.push(`error:${err.code}:${err.message}`));
  if (mode === 'adapter') {
    ws.once('open', () => {
      // What the proxy's reader does (src/upstream/reader.ts), with 'data' instead of onread.
      const sink: FrameSink = {
        onMessage: (data) => ws.emit('message', data, false),
        onPing: (data) => emitControl(ws, 'ping', data),
        onPong: (data) => emitControl(ws, 'pong', data),
        onClose: (code, reason) => emitClose(ws, code, reason),
        onProtocolError: (closeCode, message, code) => failReceiver(ws, closeCode, message, code),
        onHeld: () => undefined,
      };
      const parser = new FrameParser(sink, MAX_PAYLOAD);
      takeSocket(ws).on('data', (chunk: Buffer) => parser.push(chunk, chunk.length));
    });
  }
  return new Promise((resolve) =>
    ws.once('close', (code: number, reason: Buffer) => {
      events.push(`close:${code}:${reason.toString()}`);
      resolve();
    }),
  );
}

/** Runs `act` on the server's side of one connection of each mode; returns what each end saw. */
async function compare(
  t: Test,
  act: (server: WebSocket, raw: Socket, events: string[]) => void,
): Promise<Record<Mode, string[]>> {
  const out = { ws: [] as string[], adapter: [] as string[] };
  for (const mode of ['ws', 'adapter'] as const) {
    const { wss, url } = await startServer(t);
    const events = out[mode];
    const serverClosed = new Promise<void>((resolve) =>
      wss.once('connection', (server, req) => {
        server.on('error', () => undefined);
        server.on('pong', (data: Buffer) => events.push(`server-pong:${data.toString()}`));
        server.once('close', (code: number) => {
          events.push(`server-close:${code}`);
          resolve();
        });
        act(server, req.socket as Socket, events);
      }),
    );
    const clientClosed = client(t, url, mode, events);
    await Promise.all([serverClosed, clientClosed]);
    // Both ends' events interleave by network timing: compare each end in its own order.
    events.sort((a, b) => Number(a.startsWith('server-')) - Number(b.startsWith('server-')));
  }
  return out;
}

t.test('a close frame: the close event with its code and reason, the code echoed', async (t) => {
  const seen = await compare(t, (server) => {
    server.send('last words');
    server.close(4001, 'bye');
  });
  t.same(seen.ws, ['message:last words', 'close:4001:bye', 'server-close:4001']);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});

t.test('a close frame without a status: 1005 on both ends', async (t) => {
  const seen = await compare(t, (server) => server.close());
  t.same(seen.ws, ['close:1005:', 'server-close:1005']);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});

t.test('a ping is answered with a pong carrying its data, and emitted', async (t) => {
  const seen = await compare(t, (server) => {
    server.once('pong', () => server.close(1000, 'done'));
    server.ping(Buffer.from('are you there'));
  });
  t.same(seen.ws, ['ping:are you there', 'close:1000:done', 'server-pong:are you there', 'server-close:1000']);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});

t.test('an unsolicited pong is emitted', async (t) => {
  const seen = await compare(t, (server) => {
    server.pong(Buffer.from('heartbeat'));
    server.close(1000, 'done');
  });
  t.same(seen.ws, ['pong:heartbeat', 'close:1000:done', 'server-close:1000']);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});

t.test('a malformed frame: a 1002 close frame out, error, then close 1006', async (t) => {
  const seen = await compare(t, (_server, raw) => {
    // A text frame with RSV2 set, written under ws's server: no extension allows it.
    raw.write(Buffer.from([0xa1, 0x00]));
  });
  t.same(seen.ws, [
    'error:WS_ERR_UNEXPECTED_RSV_2_3:Invalid WebSocket frame: RSV2 and RSV3 must be clear',
    'close:1006:',
    'server-close:1002',
  ]);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});

t.test('a message over the payload limit: a 1009 close frame out, error, then close 1006', async (t) => {
  const seen = await compare(t, (server) => server.send(Buffer.alloc(MAX_PAYLOAD + 1)));
  t.same(seen.ws, [
    'error:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH:Max payload size exceeded',
    'close:1006:',
    'server-close:1009',
  ]);
  t.same(seen.adapter, seen.ws, 'the adapter gives what ws gives');
});
