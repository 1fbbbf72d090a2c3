// The relay's V8 young generation: two 2 MiB semi-spaces instead of V8's 16.
//
// Every relayed frame leaves a few hundred bytes of short-lived objects (the
// uWS message's ArrayBuffer, the socket write's request, buffer views). Left
// to itself, V8 grows a busy relay's semi-spaces to their 16 MiB maximum: the
// process holds 32 MiB more, freshly allocated objects no longer fit in the
// CPU's caches, and the buffers those dead objects own (external memory)
// pile up between scavenges until they force full collections. 2 MiB keeps
// the memory per session and the full collections down at no more CPU per
// frame; 1 MiB spends more time in scavenges. The measurements:
// docs/decisions/0004-young-generation.md.
//
// V8 reads the size when a thread's heap is created, so it cannot be set
// from here for the thread already running: worker threads (WORKERS > 1, the
// default on a multi-core host) get it through `resourceLimits`, and the
// entry points we ship start node with `--max-semi-space-size=2` for the
// single-thread case (Dockerfile, `npm start`, ecosystem.config.cjs). An
// operator's own `--max-semi-space-size` (on the command line or in
// NODE_OPTIONS) is a process-wide V8 flag that workers inherit: it wins.
// A single thread started any other way (the npm `voice-live-proxy` command,
// a plain `node dist/index.js`) runs with V8's default, and says so once.
import type { ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';

/** Each of the young generation's two semi-spaces, in MiB. */
export const RELAY_SEMI_SPACE_MB = 2;

/** V8 accepts dashes or underscores, `=value` or the value as the next argument. */
const SEMI_SPACE_FLAG = /(?:^|\s)--max[-_]semi[-_]space[-_]size(?:[=\s]|$)/;

/** True when node was started with its own semi-space size. */
export function semiSpaceFlagGiven(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  return SEMI_SPACE_FLAG.test(execArgv.join(' ')) || SEMI_SPACE_FLAG.test(nodeOptions);
}

/**
 * A relay worker's resource limits: the young generation sized here, or
 * nothing when the operator chose a size (V8 makes a thread's young
 * generation three semi-spaces: two plus as much again for large objects).
 */
export function relayWorkerLimits(flagGiven: boolean = semiSpaceFlagGiven()): ResourceLimits | undefined {
  return flagGiven ? undefined : { maxYoungGenerationSizeMb: 3 * RELAY_SEMI_SPACE_MB };
}

/**
 * WORKERS=1 started without the flag (our entry points pass it): one warning
 * at start-up naming the fix, since nothing else would show the 32 MiB a busy
 * relay then grows into. Returns whether it warned.
 */
export function warnDefaultYoungGeneration(logger: Logger, flagGiven: boolean = semiSpaceFlagGiven()): boolean {
  if (flagGiven) return false;
  logger.warn(
    { flag: `--max-semi-space-size=${RELAY_SEMI_SPACE_MB}` },
    'node started without --max-semi-space-size: a busy relay thread grows its young generation to 32 MiB; pass the flag (or set NODE_OPTIONS to it)',
  );
  return true;
}
