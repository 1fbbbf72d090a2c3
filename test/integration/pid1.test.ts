// The exits of shutdown-logs.test.ts again with node as PID 1 of its own PID
// namespace (`unshare --pid`), as in a container without an init.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TestClient } from '../helpers/client';
import { entryBuilt, freePort, spawnProxy } from '../helpers/spawn-proxy';
import { startWsUpstream } from '../helpers/ws-upstream';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

// As PID 1 in a container the kernel drops signals the process has no handler
// for, and a process cannot SIGKILL itself: the exits above must not rely on either.
const canUnshare = spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
for (const workers of ['2', '1']) {
  t.test(
    `WORKERS=${workers} as PID 1: SIGTERM drains and exits 0; SIGTERM then SIGINT exits 1 at once`,
    {
      skip: skip || (canUnshare ? false : 'needs `unshare --pid` (root, util-linux)'),
      timeout: 60_000,
    },
    async (t) => {
      for (const second of [false, true]) {
        const up = await startWsUpstream();
        t.teardown(() => up.close());
        const port = await freePort();
        const child = spawnProxy(
          {
            PORT: String(port),
            HOST: '127.0.0.1',
            AZURE_VOICE_LIVE_ENDPOINT: up.origin,
            AZURE_SPEECH_KEY: 'k',
            WORKERS: workers,
            ALLOWED_ORIGINS: 'http://localhost:3000',
            LOG_LEVEL: 'info',
            SHUTDOWN_GRACE_MS: second ? '60000' : '200',
          },
          // As the image's CMD starts it: with the flag, node itself is PID 1
          // (without it, one relay thread would relaunch itself under a PID 1 parent).
          { prefix: ['unshare', '--pid', '--fork', '--kill-child'], nodeArgs: ['--max-semi-space-size=2'] },
        );
        t.teardown(() => {
          child.proc.kill('SIGKILL');
        });
        const ready = await child.line('voice-live-proxy listening');
        t.equal(ready.pid, 1, 'node is PID 1 in its namespace');
        // The node process, seen from here: unshare's only child.
        const unsharePid = child.proc.pid!;
        const nodePid = Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim());
        const c = new TestClient(`ws://127.0.0.1:${port}/ws`);
        await c.opened;
        await child.line('session open');
        process.kill(nodePid, 'SIGTERM');
        if (second) {
          await child.line('draining');
          process.kill(nodePid, 'SIGINT');
          t.same(await child.exited, { code: 1, signal: null }, 'second signal: exit 1 at once');
        } else {
          t.equal((await c.closed).code, 1001);
          t.same(await child.exited, { code: 0, signal: null }, 'drained, exit 0');
          t.ok(child.stdout.some((l) => l.includes('"shutdown complete"')));
        }
      }
    },
  );
}
