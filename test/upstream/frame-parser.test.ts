// frame-parser.ts must accept and refuse exactly what ws's own Receiver does
// with the options the proxy used (no deflate, skipUTF8Validation, maxPayload),
// whatever the read boundaries. Every case is fed to ws's Receiver in one
// piece and to the parser split at every byte boundary (byte by byte too),
// and both must produce the same events, close codes and messages.
import t, { type Test } from 'tap';
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import { FrameParser, MAX_FRAGMENTS, type FrameSink } from '../../src/upstream/frame-parser';
import { BLOCK_BYTES, reclaimAssemblies } from '../../src/upstream/assembly-pool';

type Event = [string, ...Array<string | number | boolean>];

const MAX_PAYLOAD = 100_000;

/** A server frame (unmasked). */
function frame(opcode: number, payload: Buffer | string, opts: { fin?: boolean; rsv?: number; mask?: boolean } = {}) {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + (opts.mask ? 4 : 0) + len);
  out[0] = (opts.fin === false ? 0 : 0x80) | (opts.rsv ?? 0) | opcode;
  const maskBit = opts.mask ? 0x80 : 0;
  if (len < 126) out[1] = maskBit | len;
  else if (len < 65536) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  data.copy(out, head + (opts.mask ? 4 : 0));
  return out;
}

function closeFrame(code: number, reason = ''): Buffer {
  const p = Buffer.alloc(2 + Buffer.byteLength(reason));
  p.writeUInt16BE(code, 0);
  p.write(reason, 2);
  return frame(0x08, p);
}

class Collect implements FrameSink {
  events: Event[] = [];
  /** Every value onHeld reported, in order. */
  held: number[] = [];
  onHeld(bytes: number): void {
    this.held.push(bytes);
  }
  onMessage(data: Buffer, isBinary: boolean): void {
    // Copy now: the view is only good until push() returns.
    this.events.push(['message', Buffer.from(data).toString('hex'), isBinary]);
  }
  onPing(data: Buffer): void {
    this.events.push(['ping', data.toString('hex')]);
  }
  onPong(data: Buffer): void {
    this.events.push(['pong', data.toString('hex')]);
  }
  onClose(code: number, reason: Buffer): void {
    this.events.push(['close', code, reason.toString('hex')]);
  }
  onProtocolError(closeCode: number, message: string, code: string): void {
    this.events.push(['error', closeCode, code, message]);
  }
}

/**
 * Feeds `chunks` through one parser, each chunk in a scratch buffer that is
 * overwritten afterwards (as the read buffer is). The blocks messages are
 * assembled in are reclaimed after each chunk, as the reader does after each
 * read's flush, so a block handed out again too early would corrupt a later
 * message. Whatever is held must be given back once the stream ends complete.
 */
function parse(chunks: Buffer[], maxPayload = MAX_PAYLOAD): Event[] {
  const sink = new Collect();
  const parser = new FrameParser(sink, maxPayload);
  const scratch = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)) + 7);
  for (const c of chunks) {
    c.copy(scratch);
    parser.push(scratch, c.length);
    scratch.fill(0xee);
    // The sink copied each message before this point (Collect.onMessage).
    reclaimAssemblies();
  }
  const held = sink.held.length === 0 ? 0 : sink.held[sink.held.length - 1];
  if (held !== 0) sink.events.push(['still held', held]);
  return sink.events;
}

