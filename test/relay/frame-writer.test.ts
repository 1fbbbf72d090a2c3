// Frames written by frame-writer.ts are parsed by a real `ws` server exactly
// as ws's own client frames: every length encoding, both opcodes, both masks.
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo, Socket } from 'node:net';
import { writeFrame } from '../../src/relay/frame-writer';

t.test('frames round-trip through a ws server', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => new Promise((r) => wss.close(r)));
  const received: Array<{ data: Buffer; isBinary: boolean }> = [];
  let expect = 0;
  let done: () => void = () => undefined;
  wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary) => {
    received.push({ data, isBinary });
    if (received.length === expect) done();
  }));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((r) => client.once('open', r));
  t.teardown(() => client.terminate());
  const socket = (client as unknown as { _socket: Socket })._socket;

  const payloads: Array<[Buffer, boolean]> = [];
  for (const size of [0, 5, 47, 48, 125, 126, 2644, 65535, 65536, 200_000]) {
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = (i * 7 + size) & 0xff;
    payloads.push([buf, true]);
  }
  payloads.push([Buffer.from('{"type":"input_audio_buffer.append","audio":"héllo 🎙️"}'), false]);
  const sent: Array<[Buffer, boolean]> = [];
  for (const randomMask of [true, false]) {
    for (const [buf, isBinary] of payloads) {
      writeFrame(socket, buf, isBinary, randomMask);
      sent.push([buf, isBinary]);
    }
  }
  expect = sent.length;
  await new Promise<void>((r) => { done = r; });
  t.equal(received.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    t.ok(received[i].data.equals(sent[i][0]), `frame ${i} (${sent[i][0].length} bytes) intact`);
    t.equal(received[i].isBinary, sent[i][1]);
  }
});
