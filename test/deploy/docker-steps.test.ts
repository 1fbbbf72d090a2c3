// No Docker engine runs in CI, so this test checks the Dockerfile's rules by
// parsing it, then replays the image's steps in a clean temp dir: compile like
// the build stage, `npm ci --omit=dev` like the runtime stage, start
// `node dist/index.js` as CMD does, poll /health like HEALTHCHECK, and expect a
// clean exit on the STOPSIGNAL.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../../src/demo/free-port';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const IMAGE = 'node:22-bookworm-slim';

interface Instruction { readonly cmd: string; readonly args: string }
interface Stage { readonly from: string; readonly name: string; readonly body: Instruction[] }

/** Enough of the Dockerfile grammar for our file: comments, `\` continuations, stages. */
function parseDockerfile(text: string): { stages: Stage[]; comments: string } {
  const stages: Stage[] = [];
  let comments = '';
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && line.startsWith('#')) {
      comments += line + '\n';
      continue;
    }
    if (line === '' && pending === '') continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1).trimEnd() + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    if (!m) throw new Error(`unparsable line: ${full}`);
    const cmd = m[1].toUpperCase();
    const args = m[2].trim();
    if (cmd === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`bad FROM: ${args}`);
      stages.push({ from: f[1], name: f[2] ?? String(stages.length), body: [] });
    } else {
      if (stages.length === 0) throw new Error(`${cmd} before FROM`);
      stages[stages.length - 1].body.push({ cmd, args });
    }
  }
  return { stages, comments };
}

function all(stage: Stage, cmd: string): string[] {
  return stage.body.filter((i) => i.cmd === cmd).map((i) => i.args);
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { stages, comments } = parseDockerfile(dockerfile);
const HEALTH_SCRIPT = "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health')" +
  '.then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))';

t.test('Dockerfile invariants', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) t.equal(s.from, IMAGE, `stage ${s.name} is ${IMAGE}`);
  t.notMatch(stages.map((s) => s.from).join(' '), /alpine/i, 'never alpine');
  t.match(comments, /glibc/, 'says why not alpine');

  const build = stages[0];
  const runtime = stages[stages.length - 1];
  const buildRuns = all(build, 'RUN').join('\n');
  t.match(buildRuns, /npm ci\b/);
  t.match(buildRuns, /npm run build/);

  const runs = all(runtime, 'RUN');
  t.ok(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)), 'runtime installs production deps only');
  t.notOk(runs.some((r) => /npm (ci|install)\b/.test(r) && !/--omit=dev/.test(r)), 'no dev install in runtime');
  t.ok(all(runtime, 'COPY').some((c) => new RegExp(`--from=${build.name}\\s+\\S*dist\\s`).test(c)),
    'copies dist/ from the build stage');

  const users = all(runtime, 'USER');
  t.equal(users.length > 0, true, 'USER set');
  t.notMatch(users[users.length - 1], /^(root|0)(:|$)/, 'not root');
  const userIdx = runtime.body.findIndex((i) => i.cmd === 'USER');
  const cmdIdx = runtime.body.findIndex((i) => i.cmd === 'CMD');
  t.ok(userIdx < cmdIdx, 'USER comes before CMD');

  const env = all(runtime, 'ENV').join(' ');
  t.match(env, /NODE_ENV=production/);
  t.match(env, /PORT=8080/);
  t.same(all(runtime, 'EXPOSE'), ['8080']);
  t.same(all(runtime, 'STOPSIGNAL'), ['SIGTERM']);

  const hc = all(runtime, 'HEALTHCHECK');
  t.equal(hc.length, 1, 'HEALTHCHECK present');
  t.match(hc[0], /CMD node -e /);
  t.ok(hc[0].includes(HEALTH_SCRIPT), 'probe is node fetch on /health');
  t.notMatch(hc[0], /curl|wget/, 'slim has neither curl nor wget');

  const cmds = all(runtime, 'CMD');
  t.equal(cmds.length, 1);
  t.same(JSON.parse(cmds[0]), ['node', 'dist/index.js'], 'exec form, node directly (no npm start)');
  t.equal(all(runtime, 'ENTRYPOINT').length, 0, 'no ENTRYPOINT wrapper');
});

t.test('the parser rejects what it does not understand', async (t) => {
  t.throws(() => parseDockerfile('RUN x\n'), /before FROM/);
  t.throws(() => parseDockerfile('FROM a b c\n'), /bad FROM/);
  t.throws(() => parseDockerfile('FROM a\n???\n'), /unparsable/);
  const p = parseDockerfile('FROM a AS b\nRUN one \\\n  two\n');
  t.same(p.stages, [{ from: 'a', name: 'b', body: [{ cmd: 'RUN', args: 'one two' }] }]);
});

