// The `voice-live-proxy` command as an operator meets it: the real dist/cli.js,
// spawned. Options are answered with the variable they look like; each
// command's help lists the variables it reads; demo and simulator start.
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { SCHEMA } from '../../src/config/schema';
import { SIMULATOR_SCHEMA } from '../../src/simulator/config';
import { entryBuilt } from '../helpers/spawn-proxy';
import { lineOf } from '../helpers/lines';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const skip = entryBuilt() ? false : 'dist/cli.js missing: run `npm run build` (npm test does)';

/** Runs the command to its end (no .env: the working directory is /). */
async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: '/',
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(proc, 'close')) as [number | null];
  return { code, stdout, stderr };
}

t.test('an option is reported as an option, with the variable that sets it', { skip }, async (t) => {
  for (const args of [
    ['--port', '9000'],
    ['serve', '--port=9000'],
  ]) {
    const r = await run(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, /unknown option --port: settings are environment variables, e\.g\. PORT=9000 voice-live-proxy/);
    t.notMatch(r.stderr, /unknown command/);
    t.equal(r.stdout, '', 'nothing started');
  }
  const other = await run(['--colour']);
  t.match(other.stderr, /unknown option --colour: settings are environment variables \('voice-live-proxy --help'/);
  const sim = await run(['simulator', '--simulator-port', '1234']);
  t.match(sim.stderr, /SIMULATOR_PORT=1234 voice-live-proxy simulator/);
  const word = await run(['strat']);
  t.match(word.stderr, /unknown command "strat"; the commands are serve, demo, simulator, mint-ticket/);
  t.equal(word.code, 2);
});

t.test('each command’s --help lists the variables it reads', { skip }, async (t) => {
  const top = await run(['--help']);
  t.equal(top.code, 0);
  for (const c of ['serve', 'demo', 'simulator', 'mint-ticket']) t.match(top.stdout, new RegExp(`\\n  ${c} `));
  const serve = await run(['serve', '--help']);
  t.equal(serve.code, 0);
  const listed = new Set(serve.stdout.split(/\s+/));
  t.same(
    SCHEMA.map((s) => s.name).filter((n) => !listed.has(n)),
    [],
    'serve: every variable of the schema',
  );
  t.equal((await run(['help', 'serve'])).stdout, serve.stdout, '`help serve` says the same');
  const sim = await run(['simulator', '-h']);
  for (const s of SIMULATOR_SCHEMA) t.match(sim.stdout, s.name, `simulator: ${s.name}`);
  const demo = await run(['demo', '--help']);
  for (const n of ['PORT', 'SIMULATOR_PORT', '--host']) t.match(demo.stdout, n, `demo: ${n}`);
  const mint = await run(['mint-ticket', '--help']);
  for (const n of ['TICKET_SECRET', 'TICKET_MAX_TTL_S', '--ttl', '--sub']) t.match(mint.stdout, n, `mint-ticket: ${n}`);
});

t.test('mint-ticket: a --ttl past TICKET_MAX_TTL_S warns; errors name --ttl and TICKET_SECRET', { skip }, async (t) => {
  const secret = randomBytes(32).toString('base64url');
  const long = await run(['mint-ticket', '--sub', 'u', '--ttl', '600'], { TICKET_SECRET: secret });
  t.equal(long.code, 0, 'still minted: the operator may be minting for a proxy with a longer limit');
  t.match(long.stderr, /--ttl 600 is longer than TICKET_MAX_TTL_S \(300\)/);
  const claims = decodeJwt(long.stdout.trim());
  t.equal(Number(claims.exp) - Number(claims.iat), 600);
  const fits = await run(['mint-ticket', '--sub', 'u', '--ttl', '600'], {
    TICKET_SECRET: secret,
    TICKET_MAX_TTL_S: '900',
  });
  t.equal(fits.stderr, '', 'within the limit: no warning');
  for (const bad of ['0', 'abc', '1.5', '100000']) {
    const r = await run(['mint-ticket', '--sub', 'u', '--ttl', bad], { TICKET_SECRET: secret });
    t.equal(r.code, 2, `--ttl ${bad}`);
    t.match(r.stderr, /^mint-ticket: --ttl must be whole seconds from 1 to 86400/);
    t.notMatch(r.stderr, /ttlSeconds|mintTicket/);
  }
  const none = await run(['mint-ticket', '--sub', 'u']);
  t.match(none.stderr, /^mint-ticket: TICKET_SECRET is not set/);
  const short = await run(['mint-ticket', '--sub', 'u'], { TICKET_SECRET: 'short' });
  t.match(short.stderr, /^mint-ticket: TICKET_SECRET: expected at least 32 bytes/);
  t.notMatch(short.stderr, /mintTicket|short/, 'no internal names, no secret');
});

t.test('`simulator` starts the simulator and stops on SIGTERM', { skip }, async (t) => {
  const proc = spawn(process.execPath, [CLI, 'simulator'], {
    cwd: '/',
    env: { PATH: process.env.PATH ?? '', SIMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  const line = await lineOf(proc.stdout, (l) => l.simulator === 'listening');
  t.match(line.url, /^ws:\/\/127\.0\.0\.1:\d+\//);
  proc.kill('SIGTERM');
  const [code] = (await once(proc, 'exit')) as [number | null];
  t.equal(code, 0);
});

t.test('`demo` says it is starting, prints its page and stops on SIGINT', { skip }, async (t) => {
  const proc = spawn(process.execPath, [CLI, 'demo', '--host', '127.0.0.1'], {
    cwd: '/',
    env: { PATH: process.env.PATH ?? '', PORT: '0', SIMULATOR_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('Ctrl+C')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`demo exited ${code}: ${out}`)));
  });
  t.match(out, /Open the page: +http:\/\/localhost:\d+\/demo\//);
  const page = /localhost:(\d+)\/demo\//.exec(out)!;
  t.equal((await fetch(`http://127.0.0.1:${page[1]}/demo/`)).status, 200);
  proc.kill('SIGINT');
  const [code] = (await once(proc, 'exit')) as [number | null];
  t.equal(code, 0);
});

t.test('`npm run demo` says it is building before tsc runs', async (t) => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [say, build, start] = pkg.scripts.demo.split(' && ');
  t.match(say, /^node -e .*voice-live-proxy demo: building/, 'first, a line that says so (node: any shell)');
  t.match(build, /^npm run build/);
  t.equal(start, 'node dist/demo.js');
});