/** `bytes` in reads of `size` bytes. */
function reads(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** What ws's Receiver makes of the same bytes, as the proxy configured it (ws 8, lib/receiver.js). */
async function wsParse(bytes: Buffer, maxPayload = MAX_PAYLOAD): Promise<Event[]> {
  const Receiver = (WebSocket as unknown as { Receiver: new (o: object) => Writable }).Receiver;
  const r = new Receiver({
    isServer: false,
    skipUTF8Validation: true,
    maxPayload,
    binaryType: 'nodebuffer',
    allowSynchronousEvents: true,
    // The WebSocket client's default (lib/websocket.js), which the proxy keeps.
    maxFragments: MAX_FRAGMENTS,
  });
  const events: Event[] = [];
  let ended = false;
  r.on('message', (d: Buffer, b: boolean) => events.push(['message', d.toString('hex'), b]));
  r.on('ping', (d: Buffer) => events.push(['ping', d.toString('hex')]));
  r.on('pong', (d: Buffer) => events.push(['pong', d.toString('hex')]));
  r.on('conclude', (c: number, reason: Buffer) => {
    events.push(['close', c, reason.toString('hex')]);
    ended = true;
  });
  const errored = new Promise<void>((resolve) =>
    r.on('error', (e: Error & { code: string }) => {
      const status = Object.getOwnPropertySymbols(e)
        .map((s) => (e as unknown as Record<symbol, unknown>)[s])
        .find((v) => typeof v === 'number') as number;
      if (!ended) events.push(['error', status, e.code, e.message]);
      ended = true;
      resolve();
    }),
  );
  r.write(bytes);
  await Promise.race([errored, new Promise((resolve) => setImmediate(resolve))]);
  return events;
}

/** Every two-piece split, byte by byte, and three pieces around each header. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  if (bytes.length <= 4096) {
    for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
    out.push(Array.from(bytes, (b) => Buffer.from([b])));
  } else {
    for (const i of [1, 2, 3, 4, 9, 10, 11, 12, 100, bytes.length >> 1, bytes.length - 1]) {
      out.push([bytes.subarray(0, i), bytes.subarray(i)]);
      out.push([bytes.subarray(0, i), bytes.subarray(i, i + 3), bytes.subarray(i + 3)]);
    }
    // As sockets cut it: a full read buffer, a TLS record, and an odd size that lands everywhere.
    for (const size of [65536, 16384, 4093, 1021]) out.push(reads(bytes, size));
  }
  return out;
}

async function same(t: Test, name: string, bytes: Buffer, expected: Event[], maxPayload = MAX_PAYLOAD) {
  t.same(await wsParse(bytes, maxPayload), expected, `${name}: ws's Receiver`);
  let bad = 0;
  for (const chunks of splits(bytes)) {
    const got = parse(chunks, maxPayload);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      if (bad++ === 0) t.same(got, expected, `${name}: split ${chunks.map((c) => c.length).join('+')}`);
    }
  }
  t.equal(bad, 0, `${name}: every split parses the same`);
}

const hex = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s).toString('hex');

t.test('data frames of every length encoding, both types, back to back', async (t) => {
  const big = Buffer.alloc(70_000, 0x41);
  const mid = Buffer.alloc(300, 0x42);
  const text = '{"type":"response.audio.delta","delta":"héllo 🎙️"}';
  await same(
    t,
    'mixed',
    Buffer.concat([
      frame(1, text),
      frame(2, Buffer.from([0, 1, 2])),
      frame(1, ''),
      frame(2, mid),
      frame(2, Buffer.alloc(125, 1)),
      frame(2, Buffer.alloc(126, 2)),
    ]),
    [
      ['message', hex(text), false],
      ['message', '000102', true],
      ['message', '', false],
      ['message', hex(mid), true],
      ['message', hex(Buffer.alloc(125, 1)), true],
      ['message', hex(Buffer.alloc(126, 2)), true],
    ],
  );
  await same(t, '16-bit max', frame(2, Buffer.alloc(65535, 3)), [['message', hex(Buffer.alloc(65535, 3)), true]]);
  await same(t, '64-bit', Buffer.concat([frame(2, big), frame(1, 'after')]), [
    ['message', hex(big), true],
    ['message', hex('after'), false],
  ]);
});

t.test('invalid UTF-8 in a text frame passes, as with skipUTF8Validation (the browser validates)', async (t) => {
  await same(t, 'bad utf8', frame(1, Buffer.from([0xc3, 0x28, 0xff])), [['message', 'c328ff', false]]);
});

t.test('fragmented messages, with control frames between the fragments', async (t) => {
  await same(
    t,
    'fragments',
    Buffer.concat([
      frame(1, 'hel', { fin: false }),
      frame(9, 'p1'),
      frame(0, '', { fin: false }),
      frame(0, 'lo', { fin: false }),
      frame(10, 'p2'),
      frame(0, ' you'),
      frame(2, 'x', { fin: false }),
      frame(0, 'y'),
    ]),
    [
      ['ping', hex('p1')],
      ['pong', hex('p2')],
      ['message', hex('hello you'), false],
      ['message', hex('xy'), true],
    ],
  );
  const part = Buffer.alloc(5000, 7);
  await same(t, 'large fragments', Buffer.concat([frame(2, part, { fin: false }), frame(0, part)]), [
    ['message', hex(Buffer.concat([part, part])), true],
  ]);
});

t.test('close frames: with a code and reason, without a status; nothing after them is parsed', async (t) => {
  await same(t, 'close 4321', Buffer.concat([frame(1, 'last'), closeFrame(4321, 'done'), frame(1, 'ignored')]), [
    ['message', hex('last'), false],
    ['close', 4321, hex('done')],
  ]);
  await same(t, 'close empty', Buffer.concat([frame(8, ''), frame(1, 'ignored')]), [['close', 1005, '']]);
  await same(t, 'ping empty', frame(9, ''), [['ping', '']]);
});

t.test('malformed frames close with ws codes and messages', async (t) => {
  const cases: Array<[string, Buffer, Event]> = [
    [
      'RSV1',
      frame(1, 'x', { rsv: 0x40 }),
      ['error', 1002, 'WS_ERR_UNEXPECTED_RSV_1', 'Invalid WebSocket frame: RSV1 must be clear'],
    ],
    [
      'RSV2',
      frame(1, 'x', { rsv: 0x20 }),
      ['error', 1002, 'WS_ERR_UNEXPECTED_RSV_2_3', 'Invalid WebSocket frame: RSV2 and RSV3 must be clear'],
    ],
    [
      'RSV3',
      frame(1, 'x', { rsv: 0x10 }),
      ['error', 1002, 'WS_ERR_UNEXPECTED_RSV_2_3', 'Invalid WebSocket frame: RSV2 and RSV3 must be clear'],
    ],
    ['opcode 3', frame(3, 'x'), ['error', 1002, 'WS_ERR_INVALID_OPCODE', 'Invalid WebSocket frame: invalid opcode 3']],
    [
      'opcode 11',
      frame(11, 'x'),
      ['error', 1002, 'WS_ERR_INVALID_OPCODE', 'Invalid WebSocket frame: invalid opcode 11'],
    ],
    [
      'continuation first',
      frame(0, 'x'),
      ['error', 1002, 'WS_ERR_INVALID_OPCODE', 'Invalid WebSocket frame: invalid opcode 0'],
    ],
    [
      'text inside a fragmented message',
      Buffer.concat([frame(1, 'a', { fin: false }), frame(1, 'b')]),
      ['error', 1002, 'WS_ERR_INVALID_OPCODE', 'Invalid WebSocket frame: invalid opcode 1'],
    ],
    [
      'fragmented ping',
      frame(9, 'x', { fin: false }),
      ['error', 1002, 'WS_ERR_EXPECTED_FIN', 'Invalid WebSocket frame: FIN must be set'],
    ],
    [
      'ping of 126 bytes',
      frame(9, Buffer.alloc(126)),
      ['error', 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'Invalid WebSocket frame: invalid payload length 126'],
    ],
    [
      'close with one byte',
      frame(8, Buffer.from([3])),
      ['error', 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'Invalid WebSocket frame: invalid payload length 1'],
    ],
    [
      'close code 1005',
      closeFrame(1005),
      ['error', 1002, 'WS_ERR_INVALID_CLOSE_CODE', 'Invalid WebSocket frame: invalid status code 1005'],
    ],
    [
      'close code 999',
      closeFrame(999),
      ['error', 1002, 'WS_ERR_INVALID_CLOSE_CODE', 'Invalid WebSocket frame: invalid status code 999'],
    ],
    [
      'close code 2000',
      closeFrame(2000),
      ['error', 1002, 'WS_ERR_INVALID_CLOSE_CODE', 'Invalid WebSocket frame: invalid status code 2000'],
    ],
    [
      'masked',
      frame(1, 'abc', { mask: true }),
      ['error', 1002, 'WS_ERR_UNEXPECTED_MASK', 'Invalid WebSocket frame: MASK must be clear'],
    ],
    [
      'length over 2^53',
      Buffer.from([0x82, 0x7f, 0x00, 0x20, 0, 0, 0, 0, 0, 0]),
      [
        'error',
        1009,
        'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
        'Unsupported WebSocket frame: payload length > 2^53 - 1',
      ],
    ],
    [
      'one frame over maxPayload',
      frame(2, Buffer.alloc(MAX_PAYLOAD + 1)),
      ['error', 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded'],
    ],
    [
      'fragments over maxPayload',
      Buffer.concat([
        frame(2, Buffer.alloc(MAX_PAYLOAD / 2), { fin: false }),
        frame(0, Buffer.alloc(MAX_PAYLOAD / 2 + 1)),
      ]),
      ['error', 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded'],
    ],
  ];
  for (const [name, bytes, error] of cases) {
    // Frames after the bad one must not be parsed.
    await same(t, name, Buffer.concat([frame(1, 'ok'), bytes, frame(1, 'never')]), [
      ['message', hex('ok'), false],
      error,
    ]);
  }
});

t.test('a message of more than 16384 fragments is refused with 1008', async (t) => {
  const pieces = [frame(1, 'a', { fin: false })];
  for (let i = 1; i < MAX_FRAGMENTS; i++) pieces.push(frame(0, 'a', { fin: false }));
  const bytes = Buffer.concat([...pieces, frame(0, 'a')]);
  const error: Event = ['error', 1008, 'WS_ERR_TOO_MANY_BUFFERED_PARTS', 'Too many message fragments'];
  t.same(await wsParse(bytes), [error], "ws's Receiver");
  t.same(parse([bytes]), [error], 'one read');
  t.same(parse([bytes.subarray(0, 1001), bytes.subarray(1001)]), [error], 'two reads');
  const exactly = Buffer.concat([...pieces.slice(0, MAX_FRAGMENTS - 1), frame(0, 'a')]);
  t.same(parse([exactly]), [['message', hex('a'.repeat(MAX_FRAGMENTS)), false]], '16384 fragments are fine');
});

t.test(
  'cut frames and fragments assembled in reused blocks: each freed only after its read, never while still held',
  async (t) => {
    // The reader's contract (upstream/reader.ts): a read is pushed, the frames it
    // produced are sent (uWS copies them) by afterRead, then reclaimAssemblies().
    // Two sessions, interleaved reads that cut every frame, content that differs
    // per frame: what is "sent" at the end of each read must be what was framed.
    reclaimAssemblies();
    const held: Array<{ who: number; view: Buffer }> = [];
    const sinks = [0, 1].map(
      (who) =>
        ({
          onMessage: (data: Buffer) => held.push({ who, view: data }),
          onPing: () => undefined,
          onPong: () => undefined,
          onClose: () => undefined,
          onProtocolError: (_c: number, message: string) => t.fail(message),
          onHeld: () => undefined,
        }) satisfies FrameSink,
    );
    const parsers = sinks.map((s) => new FrameParser(s, MAX_PAYLOAD));
    const sent: Buffer[][] = [[], []];
    const expected: Buffer[][] = [[], []];
    const arenas = new Set<ArrayBufferLike>();
    const streams = [0, 1].map((who) => {
      const frames: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const payload = Buffer.alloc(5000 + i * 1500 + who * 700, (i * 7 + who * 31) & 0xff);
        payload.writeUInt32BE(i, 0);
        expected[who].push(payload);
        // Some messages in two fragments, assembled in the same block.
        if (i % 5 === 4) {
          const cut = 4500;
          frames.push(frame(0x02, payload.subarray(0, cut), { fin: false }), frame(0x00, payload.subarray(cut)));
        } else frames.push(frame(0x02, payload));
      }
      return Buffer.concat(frames);
    });
    const READ = 4093; // cuts nearly every frame, at a different place each time
    for (let pos = 0; pos < Math.max(streams[0].length, streams[1].length); pos += READ) {
      for (const who of [0, 1]) {
        const chunk = streams[who].subarray(pos, pos + READ);
        if (chunk.length > 0) parsers[who].push(Buffer.from(chunk), chunk.length);
      }
      // afterRead: the outbox sends (copies) what the reads produced...
      for (const h of held) {
        arenas.add(h.view.buffer);
        sent[h.who].push(Buffer.from(h.view));
      }
      held.length = 0;
      // ...and only then are the assembly buffers free for the next read.
      reclaimAssemblies();
    }
    for (const who of [0, 1]) {
      t.equal(sent[who].length, expected[who].length, `session ${who}: every message`);
      t.ok(
        sent[who].every((b, i) => b.equals(expected[who][i])),
        `session ${who}: every byte as framed`,
      );
    }
    t.ok(arenas.size <= 4, `80 messages, all cut or fragmented, assembled in ${arenas.size} blocks`);
  },
);

t.test('messages that span blocks, fragments packed into blocks: the same events as ws', async (t) => {
  const max = 4 * 1024 * 1024;
  const big = Buffer.alloc(3 * BLOCK_BYTES + 12_345);
  for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32BE(i, i);
  const parts = [big.subarray(0, 70_000), big.subarray(70_000, 70_003), big.subarray(70_003, 200_000)];
  await same(
    t,
    'span',
    Buffer.concat([
      frame(2, big),
      frame(1, 'between'),
      frame(2, parts[0], { fin: false }),
      frame(9, 'mid'),
      frame(0, parts[1], { fin: false }),
      frame(0, '', { fin: false }),
      frame(0, parts[2]),
      frame(2, Buffer.alloc(BLOCK_BYTES, 9)),
    ]),
    [
      ['message', hex(big), true],
      ['message', hex('between'), false],
      ['ping', hex('mid')],
      ['message', hex(big.subarray(0, 200_000)), true],
      ['message', hex(Buffer.alloc(BLOCK_BYTES, 9)), true],
    ],
    max,
  );
  // Many fragments of every size class: exact pieces under 4 KiB, blocks above, shared blocks.
  const sizes = [1, 3000, 5000, 4095, 4096, 65_535, 2, 70_000, 100];
  const pieces = sizes.map((n, i) => Buffer.alloc(n, i + 1));
  const frames = pieces.map((p, i) => frame(i === 0 ? 1 : 0, p, { fin: i === pieces.length - 1 }));
  await same(
    t,
    'mixed fragments',
    Buffer.concat([...frames, frame(1, 'after')]),
    [
      ['message', hex(Buffer.concat(pieces)), false],
      ['message', hex('after'), false],
    ],
    max,
  );
  // A close frame in the middle of a fragmented message: the message is never delivered, nothing stays held.
  await same(
    t,
    'close mid-message',
    Buffer.concat([frame(2, big.subarray(0, 90_000), { fin: false }), closeFrame(1000)]),
    [['close', 1000, '']],
    max,
  );
});

/** A sink that checks, after every push, that the memory held follows the bytes received. */
function dribble(t: Test, bytes: Buffer, read: number, maxPayload: number) {
  const sink = new Collect();
  const parser = new FrameParser(sink, maxPayload);
  let worst = 0;
  for (let at = 0; at < bytes.length; at += read) {
    const chunk = Buffer.from(bytes.subarray(at, at + read));
    parser.push(chunk, chunk.length);
    reclaimAssemblies();
    const held = sink.held.length === 0 ? 0 : sink.held[sink.held.length - 1];
    const received = Math.min(at + read, bytes.length);
    // Never more than what arrived plus one block being filled.
    worst = Math.max(worst, held - received);
    if (held > received + BLOCK_BYTES) t.fail(`${held} bytes held after ${received} received`);
  }
  return { sink, worst };
}

t.test('a large message sent slowly: memory grows with the bytes received, not the announced length', async (t) => {
  const size = 8 * 1024 * 1024;
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) payload.writeUInt32BE(i, i);
  const bytes = Buffer.concat([frame(2, payload), frame(1, 'next')]);
  const { sink, worst } = dribble(t, bytes, 64 * 1024, 16 * 1024 * 1024);
  t.ok(worst <= BLOCK_BYTES, `held at most ${worst} bytes beyond what was received`);
  t.equal(sink.held[0], BLOCK_BYTES, 'the first read of an 8 MiB frame holds one block, not 8 MiB');
  t.ok(sink.held.length >= size / (64 * 1024) - 1, 'held reported as it grew');
  t.equal(sink.held[sink.held.length - 1], 0, 'nothing held once the message is delivered');
  t.equal(sink.events.length, 2);
  t.equal(sink.events[0][1], hex(payload), 'delivered intact');
  t.same(sink.events[1], ['message', hex('next'), false], 'and in order');
});

