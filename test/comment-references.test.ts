// Comments point where a reader of the repository can follow them: to
// docs/contract.md sections that exist, never to issue numbers or to the
// spec's private numbering, which nobody outside the tracker can open.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { filesUnder } from './helpers/doc-pages';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const SOURCES = ['src', 'test', 'bench', 'demo'];
const CODE = /\.(ts|mjs|cjs|js)$/;

const sections = new Set(
  [...readFileSync(join(ROOT, 'docs', 'contract.md'), 'utf8').matchAll(/^## (\d+)\./gm)].map((m) => m[1]),
);

t.test('no comment cites an issue number or the spec by number; every §N exists', async (t) => {
  t.ok(sections.size >= 6, 'docs/contract.md has its numbered sections');
  // Built from parts so this file does not match itself.
  const unreadable = new RegExp(['\\bissue', ' #?\\d+|\\bSPEC', ' (\\d|§|section)'].join(''), 'i');
  const cited = /contract\.md §(\d+)/g;
  let checked = 0;
  const bad: string[] = [];
  for (const dir of SOURCES) {
    for (const f of filesUnder(join(ROOT, dir), CODE)) {
      checked++;
      const lines = readFileSync(f, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const where = `${relative(ROOT, f)}:${i + 1}`;
        if (unreadable.test(line)) bad.push(`${where}: ${line.trim()}`);
        for (const m of line.matchAll(cited)) if (!sections.has(m[1])) bad.push(`${where}: no section §${m[1]}`);
      });
    }
  }
  t.ok(checked > 100, `${checked} files read`);
  t.same(bad, [], 'every reference can be followed');
});
