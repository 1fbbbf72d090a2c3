// frame-parser.ts must accept and refuse exactly what ws's own Receiver does
// with the options the proxy used (no deflate, skipUTF8Validation, maxPayload),
// whatever the read boundaries. Every case is fed to ws's Receiver in one
// piece and to the parser split at every byte boundary (byte by byte too),
// and both must produce the same events, close codes and messages.
import t, { type Test } from 'tap';
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import { FrameParser, MAX_FRAGMENTS, type FrameSink } from '../../src/relay/frame-parser';

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

/** Feeds `chunks` through one parser, each chunk in a scratch buffer that is overwritten afterwards (as the read buffer is). */
function parse(chunks: Buffer[], maxPayload = MAX_PAYLOAD): Event[] {
  const sink = new Collect();
  const parser = new FrameParser(sink, maxPayload);
  const scratch = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)) + 7);
  for (const c of chunks) {
    c.copy(scratch);
    parser.push(scratch, c.length);
    scratch.fill(0xee);
  }
  return sink.events;
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

t.test('cut frames assembled in reused buffers: each freed only after its read, never while still held', async (t) => {
  // The reader's contract (upstream-reader.ts): a read is pushed, the frames it
  // produced are sent (uWS copies them) by afterRead, then reclaimAssemblies().
  // Two sessions, interleaved reads that cut every frame, content that differs
  // per frame: what is "sent" at the end of each read must be what was framed.
  const { reclaimAssemblies } = await import('../../src/relay/assembly-pool');
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
      // Some messages in two fragments: the first is kept (its own buffer), the last is assembled.
      if (i % 5 === 4) {
        const cut = 4500; // the kept first fragment is large enough to be assembled in a reused buffer, were it allowed
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
      // Single-frame messages only: a fragmented one comes out of Buffer.concat.
      if (sent[h.who].length % 5 !== 4) arenas.add(h.view.buffer);
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
  t.ok(arenas.size <= 4, `64 single-frame messages, all cut, assembled in ${arenas.size} buffers`);
});
