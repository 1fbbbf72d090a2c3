// The bench runs the proxy and the simulator from dist/. A dist/ left from an
// earlier checkout runs the code of that checkout: a run measured that way
// once looked like 1.6x the CPU per frame and 43 full GCs in 20 s where the
// sources had neither. Refuse to start instead.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function* typeScriptSources(dir) {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typeScriptSources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * The sources under `root`/src whose compiled file in `root`/dist is missing
 * or older than they are, as paths relative to `root`.
 */
export function staleSources(root) {
  const src = join(root, 'src');
  const stale = [];
  for (const file of typeScriptSources(src)) {
    const out = join(root, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
    if (mtimeMs(out) < mtimeMs(file)) stale.push(relative(root, file));
  }
  return stale;
}

/** Throws, naming a few stale or unbuilt sources, unless dist/ was built from the current src/. */
export function assertBuildCurrent(root) {
  const stale = staleSources(root);
  if (stale.length === 0) return;
  const named = stale.slice(0, 3).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
  throw new Error(`dist/ is missing or older than src/ (${named}): run npm run build`);
}
