// No Docker engine runs in CI, so this test checks the Dockerfile's rules by
// parsing it, then replays the image's own steps in clean temp dirs: each
// stage's COPY and RUN lines as written (apt-get aside: the tools are here),
// the runtime stage's COPY --from=build, then `node dist/index.js` as CMD
// does, /health polled like HEALTHCHECK, and a clean exit on the STOPSIGNAL.
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../../src/demo/free-port';
import { warnUnboundedSocketBuffers } from '../../src/kernel-socket-buffers';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
// The replay runs a full `npm ci` (from the local cache): longer than .taprc's per-file timeout on a busy machine.
t.setTimeout(900_000);
const IMAGE = 'node:22-bookworm-slim';

interface Instruction {
  readonly cmd: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string;
  readonly body: Instruction[];
}

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
const HEALTH_SCRIPT =
  "require(process.env.TLS_CERT_FILE?'https':'http')" +
  ".get({host:'127.0.0.1',port:process.env.PORT||8080,path:'/health',rejectUnauthorized:false}," +
  "r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))";

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
  t.match(buildRuns, /npm prune --omit=dev/, 'dev dependencies pruned in the build stage');
  t.match(
    buildRuns,
    /apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/,
    'build tools for bufferutil on arm64 (no prebuild in 4.1.0)',
  );
  t.match(buildRuns, /uws_\*\.node/, 'the other uWS binaries are pruned');
  t.match(
    buildRuns,
    /node -e "require\('bufferutil'\); require\('uWebSockets\.js'\)"/,
    'the build fails when a native module has no binary for the platform',
  );
  t.same(all(build, 'ARG'), ['APPLICATIONINSIGHTS=false'], 'telemetry is a build argument, off by default');
  t.match(buildRuns, /"\$APPLICATIONINSIGHTS" = "true"[\s\S]*applicationinsights@/);

  const runs = all(runtime, 'RUN');
  t.notOk(
    runs.some((r) => /npm (ci|install)\b/.test(r)),
    'nothing is installed in the runtime stage',
  );
  t.notMatch(runs.join('\n'), /apt-get/, 'no compiler or package in the runtime image');
  const copies = all(runtime, 'COPY');
  t.ok(
    copies.some((c) => new RegExp(`--from=${build.name}\\s+\\S*dist\\s`).test(c)),
    'copies dist/ from the build stage',
  );
  t.ok(
    copies.some((c) => new RegExp(`--from=${build.name}\\s+\\S*node_modules\\s`).test(c)),
    'copies the pruned node_modules from the build stage',
  );
  t.ok(
    copies.some((c) => /^demo\/public\s/.test(c)),
    'copies the demo page from the context (DEMO=true works in the image)',
  );

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
  t.ok(hc[0].includes(HEALTH_SCRIPT), 'probe is node itself on /health, https:// with TLS_CERT_FILE');
  t.notMatch(hc[0], /curl|wget/, 'slim has neither curl nor wget');
  // A drain lasts SHUTDOWN_GRACE_MS (10 s by default) + up to 3 s: the check
  // must be able to turn unhealthy inside it.
  const interval = Number(/--interval=(\d+)s/.exec(hc[0])?.[1]);
  const retries = Number(/--retries=(\d+)/.exec(hc[0])?.[1]);
  t.ok(interval * retries <= 10, `a drain is seen within ${interval * retries} s`);

  const cmds = all(runtime, 'CMD');
  t.equal(cmds.length, 1);
  t.same(
    JSON.parse(cmds[0]),
    ['node', '--max-semi-space-size=2', 'dist/index.js'],
    'exec form, node directly (no npm start), with the relay young generation (src/cluster/young-generation.ts)',
  );
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
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of [
    'node_modules',
    'dist',
    '.git',
    'test',
    'bench',
    'coverage',
    '.tap',
    '.env',
    '**/*.md',
    '!README.md',
  ]) {
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
  // The sysctls are the ones the start-up check counts as bounded (with the
  // kernel's default tcp_wmem), on the single service and on the fleet
  // replicas' anchor (proxy-1; the other replicas merge it with `<<:`).
  const proxies = Object.entries(doc.services).filter(
    ([, v]) => v.image !== undefined && String(v.image).startsWith('voice-live-proxy'),
  );
  t.same(
    proxies.map(([name]) => name),
    ['voice-live-proxy', 'proxy-1'],
  );
  for (const [name, service] of proxies) {
    const sysctls = service.sysctls as Record<string, string>;
    const warnings: string[] = [];
    const warned = warnUnboundedSocketBuffers({ warn: (_o, msg) => warnings.push(msg) }, 512 * 1024 * 1024, {
      notsentLowatBytes: Number(sysctls['net.ipv4.tcp_notsent_lowat']),
      wmemMaxBytes: 4194304,
      rmemMaxBytes: Number(String(sysctls['net.ipv4.tcp_rmem']).split(/\s+/)[2]),
    });
    t.notOk(warned, `${name}: socket buffers bounded (${JSON.stringify(sysctls)})`);
    t.same(warnings, []);
  }
  const replica = doc.services['proxy-1'].environment as Record<string, string>;
  t.equal(replica.CLIENT_AUTH, 'ticket', 'the fleet replicas need tickets');
  t.notOk('TICKET_SECRET' in replica, 'its secret comes from .env, not the file');
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
  t.same(app.env, { NODE_ENV: 'production' }, 'no placeholder settings that would beat .env');
  t.equal(app.cwd, ROOT, '.env beside the file is the one read');
  t.equal(app.max_memory_restart, undefined, 'no memory restart below the worst case (it would drop every call)');
  const text = readFileSync(join(ROOT, 'ecosystem.config.cjs'), 'utf8');
  t.notMatch(text, /npm ci --omit=dev && npm run build/, 'the install comment does not prune tsc before building');
  t.match(text, /npm ci && npm run build && npm prune --omit=dev/);
});

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 400_000 });
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

