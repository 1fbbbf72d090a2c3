// SIGTERM/SIGINT for every entry point (index.ts, cluster/primary.ts,
// demo.ts, simulator/cli.ts): the first signal drains, a second exits at
// once, and the log backlog gets a bounded moment to be written before the
// exit. As PID 1 in a container the kernel drops signals nobody handles and
// a process cannot SIGKILL itself, so both paths end in process.exit.

/** What is flushed before the exit (a LogSink); its flush must be bounded. */
export interface Flushable {
  flush(): Promise<void>;
}

export interface ShutdownPlan {
  /** The first signal: drain, then resolve to the exit code (a rejection exits 1). */
  drain(signal: NodeJS.Signals): Promise<number>;
  /** A second signal: stop now. Default: exit 1. */
  now?(signal: NodeJS.Signals): void;
  /** Flushed (bounded) before the drained exit. */
  sink?: Flushable;
}

export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Installs the handlers; returns a function that removes them (for tests). */
export function shutdownOnSignals(plan: ShutdownPlan): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      if (plan.now !== undefined) plan.now(signal);
      else process.exit(1);
      return;
    }
    plan.drain(signal).then(
      (code) => exitAfterFlush(code, plan.sink),
      () => exitAfterFlush(1, plan.sink),
    );
  };
  for (const s of SHUTDOWN_SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of SHUTDOWN_SIGNALS) process.off(s, onSignal);
  };
}

/** Exit with `code` once `sink` is flushed or its flush gave up (never waits forever). */
export function exitAfterFlush(code: number, sink?: Flushable): void {
  const exit = (): never => process.exit(code);
  if (sink === undefined) exit();
  else sink.flush().then(exit, exit);
}
