// Every relative link in README.md and docs/ leads somewhere: the file exists,
// and the heading anchor, when one is given, is a heading of that file.
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT, anchors, pages } from '../helpers/doc-pages';

interface Link {
  readonly from: string;
  readonly target: string;
}

function links(): Link[] {
  const out: Link[] = [];
  for (const p of pages()) {
    for (const m of p.prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(m[1])) continue; // https:, mailto:
      out.push({ from: p.path, target: m[1] });
    }
  }
  return out;
}

t.test('every relative link resolves to a file, and its anchor to a heading', async (t) => {
  const all = links();
  t.ok(all.length > 100, `${all.length} links read`);
  for (const { from, target } of all) {
    const [file, anchor] = target.split('#');
    const path = file === '' ? from : relative(ROOT, normalize(join(ROOT, dirname(from), file)));
    if (!existsSync(join(ROOT, path))) {
      t.fail(`${from}: ${target}: no file ${path}`);
      continue;
    }
    if (anchor === undefined) {
      t.pass(`${from}: ${target}`);
      continue;
    }
    t.ok(statSync(join(ROOT, path)).isFile(), `${from}: ${target}: an anchor needs a file`);
    t.ok(
      anchors(readFileSync(join(ROOT, path), 'utf8')).has(anchor),
      `${from}: ${target}: ${path} has a heading #${anchor}`,
    );
  }
});
