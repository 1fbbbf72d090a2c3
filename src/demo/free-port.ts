// The demo must know its own port before it listens: the page's origin
// (http://localhost:PORT) goes into ALLOWED_ORIGINS, and Config is frozen.
// When asked for "any port", ask the OS for one and release it; the race with
// another process grabbing it in between is acceptable for a demo and a test.
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
