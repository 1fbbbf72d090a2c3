// The outbox (src/relay/outbox.ts) against real uWS sockets and real `ws`
// browsers: what a read produces goes out after the read, in order, one cork
// per session run of two or more frames (a single frame goes uncorked: uWS's
// send corks it by itself); outside a read it goes out in a microtask; closed
// sessions drop theirs; backpressure and drops reach the owner; a shed asked
// for during a flush waits for the flush to end.
import t, { type Test } from 'tap';
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';
import { socketOf } from '../../src/upstream/ws-adapter';
import { Outbox, type OutboxOwner, type OutboxSession } from '../../src/relay/outbox';

// One outbox, as a thread has (the proxy makes one in its ProxyContext).
const outbox = new Outbox();
const beforeRead = (): void => outbox.beforeRead();
const afterRead = (): void => outbox.afterRead();
const flush = (): void => outbox.flush();
const enqueue = (s: OutboxSession, data: Buffer, isBinary: boolean): void => outbox.enqueue(s, data, isBinary);
const shedWhenSafe = (owner: OutboxOwner<OutboxSession>): void => outbox.shedWhenSafe(owner);

interface Browser {
  ws: WebSocket;
  received: Array<{ data: Buffer; isBinary: boolean }>;
  /** Resolves once `n` frames have arrived in all. */
  until(n: number): Promise<void>;
}

/** A session as the outbox sees it, around a real uWS socket; counts what the outbox asks of it. */
class TestSession {
  client: { cork(cb: () => void): unknown; send(m: Buffer, b: boolean): number } | null;
  finished = false;
  relay: Owner;
  corks = 0;
  sends = 0;
  results: number[] = [];
  constructor(socket: uWS.WebSocket<unknown>, owner: Owner) {
    this.relay = owner;
    this.client = {
      cork: (cb) => {
        this.corks++;
        return socket.cork(cb);
      },
      send: (m, b) => {
        this.sends++;
        const r = socket.send(m, b);
        this.results.push(r);
        return r;
      },
    };
  }
}

class Owner implements OutboxOwner<TestSession> {
  afterSendsCalls: Array<{ s: TestSession; dropped: boolean }> = [];
  sheds = 0;
  onAfterSends: (s: TestSession) => void = () => undefined;
  afterSends(s: TestSession, dropped: boolean): void {
    this.afterSendsCalls.push({ s, dropped });
    this.onAfterSends(s);
  }
  shed(): void {
    this.sheds++;
  }
}

