// The standalone simulator (dist/simulator/cli.js) is configured like the
// proxy: its own variables from the environment and from `.env` in its
// working directory (the environment wins); the first SIGINT/SIGTERM stops it
// with exit 0, a second exits 1 at once.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const CLI = join(__dirname, '..', '..', 'dist', 'simulator', 'cli.js');
const skip = existsSync(CLI) ? false : 'dist/simulator/cli.js missing: run `npm run build` (npm test does)';

function start(cwd: string, env: Record<string, string> = {}): { proc: ChildProcess; line: Promise<string> } {
  const proc = spawn(process.execPath, [CLI], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    proc.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  return { proc, line };
}

t.test('settings come from .env; the environment wins; SIGINT stops it with exit 0', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'SIMULATOR_PORT=0\nSIMULATOR_HOST=::1\nSIMULATOR_REQUIRE_CREDENTIAL=false\n');
  const { proc, line } = start(dir, { SIMULATOR_HOST: '127.0.0.1' });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  const info = JSON.parse(await line) as { origin: string };
  t.match(info.origin, /^ws:\/\/127\.0\.0\.1:\d+$/, 'SIMULATOR_HOST from the environment, over .env');
  // SIMULATOR_REQUIRE_CREDENTIAL=false from .env: a socket without any key opens.
  const ws = new WebSocket(`${info.origin}/voice-live/realtime`);
  const [first] = (await once(ws, 'message')) as [Buffer];
  t.equal(JSON.parse(first.toString()).type, 'session.created', 'no credential needed');
  ws.close();
  await once(ws, 'close');
  proc.kill('SIGINT');
  const [code] = (await once(proc, 'exit')) as [number | null];
  t.equal(code, 0);
});

t.test('a bad value in .env is one JSON error line and exit 1', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'SIMULATOR_PORT=eighty\n');
  const proc = spawn(process.execPath, [CLI], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  t.equal(code, 1);
  t.match(JSON.parse(err.trim()), { simulator: 'error', message: /^SIMULATOR_PORT: expected an integer/ });
});
