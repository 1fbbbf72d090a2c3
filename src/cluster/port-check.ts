// Before the worker threads join one port with SO_REUSEPORT, check that no
// other process holds it. A plain listen (no SO_REUSEPORT) fails with
// EADDRINUSE against any holder, including a uWS socket that would otherwise
// have let our workers join it and split the sessions with a stale process.
import { createServer } from 'node:net';

/** Resolves when `host:port` is free (then released at once); rejects with the reason otherwise. */
export function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