async function start(t: Test, maxBackpressure = 1024 * 1024) {
  const sockets: Array<uWS.WebSocket<unknown>> = [];
  const waiters: Array<(s: uWS.WebSocket<unknown>) => void> = [];
  const app = uWS.App().ws('/*', {
    maxBackpressure,
    closeOnBackpressureLimit: false,
    maxPayloadLength: 16 * 1024 * 1024,
    open: (ws) => {
      sockets.push(ws);
      waiters.shift()?.(ws);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (ls) => {
      if (!ls) return reject(new Error('cannot listen'));
      t.teardown(() => uWS.us_listen_socket_close(ls));
      resolve(uWS.us_socket_local_port(ls));
    }),
  );
  const browsers: Browser[] = [];
  return {
    browsers,
    /** A connected browser and the server's socket for it. */
    async connect(): Promise<[Browser, uWS.WebSocket<unknown>]> {
      const opened = new Promise<uWS.WebSocket<unknown>>((r) => waiters.push(r));
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      t.teardown(() => ws.terminate());
      const received: Browser['received'] = [];
      let want = 0;
      let wake: () => void = () => undefined;
      ws.on('message', (data: Buffer, isBinary) => {
        received.push({ data, isBinary });
        if (received.length >= want) wake();
      });
      await new Promise((r) => ws.once('open', r));
      const b: Browser = {
        ws,
        received,
        until(n) {
          want = n;
          return received.length >= n ? Promise.resolve() : new Promise<void>((r) => (wake = r));
        },
      };
      browsers.push(b);
      return [b, await opened];
    },
  };
}

t.test('a read goes out after the read, in order, one cork per session run of several frames', async (t) => {
  const server = await start(t);
  const owner = new Owner();
  const [a, sa] = await server.connect();
  const [b, sb] = await server.connect();
  const A = new TestSession(sa, owner);
  const B = new TestSession(sb, owner);

  beforeRead();
  enqueue(A, Buffer.from('a1'), false);
  enqueue(A, Buffer.from([1, 2, 3]), true);
  enqueue(B, Buffer.from('b1'), false);
  enqueue(A, Buffer.from('a3 é'), false);
  t.equal(A.sends + B.sends, 0, 'nothing is sent while the read is parsed');
  afterRead();
  t.equal(A.sends, 3);
  t.equal(B.sends, 1);
  t.equal(A.corks, 1, 'A has two runs: a1+bin corked, then a3 alone');
  t.equal(B.corks, 0, 'a run of one frame: uWS corks it by itself');
  t.equal(owner.afterSendsCalls.length, 0, 'clean runs do not ask for the buffered amount');

  await a.until(3);
  await b.until(1);
  t.same(
    a.received.map((m) => [m.data.toString('hex'), m.isBinary]),
    [
      [Buffer.from('a1').toString('hex'), false],
      ['010203', true],
      [Buffer.from('a3 é').toString('hex'), false],
    ],
  );
  t.same(b.received[0].data.toString(), 'b1');
  t.equal(b.received[0].isBinary, false);
});

t.test("a run larger than uWS's cork buffer goes out in corks that each fit it", async (t) => {
  const server = await start(t);
  const owner = new Owner();
  const [a, sa] = await server.connect();
  const A = new TestSession(sa, owner);
  beforeRead();
  for (let i = 0; i < 10; i++) enqueue(A, Buffer.alloc(4000, i), true);
  enqueue(A, Buffer.alloc(40_000, 99), true);
  enqueue(A, Buffer.from('last'), false);
  afterRead();
  t.equal(A.sends, 12);
  // 4004 bytes framed: 4 fit under 16 KiB, the 40 KB frame goes alone.
  t.equal(A.corks, 5, '4 + 4 + 2 frames, the large one, then the last');
  t.same(A.results, new Array(12).fill(1), 'every send SUCCESS');
  t.equal(owner.afterSendsCalls.length, 0);
  await a.until(12);
  for (let i = 0; i < 10; i++) t.ok(a.received[i].data.equals(Buffer.alloc(4000, i)), `frame ${i} in order`);
  t.ok(a.received[10].data.equals(Buffer.alloc(40_000, 99)));
  t.equal(a.received[11].data.toString(), 'last');
});

t.test('a frame outside a read goes out in a microtask; flush() sends it at once', async (t) => {
  const server = await start(t);
  const owner = new Owner();
  const [a, sa] = await server.connect();
  const A = new TestSession(sa, owner);

  enqueue(A, Buffer.from('late 1'), false);
  enqueue(A, Buffer.from('late 2'), false);
  t.equal(A.sends, 0, 'not synchronously');
  await Promise.resolve();
  t.equal(A.sends, 2, 'flushed by the microtask');
  t.equal(A.corks, 1);

  enqueue(A, Buffer.from('before a close'), false);
  flush();
  t.equal(A.sends, 3, 'flush() sends what is queued now');
  await Promise.resolve();
  t.equal(A.sends, 3, 'and the queued microtask finds nothing left');
  await a.until(3);
  t.same(
    a.received.map((m) => m.data.toString()),
    ['late 1', 'late 2', 'before a close'],
  );
});

t.test('a session closed or finished before the flush drops its frames; the others get theirs', async (t) => {
  const server = await start(t);
  const owner = new Owner();
  const [a, sa] = await server.connect();
  const [, sb] = await server.connect();
  const [c, sc] = await server.connect();
  const A = new TestSession(sa, owner);
  const B = new TestSession(sb, owner);
  const C = new TestSession(sc, owner);

  beforeRead();
  enqueue(A, Buffer.from('to a'), false);
  enqueue(B, Buffer.from('to b'), false);
  enqueue(C, Buffer.from('to c'), false);
  B.client = null;
  C.finished = true;
  afterRead();
  t.equal(A.sends, 1);
  t.equal(C.sends, 0, 'finished: dropped');
  await a.until(1);
  t.equal(a.received[0].data.toString(), 'to a');
  // C's browser is still connected: a later frame for it proves nothing was sent before.
  C.finished = false;
  beforeRead();
  enqueue(C, Buffer.from('second'), false);
  afterRead();
  await c.until(1);
  t.same(
    c.received.map((m) => m.data.toString()),
    ['second'],
  );
});

t.test('backpressure and a drop reach the owner; a dropped run stops sending', async (t) => {
  // A browser that never reads: its socket fills, uWS buffers, then drops past maxBackpressure.
  const server = await start(t, 256 * 1024);
  const owner = new Owner();
  const [slow, ss] = await server.connect();
  socketOf(slow.ws)!.pause();
  const S = new TestSession(ss, owner);
  const chunk = Buffer.alloc(64 * 1024, 7);

  // Enough to fill the kernel buffers on both ends, then uWS's own buffer.
  let reads = 0;
  while (owner.afterSendsCalls.length === 0 && reads < 2000) {
    beforeRead();
    enqueue(S, chunk, true);
    afterRead();
    reads++;
  }
  t.ok(owner.afterSendsCalls.length > 0, `backpressure reported after ${reads} reads`);
  t.equal(owner.afterSendsCalls[0].dropped, false, 'buffered first, not dropped');
  t.equal(owner.afterSendsCalls[0].s, S);

  // Now one read larger than uWS's limit: the run stops at the first drop.
  const before = S.sends;
  beforeRead();
  for (let i = 0; i < 8; i++) enqueue(S, chunk, true);
  afterRead();
  const last = owner.afterSendsCalls[owner.afterSendsCalls.length - 1];
  t.equal(last.dropped, true, 'the drop is reported');
  t.equal(S.results[S.results.length - 1], 2, 'uWS said DROPPED');
  t.ok(S.sends - before <= 8, 'no send after the drop in that run');
  t.ok(S.sends - before >= 1);
});

t.test('a shed asked for during a flush waits for the flush; outside one it is immediate', async (t) => {
  const server = await start(t, 128 * 1024);
  const owner = new Owner();
  const [slow, ss] = await server.connect();
  socketOf(slow.ws)!.pause();
  const [b, sb] = await server.connect();
  const S = new TestSession(ss, owner);
  const B = new TestSession(sb, owner);

  shedWhenSafe(owner);
  t.equal(owner.sheds, 1, 'outside a flush: at once');

  let shedsDuringFlush = -1;
  owner.onAfterSends = () => {
    // What relay.account does when a run spends the budget, and what fail() does first.
    shedWhenSafe(owner);
    flush();
    shedsDuringFlush = owner.sheds;
  };
  const chunk = Buffer.alloc(64 * 1024, 1);
  let reads = 0;
  while (shedsDuringFlush === -1 && reads < 2000) {
    beforeRead();
    enqueue(S, chunk, true);
    enqueue(B, Buffer.from(`b${reads}`), false);
    afterRead();
    reads++;
  }
  t.equal(shedsDuringFlush, 1, 'not shed inside the flush');
  t.equal(owner.sheds, 2, 'shed once the flush was done');
  // B's frame in the same flush still went out, after S's run asked for the shed.
  await b.until(reads);
  t.equal(b.received[reads - 1].data.toString(), `b${reads - 1}`);
});
