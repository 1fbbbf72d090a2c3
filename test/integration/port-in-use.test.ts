// A port already taken is a failed start, never a shared one. uWS sets
// SO_REUSEPORT by default, so without care a second proxy (a stale process, a
// double deploy, a test run twice) would bind beside the first and the kernel
// would split new sessions between them, silently.
import t from 'tap';
import type { Test } from 'tap';
import { startHarness } from '../helpers/harness';
import { entryBuilt, freePort, proxyTestEnv, spawnProxy, type Child } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

function start(t: Test, port: number, workers: number): Child {
  const child = spawnProxy({ ...proxyTestEnv('ws://127.0.0.1:9'), WORKERS: String(workers), PORT: String(port) });
  t.teardown(() => {
    if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
  });
  return child;
}

/** The statuses `n` fresh connections get from /health. */
async function healthStatuses(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } });
    seen.add(String(res.status));
  }
  return seen;
}

t.test('a one-thread proxy on a taken port exits 1, naming it', { skip }, async (t) => {
  const h = await startHarness(t);
  const port = h.proxy.port;
  const single = start(t, port, 1);
  const { code } = await single.exited;
  t.equal(code, 1);
  const plain = new RegExp(`^voice-live-proxy: failed to start: cannot listen on 127\\.0\\.0\\.1:${port}\\b.*\\n$`);
  t.match(single.stderr, plain, 'one plain line on stderr');
  t.match(await single.line('failed to start'), { level: 'fatal', err: /cannot listen on/ }, 'and the log line');
  const cluster = start(t, port, 2);
  t.equal((await cluster.exited).code, 1, 'WORKERS=2: the same exit code');
  t.match(cluster.stderr, plain, 'the same plain line');
  t.match(await cluster.line('failed to start'), { level: 'fatal', err: new RegExp(`${port}: EADDRINUSE`) });
  t.same(await healthStatuses(port, 20), new Set(['200']), 'the first proxy still answers every connection');
});

t.test('WORKERS=2 on a port another WORKERS=2 proxy holds: refused, not joined', { skip }, async (t) => {
  const port = await freePort();
  const first = start(t, port, 2);
  await first.line('voice-live-proxy listening');
  const second = start(t, port, 2);
  t.equal((await second.exited).code, 1, 'the second exits');
  t.ok(!second.stdout.some((l) => l.includes('voice-live-proxy listening')), 'it never listened');
  t.same(await healthStatuses(port, 20), new Set(['200']), 'the first still serves');
  // Its workers still share the port between themselves, and a replaced one rejoins (workers.test.ts).
});