t.test('a fragmented message sent slowly: the same, across fragments', async (t) => {
  const fragment = 1024 * 1024 + 7;
  const frames: Buffer[] = [];
  const payloads: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    const p = Buffer.alloc(fragment, i + 1);
    p.writeUInt32BE(i, 0);
    payloads.push(p);
    frames.push(frame(i === 0 ? 2 : 0, p, { fin: i === 5 }));
    // A ping between fragments, cut too.
    if (i === 2) frames.push(frame(9, 'still here'));
  }
  const bytes = Buffer.concat(frames);
  const { sink, worst } = dribble(t, bytes, 16 * 1024 + 3, 16 * 1024 * 1024);
  t.ok(worst <= BLOCK_BYTES, `held at most ${worst} bytes beyond what was received`);
  t.equal(sink.held[sink.held.length - 1], 0, 'nothing held once the message is delivered');
  t.same(
    sink.events.map((e) => e[0]),
    ['ping', 'message'],
  );
  t.equal(sink.events[1][1], hex(Buffer.concat(payloads)), 'delivered intact');
});

t.test('drop(): what was held is freed, no more data is kept or delivered, control frames still parse', async (t) => {
  const sink = new Collect();
  const parser = new FrameParser(sink, 16 * 1024 * 1024);
  const big = frame(2, Buffer.alloc(1024 * 1024, 5));
  parser.push(big, 300_000);
  t.ok(sink.held[0] >= 300_000 - 10, 'the cut frame is held');
  parser.drop();
  const rest = Buffer.concat([big.subarray(300_000), frame(1, 'dropped'), frame(9, 'ping'), closeFrame(1001)]);
  parser.push(rest, rest.length);
  t.same(sink.events, [
    ['ping', hex('ping')],
    ['close', 1001, ''],
  ]);
  t.same(sink.held, [sink.held[0]], 'nothing more was held or reported after drop()');
});
