// Shutdown over the real process, as an operator sees it: every
// lifecycle line reaches stdout in order with worker threads, and a stdout
// nobody reads (`node dist/index.js | head`, a dead log collector) never keeps
// the process from exiting.
import t from 'tap';
import type { Test } from 'tap';
import { TestClient } from '../helpers/client';
import { entryBuilt, startProxyProcess, type Child, type ProxyProcess } from '../helpers/spawn-proxy';
import { startWsUpstream } from '../helpers/ws-upstream';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';
const SESSIONS = 4;

async function startStack(t: Test, env: Record<string, string>): Promise<ProxyProcess> {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  return startProxyProcess(t, up.origin, { SHUTDOWN_GRACE_MS: '200', ...env });
}

function messages(child: Child): string[] {
  const out: string[] = [];
  for (const l of child.stdout) {
    try {
      out.push(String((JSON.parse(l) as { msg: unknown }).msg));
    } catch {
      /* not JSON */
    }
  }
  return out;
}

for (const workers of ['2', '1']) {
  t.test(
    `WORKERS=${workers}: every session closed line is written, in order, before shutdown complete`,
    { skip, timeout: 90_000 },
    async (t) => {
      // Several rounds: the loss this guards against was intermittent.
      for (let round = 0; round < 3; round++) {
        const { child, url } = await startStack(t, { WORKERS: workers });
        const clients = Array.from({ length: SESSIONS }, () => new TestClient(url));
        await Promise.all(clients.map((c) => c.opened));
        // Every session is live on its worker before the signal.
        await child.lines('session open', SESSIONS);
        child.proc.kill('SIGTERM');
        t.same(await child.exited, { code: 0, signal: null }, `round ${round}: exit 0`);
        const msgs = messages(child);
        t.equal(
          msgs.filter((m) => m === 'session closed').length,
          SESSIONS,
          `round ${round}: ${SESSIONS} session closed lines`,
        );
        const draining = msgs.indexOf('draining');
        const complete = msgs.indexOf('shutdown complete');
        t.ok(draining > msgs.indexOf('voice-live-proxy listening'), 'draining after listening');
        t.ok(complete > draining, 'shutdown complete after draining');
        t.equal(complete, msgs.length - 1, 'shutdown complete is the last line');
        t.ok(
          msgs.lastIndexOf('session closed') < complete && msgs.indexOf('session closed') > draining,
          'session closed lines between draining and shutdown complete',
        );
      }
    },
  );
}

for (const workers of ['2', '1']) {
  t.test(
    `WORKERS=${workers}: SIGTERM exits although the stdout reader is gone`,
    { skip, timeout: 30_000 },
    async (t) => {
      const { child, url } = await startStack(t, { WORKERS: workers });
      const c = new TestClient(url);
      await c.opened;
      await child.line('session open');
      // The reader goes away, as `| head` does after its line.
      child.proc.stdout!.destroy();
      child.proc.kill('SIGTERM');
      t.same(await child.exited, { code: 0, signal: null }, 'exit 0 without anyone reading the logs');
      t.equal((await c.closed).code, 1001, 'the session was still closed 1001');
    },
  );

  t.test(
    `WORKERS=${workers}: SIGTERM, then SIGINT, exit although nobody reads a full stdout`,
    { skip, timeout: 60_000 },
    async (t) => {
      for (const second of [false, true]) {
        // LOG_LEVEL=debug and many short sessions fill the pipe while the reader is paused.
        const { child, url } = await startStack(t, {
          WORKERS: workers,
          LOG_LEVEL: 'debug',
          SHUTDOWN_GRACE_MS: '60000',
          RATE_LIMIT_MAX_REQUESTS: '100000',
          UPGRADE_RATE_LIMIT_MAX_REQUESTS: '100000',
          MAX_CONNECTIONS_PER_IP: '1000',
        });
        child.proc.stdout!.pause();
        const live = second ? new TestClient(url) : null;
        await live?.opened;
        // Enough lines to fill the pipe and the reader's buffer several times over
        // (each short session logs three lines of about 300 bytes).
        for (let batch = 0; batch < 20; batch++) {
          const cs = Array.from(
            { length: 20 },
            () => new TestClient(url, { headers: { 'x-ms-client-request-id': 'r'.repeat(64) } }),
          );
          await Promise.all(cs.map((c) => c.opened));
          await Promise.all(cs.map((c) => c.close()));
        }
        child.proc.kill('SIGTERM');
        if (!second) {
          t.same(
            await child.exited,
            { code: 0, signal: null },
            'no session: drained, the log backlog waited for a bounded time, exit 0',
          );
          continue;
        }
        // The live session holds the drain open (grace 60 s): the second signal must end it now.
        child.proc.kill('SIGINT');
        t.same(await child.exited, { code: 1, signal: null }, 'a second signal exits at once with code 1');
      }
    },
  );
}
