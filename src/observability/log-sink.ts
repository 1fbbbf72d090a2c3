// Where log lines go. One writer per process, on the main thread, so lines
// from every worker thread come out whole and in the order they were logged,
// and so the process can always exit.
//
// Why not pino's default destination (SonicBoom on fd 1): its writes are
// asynchronous, its flush-on-exit runs only on the main thread (a worker that
// exits right after stopping loses its last lines), and that flush is a
// synchronous retry loop: with a stdout nobody reads (`| head`, a dead log
// collector) it never returns, so the process hangs on exit and ignores every
// later signal. process.stdout never blocks on a pipe (libuv writes it
// non-blocking and queues the rest), so here a full pipe only means a backlog:
// bounded, dropped past the bound, and waited for at exit only up to a deadline.
import { parentPort } from 'node:worker_threads';
import type { DestinationStream } from 'pino';

/** Backlog kept for a slow reader before lines are dropped (lifecycle lines are ~300 bytes). */
export const LOG_BACKLOG_MAX_BYTES = 8 * 1024 * 1024;
/** How long an exiting process waits for its log backlog to be read. */
export const LOG_FLUSH_TIMEOUT_MS = 1000;

export interface LogSinkOptions {
  readonly maxBacklogBytes?: number;
}

export class LogSink implements DestinationStream {
  /** Lines not written because the reader was gone or too far behind. */
  dropped = 0;
  private broken = false;
  private readonly maxBacklog: number;

  constructor(
    private readonly out: NodeJS.WritableStream & { writableLength: number } = process.stdout,
    opts: LogSinkOptions = {},
  ) {
    this.maxBacklog = opts.maxBacklogBytes ?? LOG_BACKLOG_MAX_BYTES;
    // EPIPE once the reader has gone: stop writing; without a listener it would be thrown.
    out.on('error', () => {
      this.broken = true;
    });
  }

  write(line: string): void {
    if (this.broken || this.out.writableLength > this.maxBacklog) {
      this.dropped++;
      return;
    }
    this.out.write(line);
  }

  /** Resolves when the backlog has been read, the reader is gone, or after `timeoutMs`. */
  flush(timeoutMs = LOG_FLUSH_TIMEOUT_MS): Promise<void> {
    if (this.broken || this.out.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.out.removeListener('drain', done);
        this.out.removeListener('error', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.out.once('drain', done);
      this.out.once('error', done);
    });
  }
}

let stdout: LogSink | null = null;

/** The process's one sink on stdout (created on first use). */
export function stdoutSink(): LogSink {
  stdout ??= new LogSink(process.stdout);
  return stdout;
}

/** Message a worker thread sends its log lines in (see cluster/shared-state). */
export interface LogLineMessage {
  readonly type: 'log';
  readonly line: string;
}

/**
 * A worker thread's destination: each line goes to the main thread's sink.
 * postMessage queues the line on the receiving side at once, and the main
 * thread drains a worker's messages before its `exit` event, so a worker may
 * exit right after logging without losing a line.
 */
export function toMainThread(port = parentPort): DestinationStream {
  if (port === null) throw new Error('toMainThread: not in a worker thread');
  return {
    write(line: string): void {
      port.postMessage({ type: 'log', line } satisfies LogLineMessage);
    },
  };
}
