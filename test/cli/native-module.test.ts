// A Node whose uWebSockets.js binary cannot load fails at start with one line
// saying why and what to run instead (src/native-runtime.ts), not the
// loader's own message, which names neither glibc nor a Node version.
import t from 'tap';
import { join } from 'node:path';
import { explainUwsLoadFailure, type NodeRuntime } from '../../src/native-runtime';
import { entryBuilt, freePort, proxyTestEnv, spawnProxy } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const PRELOAD = join(__dirname, '..', 'helpers', 'node24-abi-preload.cjs');
const node24: NodeRuntime = { node: '24.1.0', abi: '137', platform: 'linux', arch: 'x64', glibc: '2.36' };

t.test('each way the load fails is named, with what to use', async (t) => {
  const glibc = new Error(
    "This version of uWS.js (v20.51.0) supports only ...\n\nError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by uws_linux_x64_137.node)",
  );
  const m = explainUwsLoadFailure(glibc, node24);
  t.match(
    m,
    /cannot load on Node 24\.1\.0: its binary uws_linux_x64_137\.node needs glibc 2\.38, this system has glibc 2\.36/,
  );
  t.match(m, /Use Node 22\.12\+ \(the image: node:22-bookworm-slim\), 20\.19\+ or 23/);
  const missing = new Error("...\n\nError: Cannot find module './uws_linux_x64_120.node'");
  t.match(
    explainUwsLoadFailure(missing, { ...node24, node: '21.7.0', abi: '120' }),
    /no binary for Node 21\.7\.0 on linux-x64 \(uws_linux_x64_120\.node\)\. Use Node 22\.12\+/,
  );
  t.match(explainUwsLoadFailure(missing, { ...node24, glibc: undefined }), /musl, as on Alpine.*bookworm-slim/);
  t.match(
    explainUwsLoadFailure(new Error('a\n\nsomething else'), { ...node24, platform: 'darwin', glibc: undefined }),
    /failed to load on Node 24\.1\.0 \(darwin-x64\): something else$/,
  );
});

for (const workers of ['1', '2']) {
  t.test(`WORKERS=${workers}: the Node 24 binary on glibc 2.36 is one line and exit 1`, { skip }, async (t) => {
    const child = spawnProxy(
      { ...proxyTestEnv('ws://127.0.0.1:9'), PORT: String(await freePort()), WORKERS: workers },
      { entry: CLI, nodeArgs: ['--require', PRELOAD] },
    );
    t.teardown(() => {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    });
    t.equal((await child.exited).code, 1);
    t.match(
      child.stderr,
      /^voice-live-proxy: failed to start: the native module uWebSockets\.js cannot load on Node [\d.]+: its binary uws_linux_\w+_137\.node needs glibc 2\.38, this system has glibc 2\.\d+\. Use Node 22\.12\+/,
    );
    t.equal(child.stderr.split('\n').length, 2, 'one line');
  });
}
