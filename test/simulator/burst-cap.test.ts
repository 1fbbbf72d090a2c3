// simulator.burst caps its frame size: any page can send it through the
// demo, and a burst holds its frame size twice (pattern + send buffer), so an
// uncapped frameBytes let one request allocate gigabytes.
import t from 'tap';
import WebSocket from 'ws';
import { once } from 'node:events';
import { startSimulator } from '../../src/simulator/simulator';
import { MAX_BURST_FRAME_BYTES } from '../../src/simulator/handlers';

const PATH = '/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime';
const MiB = 1024 * 1024;

/** Every frame as it comes, [isBinary, data], read in order by next(). */
function frames(ws: WebSocket): { next(): Promise<[boolean, Buffer]> } {
  const queue: [boolean, Buffer][] = [];
  let wake: (() => void) | null = null;
  let closed = '';
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    queue.push([isBinary, data]);
    wake?.();
  });
  ws.on('close', (code: number) => {
    closed = `closed ${code}`;
    wake?.();
  });
  return {
    async next() {
      while (queue.length === 0) {
        if (closed !== '') throw new Error(closed);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      return queue.shift() as [boolean, Buffer];
    },
  };
}

t.test('a burst asking for 128 MiB frames is refused with an error event, and nothing is allocated', async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const ws = new WebSocket(`${sim.origin}${PATH}`, { headers: { 'api-key': 'k' } });
  t.teardown(() => ws.terminate());
  const q = frames(ws);
  await once(ws, 'open');
  t.equal(JSON.parse((await q.next())[1].toString()).type, 'session.created');

  const before = process.memoryUsage().rss;
  ws.send(JSON.stringify({ type: 'simulator.burst', bytes: 128 * MiB, frameBytes: 128 * MiB, event_id: 'big' }));
  const [isBinary, data] = await q.next();
  t.equal(isBinary, false, 'no frame was sent');
  const ev = JSON.parse(data.toString()) as { type: string; event_id: string; error: { code: string; param: string } };
  t.equal(ev.type, 'error');
  t.equal(ev.error.code, 'invalid_value');
  t.equal(ev.error.param, 'frameBytes');
  const grew = process.memoryUsage().rss - before;
  t.ok(grew < 32 * MiB, `RSS grew ${(grew / MiB).toFixed(1)} MiB`);

  // The cap itself is accepted and streamed.
  ws.send(
    JSON.stringify({ type: 'simulator.burst', bytes: MAX_BURST_FRAME_BYTES + 1, frameBytes: MAX_BURST_FRAME_BYTES }),
  );
  const sizes: number[] = [];
  for (;;) {
    const [bin, d] = await q.next();
    if (!bin) {
      t.equal(JSON.parse(d.toString()).type, 'simulator.burst.done');
      break;
    }
    sizes.push(d.length);
  }
  t.same(sizes, [MAX_BURST_FRAME_BYTES, 1]);
});
