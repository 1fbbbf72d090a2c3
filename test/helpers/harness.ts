// Starts the Voice Live simulator and the proxy pointed at it, on 127.0.0.1
// ephemeral ports, with logs captured through a pino destination stream.
import type { Test } from 'tap';
import { Writable } from 'node:stream';
import { loadConfig, type Config, type Env } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { startProxy, type InspectableProxy } from '../../src/server';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator';
import { TestClient, type ClientOptions } from './client';

export const TEST_KEY = 'sk-test-api-key-0123456789abcdef';

export interface Harness {
  proxy: InspectableProxy;
  sim: Simulator;
  cfg: Config;
  logs: string[];
  url(query?: string): string;
  client(query?: string, opts?: ClientOptions): TestClient;
  /** A client on another socket path (`/voice-live/realtime`, `/voice-live/realtime/calls`). */
  clientAt(path: string, query?: string, opts?: ClientOptions): TestClient;
  /** Resolves when a captured log line contains `text`. */
  logLine(text: string): Promise<Record<string, unknown>>;
  http(path: string, init?: RequestInit): Promise<Response>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startHarness(t: Teardown, env: Env = {}, simOpts: SimulatorOptions = {}): Promise<Harness> {
  const sim = await startSimulator(simOpts);
  const cfg = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
    AZURE_SPEECH_KEY: TEST_KEY,
    ALLOWED_ORIGINS: 'http://localhost:3000',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const watchers: Array<{ text: string; resolve: (v: Record<string, unknown>) => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        logs.push(line);
        for (let i = watchers.length - 1; i >= 0; i--) {
          if (line.includes(watchers[i].text)) {
            watchers[i].resolve(JSON.parse(line) as Record<string, unknown>);
            watchers.splice(i, 1);
          }
        }
      }
      cb();
    },
  });
  const logger = createLogger({ level: cfg.logLevel, pretty: false, destination });
  const proxy = await startProxy(cfg, { logger });
  const clients: TestClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.ws.terminate();
    await proxy.shutdown(0);
    await sim.close();
  });
  const base = `ws://127.0.0.1:${proxy.port}/ws`;
  return {
    proxy,
    sim,
    cfg,
    logs,
    url: (query = '') => (query === '' ? base : `${base}?${query}`),
    client(query = '', opts = {}) {
      const c = new TestClient(query === '' ? base : `${base}?${query}`, opts);
      clients.push(c);
      return c;
    },
    clientAt(path, query = '', opts = {}) {
      const url = `ws://127.0.0.1:${proxy.port}${path}`;
      const c = new TestClient(query === '' ? url : `${url}?${query}`, opts);
      clients.push(c);
      return c;
    },
    logLine(text: string) {
      const hit = logs.find((l) => l.includes(text));
      if (hit !== undefined) return Promise.resolve(JSON.parse(hit) as Record<string, unknown>);
      return new Promise((resolve) => watchers.push({ text, resolve }));
    },
    http: (path, init) => fetch(`http://127.0.0.1:${proxy.port}${path}`, init),
  };
}

/**
 * A client secret stayed here: the first upgrade the simulator saw carried the
 * proxy's own key and no authorization, and the secret is in no upstream
 * request, log line or /metrics series.
 */
export function checkSecretKept(t: Test, h: Harness, secret: string): void {
  const up = h.sim.upgrades[0];
  t.equal(up.path, '/voice-live/realtime');
  t.equal(up.headers['api-key'], TEST_KEY, "the proxy's own credential");
  t.equal(up.headers.authorization, undefined);
  t.notMatch(JSON.stringify(up), secret, 'the client secret never reaches the upstream');
  t.notMatch(h.logs.join('\n'), secret);
  t.notMatch(h.proxy.metrics.render({ activeConnections: 0, maxConnections: 1, draining: false }), secret);
}
