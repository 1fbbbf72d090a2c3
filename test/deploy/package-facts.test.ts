// What package.json promises an operator: the Node versions it runs on and
// the licence it is under, each checked against the thing it describes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string; engines: { node: string };
};

t.test('engines.node admits no Node without util.parseEnv (20.12)', async (t) => {
  const m = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node);
  t.ok(m, 'a >= range with major and minor');
  if (m === null) return;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  t.ok(major > 20 || (major === 20 && minor >= 12), `${pkg.engines.node}: config.ts needs util.parseEnv`);
  t.match(readFileSync(join(ROOT, 'src', 'config.ts'), 'utf8'), /parseEnv/, 'the reason is still there');
  t.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /Node\.js 20\.12\+/, 'README says the same');
});

t.test('LICENSE exists and matches package.json', async (t) => {
  t.equal(pkg.license, 'MIT');
  const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  t.match(text, /^MIT License\n/);
  t.match(text, /Permission is hereby granted, free of charge/);
});

t.test('every single-file tap command in the README skips the whole-suite coverage gate', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const cmds = readme.match(/npx tap [^`\n#]*\.test\.ts/g) ?? [];
  t.ok(cmds.length > 0, 'the README shows how to run one file');
  for (const c of cmds) t.match(c, /--disable-coverage/, c);
});
