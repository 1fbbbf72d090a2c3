// A start that fails reads the same however the proxy runs (one thread or
// WORKERS > 1): one plain line on stderr, what a person reads in a terminal
// or `docker logs`, and the same as a structured `fatal` log line for a log
// pipeline; the caller then exits 1.
import type { Logger } from 'pino';

export function reportStartFailure(message: string, logger?: Logger): void {
  logger?.fatal({ err: message }, 'failed to start');
  process.stderr.write(`voice-live-proxy: failed to start: ${message}\n`);
}
