// Comments and manifests that point into docs/ (`see docs/decisions/0002-outbox-corking.md`)
// point at a page that exists, so a reader can follow them.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/doc-pages';

const SOURCES = ['src', 'test', 'bench', 'demo', 'deploy'];
/** Written with the configuration schema; a reference to it is checked once it exists. */
const WRITTEN_ELSEWHERE = 'docs/configuration.md';
const FILES = /\.(ts|mjs|cjs|js|ya?ml|conf)$/;

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'results') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (FILES.test(e.name)) yield p;
  }
}

t.test('every docs/ page a source file names exists', async (t) => {
  const missing: string[] = [];
  let n = 0;
  for (const dir of SOURCES) {
    for (const f of files(join(ROOT, dir))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bdocs\/[\w./-]+\.md\b/g)) {
        n++;
        if (existsSync(join(ROOT, m[0]))) continue;
        if (m[0] === WRITTEN_ELSEWHERE) t.ok(false, `${relative(ROOT, f)}: ${m[0]}`, { todo: 'not written yet' });
        else missing.push(`${relative(ROOT, f)}: ${m[0]}`);
      }
    }
  }
  t.ok(n > 20, `${n} references read`);
  t.same(missing, [], 'each one can be followed');
});
