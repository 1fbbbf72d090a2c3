// The relay threads' young generation (src/cluster/young-generation.ts): two
// 2 MiB semi-spaces for every worker thread unless the operator gave node
// its own --max-semi-space-size, and the same size on every entry point we
// ship for the single-thread case.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RELAUNCHED_MARKER,
  RELAY_SEMI_SPACE_MB,
  relayWorkerLimits,
  semiSpaceFlagGiven,
} from '../../src/cluster/young-generation';
import { probePort } from '../../src/port-probe';
import { lineOf } from '../helpers/lines';
import { entryBuilt, freePort, spawnProxy } from '../helpers/spawn-proxy';

const ROOT = join(__dirname, '..', '..');
const PRELOAD = join(__dirname, '..', 'helpers', 'young-generation-preload.cjs');
const FLAG = `--max-semi-space-size=${RELAY_SEMI_SPACE_MB}`;
const MiB = 1024 * 1024;
const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

t.test('the operator’s own semi-space flag is recognised in every form V8 accepts', async (t) => {
  t.notOk(semiSpaceFlagGiven([], ''));
  t.notOk(
    semiSpaceFlagGiven(['--max-old-space-size=512'], '--max-semi-space'),
    'other flags and prefixes do not count',
  );
  t.ok(semiSpaceFlagGiven(['--max-semi-space-size=8'], ''));
  t.ok(semiSpaceFlagGiven(['--max_semi_space_size', '8'], ''), 'underscores, value as the next argument');
  t.ok(semiSpaceFlagGiven([], '--require x.cjs --max-semi-space-size=1'), 'in NODE_OPTIONS');
  t.same(
    relayWorkerLimits(false),
    { maxYoungGenerationSizeMb: 3 * RELAY_SEMI_SPACE_MB },
    'two semi-spaces and a large-object space',
  );
  t.equal(relayWorkerLimits(true), undefined, 'a flag given wins: workers inherit it');
});

/** A proxy that starts and listens; its upstream is never reached. */
function proxyEnv(workers: number, port: number): Record<string, string> {
  return {
    WORKERS: String(workers),
    PORT: String(port),
    HOST: '127.0.0.1',
    AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
    AZURE_SPEECH_KEY: 'k',
    ALLOWED_ORIGINS: 'http://localhost:3000',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '0',
  };
}

async function youngGeneration(
  t: Test,
  nodeArgs: string[],
): Promise<Array<{ worker: number; limitMb: number; newSpaceBytes: number }>> {
  const port = await freePort();
  const child = spawnProxy(proxyEnv(2, port), { nodeArgs: ['--require', PRELOAD, ...nodeArgs] });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  await child.line('voice-live-proxy listening');
  await child.lines('young generation', 2);
  return child.stdout
    .filter((l) => l.includes('"young generation"'))
    .map((l) => JSON.parse(l) as { worker: number; limitMb: number; newSpaceBytes: number });
}

t.test('each relay worker thread gets two 2 MiB semi-spaces', { skip }, async (t) => {
  const reports = await youngGeneration(t, []);
  t.same(reports.map((r) => r.worker).sort(), [0, 1]);
  for (const r of reports) {
    t.equal(r.limitMb, 3 * RELAY_SEMI_SPACE_MB, `worker ${r.worker}: the limit given`);
    t.ok(
      r.newSpaceBytes <= 2 * RELAY_SEMI_SPACE_MB * MiB,
      `worker ${r.worker}: young generation ${r.newSpaceBytes / MiB} MiB`,
    );
  }
});

t.test('an operator’s --max-semi-space-size wins over ours', { skip }, async (t) => {
  const reports = await youngGeneration(t, ['--max-semi-space-size=8']);
  for (const r of reports) {
    t.ok(
      r.newSpaceBytes > 2 * RELAY_SEMI_SPACE_MB * MiB && r.newSpaceBytes <= 16 * MiB,
      `worker ${r.worker}: young generation ${r.newSpaceBytes / MiB} MiB, grown past ours`,
    );
  }
});

