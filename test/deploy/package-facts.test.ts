// What package.json promises an operator: the Node versions it runs on and
// the licence it is under, each checked against the thing it describes.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UWS_ABI_MAJOR } from '../../src/native-runtime';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  engines: { node: string };
};

/**
 * Node versions that load an ES module with require() unflagged: 20.19+,
 * 22.12+, 23 and later (not 21, not 22.0 to 22.11). All of them have
 * util.parseEnv (20.12+), which src/config/env-file.ts needs too.
 */
function hasRequireEsm(major: number, minor: number): boolean {
  if (major === 20) return minor >= 19;
  if (major === 22) return minor >= 12;
  return major >= 23;
}

t.test('engines.node admits only Node versions with require(esm) (jose 6) and util.parseEnv', async (t) => {
  const parts = pkg.engines.node.split('||').map((p) => p.trim());
  for (const part of parts) {
    const m = /^(\^|>=)(\d+)\.(\d+)\.\d+$/.exec(part);
    t.ok(m, `${part}: ^ or >= with a full version`);
    if (m === null) continue;
    const [major, minor] = [Number(m[2]), Number(m[3])];
    t.ok(hasRequireEsm(major, minor), `${part}: its lowest version has require(esm)`);
    // ^ stays within its major; >= runs on through every later one, so it must start past 22.11.
    if (m[1] === '>=') t.ok(major >= 22, `${part}: no later major lacks require(esm)`);
  }
  const jose = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'jose', 'package.json'), 'utf8')) as {
    type?: string;
  };
  t.equal(jose.type, 'module', 'the reason: jose is an ES module, loaded from CommonJS');
  t.match(
    readFileSync(join(ROOT, 'src', 'config', 'env-file.ts'), 'utf8'),
    /parseEnv/,
    'and the .env reader uses util.parseEnv',
  );
  t.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /Node\.js 20\.19\+ or 22\.12\+/, 'README says the same');
  t.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^FROM node:22-/m, 'the image runs Node 22 (22.12 or later)');
});

/** The newest glibc symbol version a binary asks for, read from its bytes (as `objdump -T` lists them). */
function glibcNeeded(file: string): number {
  const found =
    readFileSync(file)
      .toString('latin1')
      .match(/GLIBC_2\.\d+/g) ?? [];
  return Math.max(...found.map((v) => Number(v.slice('GLIBC_2.'.length))));
}

t.test('engines.node, the image and the native module agree on the Node versions that load it', async (t) => {
  const dir = join(ROOT, 'node_modules', 'uWebSockets.js');
  const majors = pkg.engines.node.split('||').map((p) => Number(/(\d+)\./.exec(p)?.[1]));
  // The image: node:22 on Debian 12 (bookworm), glibc 2.36.
  t.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^FROM node:22-bookworm-slim AS runtime$/m);
  const DEBIAN_12_GLIBC = 36;
  for (const [abi, major] of Object.entries(UWS_ABI_MAJOR)) {
    for (const arch of ['x64', 'arm64']) {
      const needs = glibcNeeded(join(dir, `uws_linux_${arch}_${abi}.node`));
      if (majors.includes(major)) {
        t.ok(
          needs <= DEBIAN_12_GLIBC,
          `Node ${major} (admitted) on linux-${arch}: needs glibc 2.${needs}, loads on Debian 12`,
        );
        t.equal(needs, 27, "the v20.51.0 tree's glibc 2.27");
      } else if (major > 22) {
        t.ok(needs > DEBIAN_12_GLIBC, `Node ${major} (not admitted) on linux-${arch}: needs glibc 2.${needs}`);
      }
    }
  }
  t.ok(majors.includes(22), "the image's Node is admitted");
});

t.test('LICENSE exists and matches package.json', async (t) => {
  t.equal(pkg.license, 'MIT');
  const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  t.match(text, /^MIT License\n/);
  t.match(text, /Permission is hereby granted, free of charge/);
});

/** README.md and every page under docs/. */
function docPages(): string[] {
  const pages = [join(ROOT, 'README.md')];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) pages.push(join(dir, e.name));
    }
  };
  walk(join(ROOT, 'docs'));
  return pages;
}

t.test('every single-file tap command in the docs skips the whole-suite coverage gate', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  t.match(readme, /npx tap --disable-coverage [^`\n#]*\.test\.ts/, 'the README shows how to run one file');
  for (const page of docPages()) {
    const cmds = readFileSync(page, 'utf8').match(/npx tap [^`\n#]*\.test\.ts/g) ?? [];
    for (const c of cmds) t.match(c, /--disable-coverage/, c);
  }
});
