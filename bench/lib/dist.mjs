// The bench loads the load generator from dist/loadtest (src/loadtest,
// compiled): the code `voice-live-proxy loadtest` runs, so the numbers in
// docs/performance.md and an operator's come from the same generator.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './procs.mjs';
import { assertBuildCurrent } from './build-check.mjs';

const require = createRequire(import.meta.url);

/** dist/loadtest/<name>.js, after checking dist/ was built from the current src/. */
export function loadtestModule(name) {
  assertBuildCurrent(ROOT);
  return require(join(ROOT, 'dist', 'loadtest', `${name}.js`));
}

/**
 * The bench's load settings (chunkMs of audio per append, count sessions) as
 * the generator's options.
 */
export function generatorOptions(cfg, threads = 1) {
  const { pcmBytesFor } = loadtestModule('audio');
  return {
    url: cfg.url,
    headers: cfg.headers,
    sessions: cfg.count,
    threads,
    mode: cfg.mode,
    periodMs: cfg.chunkMs,
    pcmBytes: pcmBytesFor(cfg.chunkMs),
    tickMs: cfg.tickMs,
    rampMs: cfg.rampMs,
    commitEvery: cfg.commitEvery,
    maxInflight: cfg.maxInflight,
    sourceIps: cfg.sourceIps,
    insecure: cfg.insecure,
    ca: cfg.ca ?? null,
  };
}
