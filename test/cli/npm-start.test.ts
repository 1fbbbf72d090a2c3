// `npm start` runs its script through `sh -c`: without `exec`, SIGTERM to npm
// stopped npm and the shell but left node running, orphaned, holding the port.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { probePort } from '../../src/port-probe';
import { entryBuilt, freePort, proxyTestEnv } from '../helpers/spawn-proxy';
import { lineOf } from '../helpers/lines';

const ROOT = join(__dirname, '..', '..');
const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('SIGTERM to `npm start` drains node and frees the port', { skip }, async (t) => {
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  Object.assign(env, proxyTestEnv('ws://127.0.0.1:9'), { PORT: String(port), WORKERS: '1' });
  const npm = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let node = 0;
  t.teardown(() => {
    npm.kill('SIGKILL');
    if (node !== 0 && alive(node)) process.kill(node, 'SIGKILL');
  });
  const listening = await lineOf(npm.stdout, (l) => l.msg === 'voice-live-proxy listening');
  node = Number(listening.pid);
  t.not(node, npm.pid, 'node runs under npm');
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const complete = lineOf(npm.stdout, (l) => l.msg === 'shutdown complete');
  npm.kill('SIGTERM');
  await complete;
  t.pass('node drained');
  await exited;
  t.notOk(alive(node), 'node has exited with npm');
  await probePort('127.0.0.1', port).then(
    () => t.pass('the port is free'),
    (err: Error) => t.fail(err.message),
  );
});
