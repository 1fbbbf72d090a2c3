// The documentation as the doc tests read it: README.md and every page under
// docs/, with fenced code and inline code told apart from prose, and the
// heading anchors GitHub gives each page.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Page {
  /** Repository-relative path, e.g. `docs/deploy/docker.md`. */
  readonly path: string;
  readonly text: string;
  /** The text with fenced code blocks and inline code blanked out. */
  readonly prose: string;
}

/** Files under `dir` whose name matches `name`, skipping node_modules and bench/results. */
export function* filesUnder(dir: string, name: RegExp): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'results') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p, name);
    else if (name.test(e.name)) yield p;
  }
}

function markdownFiles(dir: string): Generator<string> {
  return filesUnder(dir, /\.md$/);
}

/** Fenced blocks blanked line by line, so line numbers stay. */
export function withoutFences(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

export function readPage(path: string): Page {
  const text = readFileSync(join(ROOT, path), 'utf8');
  return { path, text, prose: withoutFences(text).replace(/`[^`\n]*`/g, '``') };
}

export function pages(): Page[] {
  const files = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];
  return files.map((f) => readPage(relative(ROOT, f)));
}

/** The anchor GitHub gives a heading: lowercase, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  return heading
    .trim()
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a page, duplicates numbered as GitHub numbers them (`x`, `x-1`, ...). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Inline code spans of a page outside fenced blocks. */
export function codeSpans(text: string): string[] {
  return [...withoutFences(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
}

/**
 * Environment variable names the proxy (and its simulator and demo) reads: every
 * UPPER_SNAKE name in its configuration source, that is every `config.ts` under
 * src/ and everything under src/config/.
 */
export function configNames(): Set<string> {
  const src = join(ROOT, 'src');
  const files = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && (f.startsWith(`config${sep}`) || basename(f) === 'config.ts'))
    .map((f) => join(src, f));
  const names = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)) names.add(m[0]);
  }
  return names;
}
