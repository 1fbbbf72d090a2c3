// Comments and manifests that point into docs/ (`see docs/decisions/0002-outbox-corking.md`)
// point at a page that exists, so a reader can follow them.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, filesUnder } from '../helpers/doc-pages';

const SOURCES = ['src', 'test', 'bench', 'demo', 'deploy'];
const FILES = /\.(ts|mjs|cjs|js|ya?ml|conf)$/;

t.test('every docs/ page a source file names exists', async (t) => {
  const missing: string[] = [];
  let n = 0;
  for (const dir of SOURCES) {
    for (const f of filesUnder(join(ROOT, dir), FILES)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bdocs\/[\w./-]+\.md\b/g)) {
        n++;
        if (!existsSync(join(ROOT, m[0]))) missing.push(`${relative(ROOT, f)}: ${m[0]}`);
      }
    }
  }
  t.ok(n > 20, `${n} references read`);
  t.same(missing, [], 'each one can be followed');
});