t.test('.dockerignore keeps secrets and noise out, the build inputs in', async (t) => {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', '.git', 'test', 'bench', 'coverage', '.tap', '.env', '**/*.md', '!README.md']) {
    t.ok(lines.includes(p), p);
  }
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src']) {
    t.notOk(lines.includes(needed), `${needed} is sent to the build`);
  }
});

t.test('docker-compose.yml', async (t) => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  let yaml: { parse(s: string): unknown } | null = null;
  try {
    yaml = require('yaml') as { parse(s: string): unknown };
  } catch {
    // yaml comes with tap; without it, fall back to the text checks below.
  }
  t.match(text, /env_file:\s*\.env/);
  t.match(text, /"8080:8080"/);
  t.match(text, /restart:\s*unless-stopped/);
  if (yaml === null) return;
  const doc = yaml.parse(text) as { services: Record<string, Record<string, unknown>> };
  const svc = Object.values(doc.services)[0];
  t.equal(svc.env_file, '.env');
  t.same(svc.ports, ['8080:8080']);
  t.equal(svc.restart, 'unless-stopped');
  t.same(svc.ulimits, { nofile: { soft: 65536, hard: 65536 } });
  const grace = /^(\d+)s$/.exec(String(svc.stop_grace_period));
  t.ok(grace && Number(grace[1]) * 1000 > 10_000, 'stop_grace_period > SHUTDOWN_GRACE_MS default');
  const hc = svc.healthcheck as { test: string[] };
  t.same(hc.test, ['CMD', 'node', '-e', HEALTH_SCRIPT], 'same probe as the Dockerfile');
});

t.test('ecosystem.config.cjs (PM2)', async (t) => {
  const app = (require(join(ROOT, 'ecosystem.config.cjs')) as { apps: Array<Record<string, unknown>> }).apps[0];
  t.equal(app.script, 'dist/index.js');
  t.equal(app.exec_mode, 'fork');
  t.equal(app.instances, 1);
  t.ok(Number(app.kill_timeout) > 10_000, 'kill_timeout > SHUTDOWN_GRACE_MS default');
  t.equal((app.env as Record<string, unknown>).NODE_ENV, 'production');
});

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
}

// Distinctive, so the log check below cannot match by accident.
const SPEECH_KEY = 'test-key-7f3a9c1e';
const hasEntry = existsSync(join(ROOT, 'src', 'index.ts'));
t.test('image steps replayed: npm ci --omit=dev, node dist/index.js, /health, SIGTERM -> 0', {
  skip: hasEntry ? false : 'src/index.ts does not exist yet',
  timeout: 240_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-image-'));
  let child: ChildProcess | null = null;
  t.teardown(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  // npm sets npm_* variables when tests run under `npm test`; an image build has none.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_')) env[k] = v;

  // Build stage: compile src/ fresh (never a stale dist/) into the temp dir.
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'),
    '--outDir', join(dir, 'dist')], ROOT, env);
  t.ok(existsSync(join(dir, 'dist', 'index.js')), 'build produced dist/index.js');

  // Runtime stage.
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], dir, { ...env, NODE_ENV: 'production' });
  t.notOk(existsSync(join(dir, 'node_modules', 'typescript')), 'dev dependencies not installed');
  t.notOk(existsSync(join(dir, 'node_modules', 'tap')), 'test runner not installed');

  const port = await freePort();
  let output = '';
  const proc = spawn(process.execPath, ['dist/index.js'], {
    cwd: dir,
    env: {
      ...env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
      AZURE_SPEECH_KEY: SPEECH_KEY,
      SHUTDOWN_GRACE_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  proc.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { output += d.toString(); });

  // HEALTHCHECK: poll /health, bounded.
  const deadline = Date.now() + 15_000;
  let status = 0;
  let body: { status?: string } = {};
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      status = r.status;
      body = (await r.json()) as { status?: string };
      if (status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (status !== 200) t.comment(output);
  t.equal(status, 200, 'GET /health is 200 within 15 s');
  t.equal(body.status, 'ok');

  // STOPSIGNAL: SIGTERM, then a clean exit.
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const { code, signal } = await exited(proc);
  clearTimeout(timer);
  if (signal !== null || code !== 0) t.comment(output);
  t.equal(signal, null, 'exited by itself, not killed');
  t.equal(code, 0, 'exit code 0 after SIGTERM');
  t.notOk(output.includes(SPEECH_KEY), 'the key is never logged');
});
