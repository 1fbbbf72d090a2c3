// Binding a port for a moment, with a plain listen (no SO_REUSEPORT), then
// releasing it. Port 0 asks the kernel for a free one (the demo must know its
// port before it listens: the page's origin goes into ALLOWED_ORIGINS); a
// fixed port is checked to be free before worker threads join it with
// SO_REUSEPORT, which would otherwise let them join another process's socket
// and split the sessions with it.
import { createServer } from 'node:net';

/** The port that was bound and released; rejects naming the address when it is taken. */
export function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => {
      const addr = probe.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
      probe.close(() => resolve(bound));
    });
  });
}