/** The Dockerfile's own lines, replayed in `dir` (the stage's WORKDIR); COPY from the context or a stage. */
function replayStage(stage: Stage, dir: string, stageDirs: Record<string, string>, env: NodeJS.ProcessEnv): void {
  const vars: NodeJS.ProcessEnv = { ...env };
  for (const ins of stage.body) {
    if (ins.cmd === 'ARG' || ins.cmd === 'ENV') {
      for (const kv of ins.args.split(/\s+/)) {
        const [k, v] = kv.split('=');
        vars[k] = vars[k] ?? v;
      }
    } else if (ins.cmd === 'COPY') {
      const parts = ins.args.split(/\s+/);
      const from = parts[0].startsWith('--from=') ? stageDirs[parts.shift()!.slice('--from='.length)] : ROOT;
      const dest = join(dir, parts.pop()!);
      for (const src of parts) {
        // Paths in another stage are absolute under its WORKDIR (/app).
        const path = from === ROOT ? join(ROOT, src) : join(from, src.replace(/^\/app\/?/, ''));
        const target = parts.length > 1 || dest.endsWith('/') ? join(dest, src.split('/').pop()!) : dest;
        cpSync(path, target, { recursive: true });
      }
    } else if (
      ins.cmd === 'RUN' &&
      /^npm ci --no-audit --no-fund$/.test(ins.args) &&
      existsSync(join(ROOT, 'node_modules'))
    ) {
      // The full `npm ci` is what this checkout ran from the same lockfile:
      // link its result in (no data copied) instead of unpacking 380 MB again
      // on a machine the rest of the suite shares. Later steps only delete
      // files here (prune), which leaves the checkout's own links alone; npm's
      // hidden lockfile is rewritten, so that one is a copy.
      run('cp', ['-al', join(ROOT, 'node_modules'), join(dir, 'node_modules')], dir, vars);
      rmSync(join(dir, 'node_modules', '.package-lock.json'), { force: true });
    } else if (ins.cmd === 'RUN' && !/^apt-get\b/.test(ins.args)) {
      run('sh', ['-c', ins.args], dir, vars);
    }
  }
}

// Distinctive, so the log check below cannot match by accident.
const SPEECH_KEY = 'test-key-7f3a9c1e';
const hasEntry = existsSync(join(ROOT, 'src', 'index.ts'));
t.test(
  'image steps replayed: build stage, runtime stage, node dist/index.js, /health, SIGTERM -> 0',
  {
    skip: hasEntry ? false : 'src/index.ts does not exist yet',
    timeout: 480_000,
  },
  async (t) => {
    const buildDir = mkdtempSync(join(tmpdir(), 'vlp-image-build-'));
    const dir = mkdtempSync(join(tmpdir(), 'vlp-image-'));
    let child: ChildProcess | null = null;
    t.teardown(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(buildDir, { recursive: true, force: true });
    });
    // npm sets npm_* variables when tests run under `npm test`; an image build has none.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_')) env[k] = v;
    // Packages come from the local cache when it has them (it does after `npm ci` here).
    env.npm_config_prefer_offline = 'true';

    replayStage(stages[0], buildDir, {}, env);
    t.ok(existsSync(join(buildDir, 'dist', 'index.js')), 'build produced dist/index.js');
    const uws = readdirSync(join(buildDir, 'node_modules', 'uWebSockets.js')).filter((f) => f.endsWith('.node'));
    t.same(
      uws,
      [`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`],
      "one uWS binary: this platform's",
    );
    t.notOk(existsSync(join(buildDir, 'node_modules', 'applicationinsights')), 'no telemetry SDK unless asked');

    replayStage(stages[stages.length - 1], dir, { [stages[0].name]: buildDir }, env);
    t.notOk(existsSync(join(dir, 'node_modules', 'typescript')), 'dev dependencies not installed');
    t.notOk(existsSync(join(dir, 'node_modules', 'tap')), 'test runner not installed');
    t.ok(existsSync(join(dir, 'node_modules', 'bufferutil')), 'bufferutil is in the image');

    const port = await freePort();
    let output = '';
    // The image's CMD as written, with this node in place of the image's.
    const cmd = JSON.parse(all(stages[stages.length - 1], 'CMD')[0]) as string[];
    const proc = spawn(process.execPath, cmd.slice(1), {
      cwd: dir,
      env: {
        ...env,
        NODE_ENV: 'production',
        // The test host's own variables are not the image's: a CI agent's
        // AGENT_* would be refused as unknown by the strict check.
        STRICT_CONFIG: 'false',
        PORT: String(port),
        HOST: '127.0.0.1',
        AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
        AZURE_SPEECH_KEY: SPEECH_KEY,
        SHUTDOWN_GRACE_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });

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
  },
);
