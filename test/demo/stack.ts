// The demo's servers, in-process: the simulator and the proxy with DEMO=true
// on a port known before it listens (the page's origin goes into
// ALLOWED_ORIGINS). Logs are captured, not printed.
import { Writable } from 'node:stream';
import { loadConfig, type Env } from '../../src/config';
import { demoEnv } from '../../src/demo/demo-env';
import { onFreePort } from '../../src/demo/free-port';
import { createLogger } from '../../src/observability/logger';
import { startProxy, type InspectableProxy } from '../../src/server';
import { startSimulator, type Simulator } from '../../src/simulator/simulator';

export interface DemoStack {
  sim: Simulator;
  proxy: InspectableProxy;
  logs: string[];
  /** http://127.0.0.1:PORT/demo/ (or pageHost) */
  pageUrl: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Default: a free port. */
  port?: number;
  /** Host name in pageUrl. Default 127.0.0.1. */
  pageHost?: string;
}

/** `env` is applied over the demo's own environment (e.g. ALLOWED_ORIGINS to refuse the page). */
export async function startDemoStack(env: Env = {}, opts: StackOptions = {}): Promise<DemoStack> {
  const sim = await startSimulator();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(line);
      cb();
    },
  });
  const start = async (port: number): Promise<InspectableProxy> => {
    const cfg = loadConfig({ ...demoEnv({ HOST: '127.0.0.1', LOG_LEVEL: 'debug' }, port, sim.origin), ...env });
    return startProxy(cfg, { logger: createLogger({ level: cfg.logLevel, pretty: false, destination }) });
  };
  // A free port can be taken by a parallel test before the proxy listens: onFreePort tries another.
  const proxy = opts.port !== undefined ? await start(opts.port) : await onFreePort(start);
  return {
    sim,
    proxy,
    logs,
    pageUrl: `http://${opts.pageHost ?? '127.0.0.1'}:${proxy.port}/demo/`,
    async close() {
      await proxy.shutdown(0);
      await sim.close();
    },
  };
}
