// "Any port" for the demo and the tests: one the kernel hands out, released at
// once and taken again by the proxy. Another process can take it in between;
// the proxy never shares a port, so it then fails to start and onFreePort()
// tries another.
import { probePort } from '../port-probe';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return probePort(host, 0);
}

/** `start` on a port found free, again on a fresh one if it fails, `attempts` times in all. */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
  }
}
