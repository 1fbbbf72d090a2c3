// Child processes under test (simulator, proxy, nginx) and what /proc says
// about them. Everything listens on loopback only.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { assertBuildCurrent } from './build-check.mjs';
import http from 'node:http';
import https from 'node:https';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLK_TCK = Number(safeExec('getconf', ['CLK_TCK']) || 100);

function safeExec(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The pid and its descendants (nginx master + worker). */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (kids !== '') for (const k of kids.split(/\s+/)) out.push(Number(k));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** utime + stime of the process tree (all threads), in microseconds. */
export function cpuMicros(pid) {
  const { user, sys } = cpuSplitMicros(pid);
  return user + sys;
}

/** utime and stime of the process tree (all threads), apart, in microseconds. */
export function cpuSplitMicros(pid) {
  let user = 0;
  let sys = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      user += Number(f[11]); // fields 14 and 15 of stat(5)
      sys += Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return { user: user * (1e6 / CLK_TCK), sys: sys * (1e6 / CLK_TCK) };
}

/** Resident set of the process tree, in KiB (VmRSS). */
export function rssKiB(pid) {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb;
}

export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Whole-machine busy fraction between two samples of /proc/stat. */
export function hostCpuSample() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  // irq + softirq: on loopback the TCP receive path runs here, and it is not
  // charged to any process's utime/stime.
  return { idle, total, irq: f[5] + f[6] };
}
/** Share of all CPUs spent in irq/softirq between two samples. */
export function hostIrq(a, b) {
  const total = b.total - a.total;
  return total <= 0 ? NaN : (b.irq - a.irq) / total;
}
export function hostBusy(a, b) {
  const total = b.total - a.total;
  return total <= 0 ? NaN : 1 - (b.idle - a.idle) / total;
}

export function machine() {
  const model = (/model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8')) ?? [])[1] ?? 'unknown';
  return {
    nproc: Number(safeExec('nproc', [])) || cpus().length,
    cpuModel: model.trim(),
    memTotalMiB: Math.round(
      Number((/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8')) ?? [0, 0])[1]) / 1024,
    ),
    kernel: safeExec('uname', ['-r']),
    node: process.version,
    nofile: safeExec('sh', ['-c', 'ulimit -n']),
    // What was measured: the checkout, and whether it had uncommitted changes.
    commit: safeExec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    dirty: safeExec('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) !== '',
  };
}

function httpStatus(url, ca = null) {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, ca === null ? {} : { ca }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

function connectable(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

class Child {
  constructor(name, proc) {
    this.name = name;
    this.proc = proc;
    this.pid = proc.pid;
    this.stderr = '';
    this.exited = false;
    this.exitCode = null;
    proc.stderr?.on('data', (d) => {
      if (this.stderr.length < 20000) this.stderr += d;
    });
    proc.once('exit', (code, sig) => {
      this.exited = true;
      this.exitCode = code ?? sig;
    });
  }

  stop(signal = 'SIGTERM', timeoutMs = 8000) {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        try {
          this.proc.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }, timeoutMs);
      this.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      try {
        this.proc.kill(signal);
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }
}

/** The simulator; with `tls` ({ cert, key } PEM paths) it serves wss:// as Azure does. */
export async function startSimulator({ tls = null } = {}) {
  assertBuildCurrent(ROOT);
  const tlsEnv = tls === null ? {} : { SIMULATOR_TLS_CERT: tls.cert, SIMULATOR_TLS_KEY: tls.key };
  const proc = spawn(process.execPath, [join(ROOT, 'dist', 'simulator', 'cli.js')], {
    env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_HOST: '127.0.0.1', ...tlsEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = new Child('simulator', proc);
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve(buf.slice(0, nl));
    });
    proc.once('exit', () => reject(new Error(`simulator exited: ${child.stderr}`)));
  });
  const info = JSON.parse(line);
  child.origin = info.origin;
  child.port = Number(new URL(info.origin).port);
  return child;
}

/**
 * The node flags the proxy ships with (`npm start`, the same in the
 * Dockerfile's CMD): the bench measures the proxy as it is run.
 */
const START_NODE_FLAGS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  .scripts.start.split(/\s+/)
  .filter((a) => a.startsWith('--'));

/**
 * The proxy under test, from dist/ (run `npm run build` first), with the
 * node flags it ships with; `nodeArgs` come after them (a repeated V8 flag:
 * the last one wins). `stdout`:
 * 'pipe' to read its stdout (log lines, --trace-gc), else discarded. With
 * `ca` (PEM text) the proxy serves TLS (env has TLS_CERT_FILE / TLS_KEY_FILE)
 * and is probed and reached over https:// and wss://.
 */
export async function startProxy(
  simOrigin,
  { env = {}, nodeArgs = [], stdout = 'ignore', wrapper = [], ca = null } = {},
) {
  assertBuildCurrent(ROOT);
  const port = await freePort();
  // `wrapper` (e.g. ['stdbuf', '-oL']) must exec node in place: the pid is the proxy's.
  const argv = [...wrapper, process.execPath, ...START_NODE_FLAGS, ...nodeArgs, join(ROOT, 'dist', 'index.js')];
  const proc = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AZURE_VOICE_LIVE_ENDPOINT: simOrigin,
      AZURE_SPEECH_KEY: 'bench-key',
      ALLOWED_ORIGINS: 'http://localhost:3000',
      ALLOW_NO_ORIGIN: 'true',
      RATE_LIMIT_MAX_REQUESTS: '1000000000',
      MAX_CONNECTIONS: '1000000',
      // Every bench client comes from 127.0.0.1: lift the per-address defaults.
      UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000000000',
      MAX_CONNECTIONS_PER_IP: '0',
      LOG_LEVEL: 'warn',
      WORKERS: '1',
      SHUTDOWN_GRACE_MS: '0',
      ...env,
    },
    stdio: ['ignore', stdout, 'pipe'],
  });
  const child = new Child('proxy', proc);
  child.port = port;
  child.origin = `${ca === null ? 'ws' : 'wss'}://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exited) throw new Error(`proxy exited: ${child.stderr}`);
    const st = await httpStatus(`${ca === null ? 'http' : 'https'}://127.0.0.1:${port}/health`, ca);
    if (st === 200 || st === 429 || st === 503) return child;
    if (ca !== null && (await httpStatus(`http://127.0.0.1:${port}/health`)) !== 0) {
      await child.stop();
      throw new Error('the proxy answers plain http: this build does not serve TLS (TLS_CERT_FILE / TLS_KEY_FILE)');
    }
    await sleep(100);
  }
  throw new Error('proxy did not become healthy');
}

