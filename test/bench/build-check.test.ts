// The bench refuses a dist/ older than src/ (bench/lib/build-check.mjs). The
// module is ES (bench/ is .mjs), so it runs in a child node, on a throwaway
// tree whose file times the test sets.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CHECK = resolve(__dirname, '..', '..', 'bench', 'lib', 'build-check.mjs');

function check(root: string): { stale: string[] | null; error: string } {
  const script =
    `import { staleSources, assertBuildCurrent } from ${JSON.stringify(CHECK)};` +
    `const root = process.argv[1];` +
    `console.log(JSON.stringify(staleSources(root)));` +
    `assertBuildCurrent(root);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, root], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n')[0];
  return { stale: line ? (JSON.parse(line) as string[]) : null, error: r.stderr };
}

function file(root: string, path: string, secondsAgo: number): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, '');
  const at = Date.now() / 1000 - secondsAgo;
  utimesSync(full, at, at);
}

t.test('a dist built after its sources passes; an older or missing one is named', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'vlp-build-check-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  file(root, 'src/index.ts', 100);
  file(root, 'src/relay/outbox.ts', 100);
  file(root, 'src/api-types.d.ts', 1); // declarations compile to nothing
  file(root, 'dist/index.js', 50);
  file(root, 'dist/relay/outbox.js', 50);

  const fresh = check(root);
  t.same(fresh.stale, []);
  t.equal(fresh.error, '', 'assertBuildCurrent does not throw');

  file(root, 'src/relay/outbox.ts', 10); // edited (or checked out) after the build
  file(root, 'src/relay/sweeper.ts', 10); // added, never built
  const stale = check(root);
  t.same(stale.stale, ['src/relay/outbox.ts', 'src/relay/sweeper.ts']);
  t.match(
    stale.error,
    /dist\/ is missing or older than src\/ \(src\/relay\/outbox\.ts, src\/relay\/sweeper\.ts\): run npm run build/,
  );
});

t.test('the message names three sources and counts the rest', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'vlp-build-check-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const name of ['a', 'b', 'c', 'd', 'e']) file(root, `src/${name}.ts`, 1);
  t.match(check(root).error, /\(src\/a\.ts, src\/b\.ts, src\/c\.ts and 2 more\)/);
});
