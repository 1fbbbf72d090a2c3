// The one SIGTERM/SIGINT helper every entry point uses: the first signal
// drains and exits with the drain's code once the log sink is flushed, a
// second exits 1 at once.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DIST = join(__dirname, '..', 'dist', 'shutdown-signals.js');
const skip = existsSync(DIST) ? false : 'dist/shutdown-signals.js missing: run `npm run build` (npm test does)';

/** A process with the helper installed; `drainMs` long drains, a sink whose flush never resolves. */
async function child(
  drainMs: number,
  code: number,
): Promise<{
  signal(s: NodeJS.Signals): void;
  exit: Promise<unknown>;
  out: () => string;
  until(text: string): Promise<void>;
}> {
  const script = `
    const { shutdownOnSignals } = require(${JSON.stringify(DIST)});
    shutdownOnSignals({
      sink: { flush: () => new Promise((resolve) => setTimeout(() => { process.stdout.write('flushed\\n'); resolve(); }, 50)) },
      drain: (signal) => new Promise((resolve) => {
        process.stdout.write('draining ' + signal + '\\n');
        setTimeout(() => resolve(${code}), ${drainMs});
      }),
    });
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = once(proc, 'exit');
  const until = async (text: string): Promise<void> => {
    while (!out.includes(text)) await once(proc.stdout, 'data');
  };
  await until('ready');
  return { signal: (s) => proc.kill(s), exit, out: () => out, until };
}

t.test('first signal: drain, flush, exit with the drain code', { skip }, async (t) => {
  const c = await child(50, 3);
  c.signal('SIGTERM');
  t.same(await c.exit, [3, null]);
  t.match(c.out(), /draining SIGTERM\nflushed\n/);
});

t.test('second signal: exit 1 at once, mid-drain', { skip }, async (t) => {
  const c = await child(60_000, 0);
  c.signal('SIGINT');
  await c.until('draining');
  c.signal('SIGTERM');
  t.same(await c.exit, [1, null]);
  t.notMatch(c.out(), /flushed/);
});
