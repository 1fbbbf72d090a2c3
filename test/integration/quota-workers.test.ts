// Daily quotas on one process with worker threads and no Redis: the kernel
// spreads a caller's connections over the threads, and the quota still holds
// for the process (the main thread keeps the day, usage/process-days.ts).
// Browser -> proxy (WORKERS=2) -> simulator, one caller by address.
import t from 'tap';
import { startSimulator } from '../../src/simulator/simulator';
import { TEST_ORIGIN, TestClient } from '../helpers/client';
import { httpGet } from '../helpers/http-get';
import { speak } from '../helpers/speak';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';
const CALLER = '127.0.0.2';
/** Sessions of 2 s spoken (4 s with the echo) until both threads carried one; 2^-11 that twelve do not. */
const MAX_SMALL = 12;

t.test(
  'WORKERS=2: one day per caller for the whole process, whichever thread a session lands on',
  { skip },
  async (t) => {
    const sim = await startSimulator();
    t.teardown(() => sim.close());
    const { child, port, url } = await startProxyProcess(t, sim.origin, {
      WORKERS: '2',
      QUOTA_AUDIO_MINUTES_PER_DAY: '1',
      QUOTA_FLUSH_MS: '100',
      QUOTA_GRACE_MS: '20000',
    });
    t.teardown(() => {
      if (!t.passing()) t.comment(child.stdout.join('\n') + child.stderr);
    });
    const threads = (): Set<number> =>
      new Set(
        child.stdout
          .filter((l) => l.includes('"session closed"'))
          .map((l) => (JSON.parse(l) as { worker: number }).worker),
      );
    let sessions = 0;
    while (sessions < 3 || (threads().size < 2 && sessions < MAX_SMALL)) {
      const c = new TestClient(url, { origin: TEST_ORIGIN, localAddress: CALLER });
      await c.waitFor('session.created');
      speak(c, 2);
      await c.waitFor('response.done');
      await c.close(1000, 'done');
      await child.lines('session closed', ++sessions);
    }
    t.equal(threads().size, 2, `both threads carried the caller's sessions (${sessions} sessions)`);

    // Each thread adds its sessions' use to the main thread's day within QUOTA_FLUSH_MS.
    const used = sessions * 4000;
    const read = async (): Promise<Record<string, unknown>> =>
      JSON.parse((await httpGet(port, '/usage', CALLER)).body) as Record<string, unknown>;
    // A thread's own unflushed use shows in its own answers first: every thread agrees
    // once each has flushed (QUOTA_FLUSH_MS), so a round of reads is taken until they do.
    const round = (): Promise<Array<Record<string, unknown>>> => Promise.all(Array.from({ length: 8 }, read));
    const deadline = Date.now() + 5000;
    let answers = await round();
    while (!answers.every((a) => a.audioMs === used) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      answers = await round();
    }
    t.match(
      answers[0],
      { caller: 'address', audioMs: used, exhausted: false, shared: true },
      'the day counts every thread',
    );
    t.same(
      answers.map((a) => a.audioMs),
      answers.map(() => used),
      'GET /usage reads the same whichever thread answers',
    );

    // The rest of the minute in one session: closed after its response, told why.
    const last = new TestClient(url, { origin: TEST_ORIGIN, localAddress: CALLER });
    await last.waitFor('session.created');
    speak(last, 30);
    t.same(await last.closed, { code: 1008, reason: 'Usage quota exhausted' });
    t.ok(
      last.frames.some((m) => !m.isBinary && m.data.toString().includes('quota_exhausted')),
      'the error event came first',
    );

    // The next upgrades, on either thread: 429 with Retry-After.
    for (let i = 0; i < 6; i++) {
      const refused = await new TestClient(url, { origin: TEST_ORIGIN, localAddress: CALLER }).refused;
      t.equal(refused.status, 429, `upgrade ${i + 1} refused`);
      t.ok(Number(refused.headers['retry-after']) >= 1);
    }
    const other = new TestClient(url, { origin: TEST_ORIGIN, localAddress: '127.0.0.3' });
    await other.opened;
    await other.close(1000, 'done');
    t.pass('another address is admitted');
    // Upgrades that wait on the main thread run in the cork anchor's cork (decisions/0003), never uncorked.
    t.notMatch(child.stderr, /corked callback/, 'no late upgrade ran uncorked');
  },
);