t.test('every entry point we ship starts node with the same semi-space size', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(
    pkg.scripts.start,
    `exec node ${FLAG} dist/index.js`,
    'npm start (exec: sh hands its place, and signals, to node)',
  );
  const cmd = /^CMD (.*)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '[]';
  t.same(JSON.parse(cmd), ['node', FLAG, 'dist/index.js'], 'the image');
  const pm2 = (require(join(ROOT, 'ecosystem.config.cjs')) as { apps: Array<{ node_args: string }> }).apps[0];
  t.equal(pm2.node_args, FLAG, 'PM2');
});

const CLI = join(ROOT, 'dist', 'cli.js');

/** Starts WORKERS=1 as given, SIGTERMs what was started; the listening line, the warnings and the exit. */
async function startSingle(
  t: Test,
  opts: { nodeArgs?: string[]; entry?: string; env?: Record<string, string> },
): Promise<{ listening: Record<string, unknown>; warnings: number; pid: number; code: number | null }> {
  const port = await freePort();
  const child = spawnProxy({ ...proxyEnv(1, port), ...opts.env }, { nodeArgs: opts.nodeArgs ?? [], entry: opts.entry });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  const listening = await child.line('voice-live-proxy listening');
  const pid = Number(listening.pid);
  if (pid !== child.proc.pid) {
    // The relaunched node: it was given the flag.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    t.ok(cmdline.includes(FLAG), `the relaunched node has ${FLAG}`);
  }
  // Start-up warnings are written right after the listening line; SIGTERM drains and exits, so every line is in.
  child.proc.kill('SIGTERM');
  const { code } = await child.exited;
  await probePort('127.0.0.1', port).then(
    () => t.pass('the port is free once the command has exited'),
    (err: Error) => t.fail(err.message),
  );
  const warnings = child.stdout.filter((l) => l.includes('node started without --max-semi-space-size')).length;
  return { listening, warnings, pid, code };
}

t.test('a single thread started without the flag relaunches itself with it, silently', { skip }, async (t) => {
  const plain = await startSingle(t, {});
  t.equal(plain.warnings, 0, 'plain `node dist/index.js`: no warning');
  t.equal(plain.code, 0, 'SIGTERM to the command drains the relay and exits 0');
  const bin = await startSingle(t, { entry: CLI });
  t.equal(bin.warnings, 0, 'the voice-live-proxy command: no warning');
  t.equal(bin.code, 0);
  const flagged = await startSingle(t, { nodeArgs: [FLAG] });
  t.equal(flagged.warnings, 0, 'as npm start, the image and PM2 start it: no warning, no second node');
  t.equal(flagged.code, 0);
});

t.test('a child that somehow lacks the flag says so once rather than relaunching again', { skip }, async (t) => {
  const r = await startSingle(t, { env: { [RELAUNCHED_MARKER]: '1' } });
  t.equal(r.warnings, 1);
});

t.test('Ctrl+C in a terminal (SIGINT to the whole group) drains the relaunched node once', { skip }, async (t) => {
  const port = await freePort();
  const proc = spawn(process.execPath, [CLI], {
    env: { PATH: process.env.PATH ?? '', ...proxyEnv(1, port) },
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a shell gives a foreground job.
    detached: true,
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  await lineOf(proc.stdout, (l) => l.msg === 'voice-live-proxy listening');
  const seen: string[] = [];
  proc.stdout.on('data', (d: Buffer) => seen.push(String(d)));
  process.kill(-proc.pid!, 'SIGINT');
  const [code] = (await once(proc, 'exit')) as [number | null];
  t.equal(code, 0, 'drained, not the second signal’s exit 1');
  t.notMatch(seen.join(''), /second signal/);
});

t.test('the relaunched node drains and exits when the node that started it is killed', { skip }, async (t) => {
  const port = await freePort();
  const child = spawnProxy(proxyEnv(1, port), { nodeArgs: [] });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  const relayPid = Number((await child.line('voice-live-proxy listening')).pid);
  t.not(relayPid, child.proc.pid, 'a second node serves');
  // Both nodes write to the same pipe: it ends only when the relaunched one is gone too.
  const ended = once(child.proc.stdout!, 'end');
  child.proc.kill('SIGKILL');
  await child.line('shutdown complete');
  await ended;
  await t.resolves(probePort('127.0.0.1', port), 'the port is free again');
});
