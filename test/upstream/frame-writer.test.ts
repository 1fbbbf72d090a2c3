// Frames written by frame-writer.ts are parsed by a real `ws` server exactly
// as ws's own client frames: every length encoding, both opcodes; and every
// frame carries its own unpredictable masking key (RFC 6455 5.3), whatever
// the upstream's scheme.
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeFrame } from '../../src/upstream/frame-writer';
import { socketOf } from '../../src/upstream/ws-adapter';

t.test('frames round-trip through a ws server', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => new Promise((r) => wss.close(r)));
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  let expect = 0;
  let done: () => void = () => undefined;
  wss.on('connection', (ws) =>
    ws.on('message', (data: Buffer, isBinary) => {
      received.push({ data, isBinary });
      if (received.length === expect) done();
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((r) => client.once('open', r));
  t.teardown(() => client.terminate());
  const socket = socketOf(client)!;

  const payloads: Array<[Buffer, boolean]> = [];
  for (const size of [0, 5, 47, 48, 125, 126, 2644, 65535, 65536, 200_000]) {
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 7 + size) & 0xff;
    payloads.push([buf, true]);
  }
  payloads.push([Buffer.from('{"type":"input_audio_buffer.append","audio":"héllo 🎙️"}'), false]);
  const sent: Array<[Buffer, boolean]> = [];
  for (let round = 0; round < 2; round++) {
    for (const [buf, isBinary] of payloads) {
      writeFrame(socket, buf, isBinary);
      sent.push([buf, isBinary]);
    }
  }
  // What the relay passes: a plain Uint8Array over the uWS ArrayBuffer (here with an offset into it),
  // both sides of the native-mask cut-off.
  for (const size of [20, 2644]) {
    const ab = new ArrayBuffer(size + 16);
    const view = new Uint8Array(ab, 16, size);
    for (let i = 0; i < size; i++) view[i] = (i * 13 + 1) & 0xff;
    writeFrame(socket, view, true);
    sent.push([Buffer.from(view), true]);
  }
  expect = sent.length;
  await new Promise<void>((r) => {
    done = r;
  });
  t.equal(received.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    t.ok(received[i].data.equals(sent[i][0]), `frame ${i} (${sent[i][0].length} bytes) intact`);
    t.equal(received[i].isBinary, sent[i][1]);
  }
});

t.test('every frame has a fresh non-zero masking key and the payload never appears in clear', async (t) => {
  const frames = 300;
  // 84 bytes: a 2-byte length header, and long enough for the native mask.
  const payload = Buffer.from('GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n'.repeat(2));
  const bytes: Buffer[] = [];
  const total = frames * (2 + 4 + payload.length);
  const server = createServer();
  const received = new Promise<Buffer>((resolve) =>
    server.once('connection', (peer) => {
      let got = 0;
      peer.on('data', (chunk: Buffer) => {
        bytes.push(chunk);
        got += chunk.length;
        if (got === total) resolve(Buffer.concat(bytes));
      });
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  for (let i = 0; i < frames; i++) writeFrame(socket, payload, false);
  const all = await received;

  t.equal(all.indexOf(payload.subarray(0, 16)), -1, 'the chosen bytes are not on the wire');
  const keys = new Set<number>();
  let zero = 0;
  for (let off = 0; off < all.length;) {
    t.equal(all[off + 1] & 0x80, 0x80, 'mask bit set');
    const len = all[off + 1] & 0x7f;
    const key = all.readUInt32BE(off + 2);
    if (key === 0) zero++;
    keys.add(key);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = all[off + 6 + i] ^ all[off + 2 + (i & 3)];
    if (!body.equals(payload)) t.fail(`frame at ${off} unmasks to the payload`);
    off += 6 + len;
  }
  t.ok(zero <= 1, `zero keys: ${zero}`);
  // 300 draws from 2^32: a repeat has probability ~1e-5.
  t.ok(keys.size >= frames - 1, `${keys.size} distinct keys in ${frames} frames`);
});
