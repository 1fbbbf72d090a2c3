// A real redis-server (Debian package `redis-server`; .ci/run installs it) on
// a free loopback port, with nothing written to disk. stop() and start() keep
// the port, so a test can take Redis away mid-test and bring it back (empty:
// no persistence, like a failed-over cache).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestCert } from './test-cert';
import { freePort } from '../../src/demo/free-port';

export const REDIS_BIN = '/usr/bin/redis-server';

/** Why the Redis tests cannot run here, or false. */
export function redisMissing(): string | false {
  return spawnSync(REDIS_BIN, ['--version']).status === 0
    ? false
    : 'redis-server not installed (apt-get install redis-server; .ci/run does)';
}

export interface RedisOptions {
  password?: string;
  /** Serve TLS only, with a fresh self-signed certificate for 127.0.0.1 (see tlsCaFile). */
  tls?: boolean;
}

export interface RedisServer {
  readonly port: number;
  /** redis:// or rediss:// URL, with the password when one is set. */
  readonly url: string;
  /** The certificate clients must trust (TLS only; pass as NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs with its connections open (a slow or stuck cache). */
  pause(): void;
  resume(): void;
}

export async function startRedis(
  t: { teardown(fn: () => unknown): void },
  opts: RedisOptions = {},
): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vlp-redis-'));
  let caFile = '';
  let keyFile = '';
  if (opts.tls === true) {
    const cert = writeTestCert(dir);
    if (cert === null) throw new Error('openssl failed to make a certificate for rediss://');
    caFile = cert.cert;
    keyFile = cert.key;
  }
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (opts.tls === true) {
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      caFile,
      '--tls-key-file',
      keyFile,
      '--tls-auth-clients',
      'no',
    );
  } else {
    args.push('--port', String(port));
  }
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  let proc: ChildProcess | null = null;

  const server: RedisServer = {
    port,
    url: `${opts.tls === true ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    caFile,
    start() {
      return new Promise((resolve, reject) => {
        const p = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        proc = p;
        let out = '';
        const onData = (d: Buffer): void => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) {
            p.stdout!.off('data', onData);
            p.stdout!.resume();
            resolve();
          }
        };
        p.stdout!.on('data', onData);
        p.stderr!.resume();
        p.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
      });
    },
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    stop() {
      const p = proc;
      proc = null;
      if (p === null || p.exitCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
        p.kill('SIGCONT');
      });
    },
  };
  // SIGKILL in teardown: nothing to save, and no chance to hang.
  t.teardown(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await server.start();
  return server;
}
