// The stdout writer: bounded backlog, a reader that is gone, a flush that never
// waits past its deadline, and worker lines handed to the main thread.
import t from 'tap';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { LogSink, stdoutSink, toMainThread } from '../../src/observability/log-sink';

/** A reader that accepts writes but only completes them when told (a full pipe). */
function stalledReader(): Writable & { release(): void } {
  const held: Array<() => void> = [];
  let flowing = false;
  const w = new Writable({
    highWaterMark: 16,
    write: (_c, _e, cb) => {
      if (flowing) cb();
      else held.push(cb);
    },
  }) as Writable & { release(): void };
  w.release = () => {
    flowing = true;
    for (const cb of held.splice(0)) cb();
  };
  return w;
}

t.test('lines pass through whole while the reader keeps up', async (t) => {
  const got: string[] = [];
  const out = new Writable({
    write: (c: Buffer, _e, cb) => {
      got.push(c.toString());
      cb();
    },
  });
  const sink = new LogSink(out);
  sink.write('{"a":1}\n');
  sink.write('{"a":2}\n');
  await sink.flush(5000);
  t.same(got, ['{"a":1}\n', '{"a":2}\n']);
  t.equal(sink.dropped, 0);
});

t.test('a stalled reader: bounded backlog, lines past it dropped and counted, flush bounded', async (t) => {
  const out = stalledReader();
  const sink = new LogSink(out, { maxBacklogBytes: 100 });
  for (let i = 0; i < 10; i++) sink.write('x'.repeat(40) + '\n');
  t.equal(sink.dropped, 7, 'three lines fill the 100-byte backlog; the rest are dropped');
  t.ok(out.writableLength <= 100 + 41, 'backlog stays at the bound');
  const started = Date.now();
  await sink.flush(50);
  t.ok(Date.now() - started < 2000, 'flush gave up at its deadline');
  // The reader catches up: a flush now resolves on drain, well before its deadline.
  const drained = sink.flush(60_000);
  out.release();
  await drained;
  t.equal(out.writableLength, 0);
});

t.test('a reader that is gone (EPIPE): nothing more is written, flush returns at once', async (t) => {
  let writes = 0;
  const out = new Writable({
    write: (_c, _e, cb) => {
      writes++;
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const sink = new LogSink(out);
  sink.write('first\n');
  await new Promise((r) => out.once('error', r));
  sink.write('second\n');
  t.equal(writes, 1);
  t.equal(sink.dropped, 1);
  await sink.flush(60_000);
  // A flush waiting on a backlog ends when the reader fails.
  const out2 = stalledReader();
  const sink2 = new LogSink(out2);
  sink2.write('x\n');
  const waiting = sink2.flush(60_000);
  out2.destroy(new Error('gone'));
  await waiting;
  t.pass('flush ended with the reader');
});

t.test('one stdout sink per process', async (t) => {
  t.equal(stdoutSink(), stdoutSink());
  t.throws(() => toMainThread(null), /not in a worker thread/);
});

// The worker runs plain JavaScript: the built module (npm test builds first).
const BUILT = join(__dirname, '..', '..', 'dist', 'observability', 'log-sink.js');
t.test(
  'a worker thread that exits right after logging loses no line',
  {
    skip: existsSync(BUILT) ? false : 'dist/ missing: run `npm run build`',
  },
  async (t) => {
    const mod = BUILT;
    const w = new Worker(
      `
    const { toMainThread } = require(${JSON.stringify(mod)});
    const dest = toMainThread();
    for (let i = 0; i < 500; i++) dest.write('line ' + i + '\\n');
    process.exit(0);
  `,
      { eval: true },
    );
    const lines: string[] = [];
    w.on('message', (m: { type: string; line: string }) => {
      if (m.type === 'log') lines.push(m.line);
    });
    await new Promise((r) => w.once('exit', r));
    t.equal(lines.length, 500, 'every line arrived before exit');
    t.equal(lines[499], 'line 499\n', 'in order');
  },
);