export function nginxPath() {
  return safeExec('sh', ['-c', 'command -v nginx']);
}

/**
 * nginx as a plain WebSocket reverse proxy to the simulator, one worker (or
 * `workers`); with
 * `tls` ({ cert }) the upstream leg is https, verified against that certificate;
 * with `front` ({ cert, key }) it terminates TLS from the browser (wss://).
 */
export async function startNginx(simPort, { tls = null, front = null, workers = 1 } = {}) {
  const bin = nginxPath();
  if (bin === '') throw new Error('nginx not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const conf = `worker_processes ${workers};
worker_rlimit_nofile 20000;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port}${front === null ? '' : ' ssl'};${
      front === null
        ? ''
        : `
    ssl_certificate ${front.cert};
    ssl_certificate_key ${front.key};
    ssl_protocols TLSv1.2 TLSv1.3;`
    }
    location / {
      proxy_pass ${tls === null ? 'http' : 'https'}://127.0.0.1:${simPort};${
        tls === null
          ? ''
          : `
      proxy_ssl_trusted_certificate ${tls.cert};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;`
      }
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_buffering off;
      access_log off;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const child = new Child('nginx', proc);
  child.port = port;
  child.origin = `${front === null ? 'ws' : 'wss'}://127.0.0.1:${port}`;
  child.dir = dir;
  const stop = child.stop.bind(child);
  child.stop = async (sig = 'SIGQUIT') => {
    await stop(sig);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if (child.exited) throw new Error(`nginx exited: ${child.stderr} ${safeExec('cat', [join(dir, 'error.log')])}`);
    if (await connectable(port)) return child;
    await sleep(100);
  }
  throw new Error('nginx did not start');
}

/** Exits with 2 and says how to install it when valgrind is missing (the callgrind benches). */
export function requireValgrind() {
  try {
    execFileSync('valgrind', ['--version']);
  } catch {
    console.error('valgrind not installed (apt-get install valgrind)');
    process.exit(2);
  }
}
