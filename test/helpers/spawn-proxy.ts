// Runs the real entry point (dist/index.js, built by `npm test`) as a child
// process, for what only a process can show: exit codes, signals, stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
export { freePort } from '../../src/demo/free-port';

export const ENTRY = join(__dirname, '..', '..', 'dist', 'index.js');

export function entryBuilt(): boolean {
  return existsSync(ENTRY);
}

export interface Child {
  proc: ChildProcess;
  stdout: string[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout JSON line whose msg matches. */
  line(msg: string): Promise<Record<string, unknown>>;
  /** Resolves once `n` stdout JSON lines with this msg have arrived. */
  lines(msg: string, n: number): Promise<void>;
}

export interface SpawnOptions {
  /** The script to run (default: dist/index.js), for instance an installed package's bin. */
  readonly entry?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /**
   * Node options before the script, e.g. a test-only `--require` preload.
   * Default: the young-generation flag every shipped entry point passes, so a
   * single relay thread runs as in the image rather than relaunching itself.
   */
  readonly nodeArgs?: readonly string[];
  /** A command to run node under, e.g. `unshare --pid --fork` to make it PID 1. */
  readonly prefix?: readonly string[];
}

/** What the Dockerfile's CMD, npm start and PM2 give node. */
const SHIPPED_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2'];

export function spawnProxy(env: Record<string, string>, opts: SpawnOptions = {}): Child {
  const argv = [
    ...(opts.prefix ?? []),
    process.execPath,
    ...(opts.nodeArgs ?? SHIPPED_NODE_ARGS),
    opts.entry ?? ENTRY,
    ...(opts.args ?? []),
  ];
  const proc = spawn(argv[0], argv.slice(1), {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: opts.cwd ?? '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const watchers: Array<{ msg: string; resolve: (v: Record<string, unknown>) => void }> = [];
  const seen = new Map<string, number>();
  const counters: Array<{ msg: string; n: number; resolve: () => void }> = [];
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      stdout.push(l);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(l) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (let i = watchers.length - 1; i >= 0; i--) {
        if (parsed.msg === watchers[i].msg) {
          watchers[i].resolve(parsed);
          watchers.splice(i, 1);
        }
      }
      const msg = String(parsed.msg);
      const count = (seen.get(msg) ?? 0) + 1;
      seen.set(msg, count);
      for (let i = counters.length - 1; i >= 0; i--) {
        if (counters[i].msg === msg && count >= counters[i].n) {
          counters[i].resolve();
          counters.splice(i, 1);
        }
      }
    }
  });
  const child: Child = {
    proc,
    stdout,
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
    line(msg) {
      for (const l of stdout) {
        try {
          const p = JSON.parse(l) as Record<string, unknown>;
          if (p.msg === msg) return Promise.resolve(p);
        } catch {
          /* not JSON */
        }
      }
      return new Promise((resolve) => watchers.push({ msg, resolve }));
    },
    lines(msg, n) {
      if ((seen.get(msg) ?? 0) >= n) return Promise.resolve();
      return new Promise((resolve) => counters.push({ msg, n, resolve }));
    },
  };
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    child.stderr += d;
  });
  return child;
}

/** What every spawned test proxy is given: loopback, a test key, the test page's origin. */
export function proxyTestEnv(upstreamOrigin: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    AZURE_VOICE_LIVE_ENDPOINT: upstreamOrigin,
    AZURE_SPEECH_KEY: 'k',
    ALLOWED_ORIGINS: 'http://localhost:3000',
    LOG_LEVEL: 'info',
  };
}

/** What a test's teardown needs: the process is killed when the test ends, whatever happened. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ProxyProcess {
  child: Child;
  port: number;
  /** ws://127.0.0.1:<port>/ws */
  url: string;
}

/**
 * The real entry point in front of `upstreamOrigin` on 127.0.0.1, listening,
 * killed at teardown. PORT=0 unless `env` says otherwise: the kernel picks a
 * port no one holds, and the listening line says which.
 */
export async function startProxyProcess(
  t: Teardown,
  upstreamOrigin: string,
  env: Record<string, string> = {},
  opts: SpawnOptions = {},
): Promise<ProxyProcess> {
  const child = spawnProxy({ PORT: '0', ...proxyTestEnv(upstreamOrigin), ...env }, opts);
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  const port = Number((await child.line('voice-live-proxy listening')).port);
  return { child, port, url: `ws://127.0.0.1:${port}/ws` };
}
