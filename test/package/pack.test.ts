// The package as a user gets it: `npm pack`, the tarball unpacked into an
// empty folder, its bin started there, /health answering. Offline: the
// tarball's own dependencies are linked from this checkout's node_modules
// (exactly the ones package.json lists, so a missing one fails here) instead
// of being fetched from the registry.
import t from 'tap';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { filesUnder } from '../helpers/doc-pages';
import { entryBuilt, freePort, proxyTestEnv, spawnProxy } from '../helpers/spawn-proxy';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
// npm pack, tar, four node processes and a tsc run: minutes, not seconds, on a loaded 2-core CI machine.
t.setTimeout(360_000);

const skip = entryBuilt() ? false : 'dist/ missing: run `npm run build` (npm test does)';

interface Manifest {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  engines: { node: string };
}

t.test('npm pack -> install into an empty folder -> the bin serves /health', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // --ignore-scripts: npm test has just built dist/; prepack would rebuild it
  // under the feet of the other test files running in parallel.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info.files.map((f) => f.path);
  const demoPage = readdirSync(join(ROOT, 'demo', 'public')).map((f) => `demo/public/${f}`);
  // The README's links lead into docs/: the pages travel with it (the screenshot does not).
  const docs = [...filesUnder(join(ROOT, 'docs'), /\.md$/)].map((f) => relative(ROOT, f));
  const besideDist = [
    'README.md',
    'package.json',
    ...(existsSync(join(ROOT, 'LICENSE')) ? ['LICENSE'] : []),
    ...demoPage,
    ...docs,
  ].sort();
  t.ok(docs.length > 20, `${docs.length} doc pages`);
  t.same(
    files.filter((f) => !f.startsWith('dist/')).sort(),
    besideDist,
    'outside dist/: the README, LICENSE, package.json, the demo page and the docs the README links to',
  );
  t.same(
    files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f) && f.startsWith('dist/')),
    [],
    'dist/ holds code and types only',
  );
  for (const f of ['dist/cli.js', 'dist/index.js', 'dist/api.js', 'dist/api.d.ts', 'dist/cluster/worker.js']) {
    t.ok(files.includes(f), `${f} is in the tarball`);
  }

  const pkgDir = join(dir, 'node_modules', 'voice-live-proxy');
  mkdirSync(pkgDir, { recursive: true });
  await run('tar', ['xzf', join(dir, info.filename), '-C', pkgDir, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Manifest;
  // jose 6 is an ES module loaded with require(esm): unflagged from Node 20.19 and 22.12; the
  // uWebSockets.js binaries of Node 24 and later need glibc 2.38 (src/native-runtime.ts).
  t.equal(
    manifest.engines.node,
    '^20.19.0 || ^22.12.0 || ^23.0.0',
    'engines: the Node versions with require(esm) whose uWebSockets.js binary loads on glibc 2.27+',
  );
  t.notOk('@types/ws' in manifest.dependencies, 'the public types need no @types/ws');
  for (const dep of Object.keys(manifest.dependencies)) {
    mkdirSync(dirname(join(dir, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
  }
  const bin = join(pkgDir, manifest.bin['voice-live-proxy']);

  const version = await run(process.execPath, [bin, '--version'], { cwd: dir });
  t.equal(version.stdout, `${manifest.version}\n`, '--version');
  const help = await run(process.execPath, [bin, '--help'], { cwd: dir });
  t.match(help.stdout, /^Usage: voice-live-proxy /, '--help');
  const bad = await run(process.execPath, [bin, 'nonsense'], { cwd: dir }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  t.equal((bad as { code: number }).code, 2, 'an unknown command exits 2');
  t.match((bad as { stderr: string }).stderr, /unknown command "nonsense"/);

  const minted = await run(process.execPath, [bin, 'mint-ticket', '--sub', 'pack-user'], {
    cwd: dir,
    env: { ...process.env, TICKET_SECRET: 'pack-test-ticket-secret-0123456789abcdef' },
  });
  t.match(minted.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'mint-ticket prints one JWT');

  // A backend imports the library entry, not the process entry.
  const api = await run(process.execPath, ['-p', 'Object.keys(require("voice-live-proxy")).sort().join(",")'], {
    cwd: dir,
  });
  for (const name of [
    'ConfigError',
    'createLogger',
    'loadConfig',
    'mintTicket',
    'readEnv',
    'startProxy',
    'startRuntime',
  ]) {
    t.ok(api.stdout.trim().split(',').includes(name), `exports ${name}`);
  }

  // ...and its types resolve through `exports` without skipLibCheck.
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(
    join(dir, 'backend.ts'),
    [
      "import { createLogger, loadConfig, startProxy, type ProxyServer } from 'voice-live-proxy';",
      "const cfg = loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9' });",
      "export const server: Promise<ProxyServer> = startProxy(cfg, { logger: createLogger({ level: 'info', pretty: false }) });",
      '',
    ].join('\n'),
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await t.resolves(
    run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        'backend.ts',
      ],
      { cwd: dir },
    ),
    'a TypeScript backend type-checks against the package',
  );

  const port = await freePort();
  const child = spawnProxy(
    {
      ...proxyTestEnv('ws://127.0.0.1:9'),
      PORT: String(port),
      // The page ships in the tarball: DEMO=true must work from an installed package.
      DEMO: 'true',
    },
    { entry: bin, cwd: dir },
  );
  t.teardown(() => {
    if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
  });
  await Promise.race([
    child.line('voice-live-proxy listening'),
    child.exited.then((e) => {
      throw new Error(`exited ${e.code}: ${child.stderr}`);
    }),
  ]);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  t.equal(health.status, 200, '/health answers');
  const page = await fetch(`http://127.0.0.1:${port}/demo/`);
  t.equal(page.status, 200, 'DEMO=true: the demo page is served from the installed package');
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.equal(await page.text(), readFileSync(join(ROOT, 'demo', 'public', 'index.html'), 'utf8'), 'the page itself');
  const root = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { version: string };
  t.equal(
    root.version,
    manifest.version.split('.')[0],
    'it reads its own package.json (GET / shows the major version only)',
  );
  child.proc.kill('SIGTERM');
  t.equal((await child.exited).code, 0, 'SIGTERM: exit 0');
});
