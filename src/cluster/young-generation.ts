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
// single-thread case (Dockerfile, `npm start`, ecosystem.config.cjs). A single
// thread started without it (the `voice-live-proxy` command, whose shebang
// cannot pass node a flag, or a plain `node dist/index.js`) starts itself
// once more as a child node given the flag, which then does the work
// (relaunchWithYoungGeneration). An operator's own `--max-semi-space-size`
// (on the command line or in NODE_OPTIONS) is a process-wide V8 flag that
// workers inherit: it wins.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import type { Logger } from 'pino';
import { reportStartFailure } from '../start-failure';

/** Each of the young generation's two semi-spaces, in MiB. */
export const RELAY_SEMI_SPACE_MB = 2;

/** Set in the child's environment: a child never starts another one. */
export const RELAUNCHED_MARKER = 'VOICE_LIVE_PROXY_RELAUNCHED';

/** Forwarded to the child: what drains it (SIGTERM, SIGINT), and a closed terminal's SIGHUP. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

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
 * A single relay thread started without the flag: run this same command again
 * in a child node given `--max-semi-space-size=2`, and become its shadow:
 * stdio shared, signals passed on, its exit code (or signal) ours. Returns
 * false, doing nothing, when the flag is there or this is already the child.
 *
 * The child runs in its own process group so that a terminal's Ctrl+C, sent
 * to the whole foreground group, reaches it once (through us) and not twice,
 * which would read as a second signal and skip the drain.
 */
export function relaunchWithYoungGeneration(
  env: NodeJS.ProcessEnv = process.env,
  flagGiven: boolean = semiSpaceFlagGiven(),
): boolean {
  if (flagGiven || env[RELAUNCHED_MARKER] !== undefined) return false;
  const child = spawn(
    process.execPath,
    [`--max-semi-space-size=${RELAY_SEMI_SPACE_MB}`, ...process.execArgv, ...process.argv.slice(1)],
    // Not on Windows, where `detached` opens a console window and there are no process groups.
    // The IPC channel is how the child learns that this process is gone (followParent).
    {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...env, [RELAUNCHED_MARKER]: '1' },
      detached: process.platform !== 'win32',
    },
  );
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  child.on('error', (err) => {
    reportStartFailure(`cannot start node again: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal !== null) {
      // Ended by a signal it did not handle: end the same way, for whoever waits on us.
      // As PID 1 the kernel ignores that: then the shell's convention, 128 + its number.
      process.kill(process.pid, signal);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    process.exit(code ?? 1);
  });
  return true;
}

/**
 * In the relaunched child: drain as on SIGTERM when the process that started
 * it is gone. In its own process group, nothing else would end it after a
 * SIGKILL of its parent, and it would go on holding the port.
 */
export function followParent(env: NodeJS.ProcessEnv = process.env): void {
  const channel = process.channel;
  if (env[RELAUNCHED_MARKER] === undefined || channel === undefined) return;
  // The channel must not keep the relay alive by itself.
  channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * A single relay thread running without the flag (the child could not be
 * started with it: only when RELAUNCHED_MARKER was already set): one warning
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
