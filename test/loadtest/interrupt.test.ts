// `voice-live-proxy loadtest` stopped by the operator (Ctrl-C, SIGTERM): the
// shipped bin, run against a real proxy in front of the simulator, stops the
// load, closes its sessions with 1000, prints the report so far marked
// interrupted, and exits 130 (143); frames still on their way at the stop are
// neither lost nor echoed; a second signal exits at once.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';
import { until } from '../helpers/wait';
import { startSimulator } from '../../src/simulator/simulator';

t.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const skip = entryBuilt() ? false : 'dist/ missing: run `npm run build` (npm test does)';
const ORIGIN = 'http://localhost:3000';
const OPEN_LIMITS = {
  MAX_CONNECTIONS_PER_IP: '0',
  UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000000',
  RATE_LIMIT_MAX_REQUESTS: '1000000000',
};

interface Run {
  proc: ChildProcess;
  out: string;
  err: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnLoadtest(t: { teardown(fn: () => unknown): void }, args: string[]): Run {
  const proc = spawn(process.execPath, [CLI, 'loadtest', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: Run = {
    proc,
    out: '',
    err: '',
    exited: once(proc, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    })),
  };
  proc.stdout!.on('data', (d: Buffer) => (r.out += d));
  proc.stderr!.on('data', (d: Buffer) => (r.err += d));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return r;
}

/** Progress lines that show appends going out: the load is under way. */
const sending = (r: Run): boolean => /sent [1-9]\d*\/s/.test(r.err);

t.test('against a proxy in front of the simulator', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const proxy = await startProxyProcess(t, sim.origin, OPEN_LIMITS);
  const url = `${proxy.url}?model=gpt-realtime`;
  const base = ['--url', url, '--origin', ORIGIN, '--rate', '25', '--ramp', '1'];

  await t.test('SIGINT mid-run: the JSON report so far, interrupted, exit 130', async (t) => {
    const closedBefore = proxy.child.stdout.filter((l) => l.includes('"session closed"')).length;
    const r = spawnLoadtest(t, [...base, '--sessions', '40', '--duration', '120', '--json', '--max-loss', '0']);
    await until(() => sending(r), 'appends going out', 60_000);
    const at = Date.now();
    r.proc.kill('SIGINT');
    const { code, signal } = await r.exited;
    const tookMs = Date.now() - at;
    t.equal(signal, null, 'not killed by the signal: it handled it');
    t.equal(code, 130, `exit 130 (stderr: ${r.err.slice(-300)})`);
    t.ok(tookMs < 10_000, `stopped within the drain and close bounds (${tookMs} ms)`);
    t.match(r.err, /SIGINT: stopping the load/, 'says what it is doing');
    const rep = JSON.parse(r.out);
    t.equal(rep.interrupted, true, 'marked interrupted');
    t.ok(rep.ranS > 1 && rep.ranS < 120, `ran ${rep.ranS} s, not the 121 asked`);
    t.ok(rep.loadS > 0 && rep.loadS < rep.ranS, `${rep.loadS} s of load after the ramp`);
    t.equal(rep.sessions.opened, 40);
    t.equal(rep.sessions.notStarted, 0);
    t.same(rep.sessions.closedEarly, {}, 'no session closed by the proxy');
    t.ok(rep.frames.sent > 0, `${rep.frames.sent} appends sent`);
    t.equal(
      rep.frames.sent,
      rep.frames.echoed + rep.frames.inFlight + rep.frames.lost,
      'sent = echoed + in flight + lost',
    );
    t.equal(rep.frames.lost, 0, 'nothing lost: what was on its way is in flight, not lost');
    t.equal(rep.frames.received, rep.frames.echoed + 40, 'received: the echoes and one session.created each');
    t.equal(rep.thresholds.maxLoss.ok, true, 'the thresholds are still evaluated');
    t.equal(rep.ok, true);
    t.type(rep.roundTripMs.p99, 'number', 'a p99 over the part that ran');
    // Every session of the run (and the probe's) ended with a close frame, not a cut socket.
    await proxy.child.lines('session closed', closedBefore + 41);
    const closes = proxy.child.stdout
      .filter((l) => l.includes('"session closed"'))
      .slice(closedBefore)
      .map((l) => (JSON.parse(l) as { clientCloseCode: number }).clientCloseCode);
    t.same(
      closes.filter((c) => c !== 1000),
      [],
      `the proxy saw ${closes.length} normal closes (1000)`,
    );
  });

  await t.test('SIGTERM: the table, marked INTERRUPTED, exit 143', async (t) => {
    const r = spawnLoadtest(t, [...base, '--sessions', '10', '--duration', '120']);
    await until(() => sending(r), 'appends going out', 60_000);
    r.proc.kill('SIGTERM');
    const { code } = await r.exited;
    t.equal(code, 143, 'exit 143');
    t.match(r.out, /^INTERRUPTED +stopped after \d+\.\d s \(\d+\.\d s of the 120 s after the ramp\)/m);
    t.match(r.out, /^in flight at the stop +\d+ \(not counted as lost\)/m);
    t.match(r.out, /^result +ok \(INTERRUPTED: a partial run\)/m);
  });

  await t.test('SIGINT during the ramp: no more sessions open; the rest are not started', async (t) => {
    const r = spawnLoadtest(t, [
      '--url',
      url,
      '--origin',
      ORIGIN,
      '--sessions',
      '300',
      '--ramp',
      '30',
      '--duration',
      '5',
      '--json',
    ]);
    await until(() => /opened [1-9]\d*\/300/.test(r.err), 'the first sessions open', 60_000);
    r.proc.kill('SIGINT');
    const { code } = await r.exited;
    t.equal(code, 130);
    const rep = JSON.parse(r.out);
    t.equal(rep.interrupted, true);
    t.ok(rep.sessions.notStarted > 0, `${rep.sessions.notStarted} never attempted`);
    t.ok(rep.sessions.opened > 0 && rep.sessions.opened < 300, `${rep.sessions.opened} opened`);
    t.equal(
      rep.sessions.opened + rep.sessions.notStarted + rep.sessions.pending,
      300,
      'opened + not started + pending = requested',
    );
    t.equal(rep.frames.sent, 0, 'the load had not started: nothing sent');
    t.equal(rep.loadS, 0);
  });

  await t.test('a second signal exits at once, without a report', async (t) => {
    const r = spawnLoadtest(t, [...base, '--sessions', '10', '--duration', '120', '--json']);
    await until(() => sending(r), 'appends going out', 60_000);
    r.proc.kill('SIGINT');
    await until(() => r.err.includes('stopping the load'), 'the first signal seen');
    r.proc.kill('SIGINT');
    const { code } = await r.exited;
    t.equal(code, 130);
    t.match(r.err, /SIGINT again: exiting without a report/);
    t.equal(r.out, '', 'no report');
  });
});

t.test('SIGINT while the probe waits for an answer: exit 130 at once, nothing sent', { skip }, async (t) => {
  // Accepts the connection and never answers the upgrade: the probe would wait 10 s.
  const held: Socket[] = [];
  const server = createServer((s) => held.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of held) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  const r = spawnLoadtest(t, ['--url', `ws://127.0.0.1:${port}/ws`, '--sessions', '5', '--json']);
  await until(() => held.length === 1, 'the probe connected');
  const at = Date.now();
  r.proc.kill('SIGINT');
  const { code } = await r.exited;
  t.equal(code, 130);
  t.ok(Date.now() - at < 5_000, 'did not wait out the probe');
  t.match(r.err, /interrupted during the probe, before any load was sent/);
  t.equal(r.out, '', 'nothing to report');
});

t.test('in flight versus lost: an upstream that answers late and drops some', { skip }, async (t) => {
  // Echoes every append 1.5 s late, except every tenth, which it drops: at the
  // stop, the drops a later echo overtook are lost; what was sent after a
  // session's last echo is in flight.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const timers = new Set<NodeJS.Timeout>();
  let echoedByServer = 0;
  t.teardown(() => {
    for (const x of timers) clearTimeout(x);
    return new Promise<void>((r) => wss.close(() => r()));
  });
  wss.on('connection', (ws) => {
    ws.send('{"type":"session.created","session":{}}');
    let n = 0;
    ws.on('message', (data, isBinary) => {
      const text = String(data);
      if (isBinary || !text.startsWith('{"type":"input_audio_buffer.append"')) return;
      if (n++ % 10 === 9) return;
      const x = setTimeout(() => {
        timers.delete(x);
        if (ws.readyState !== ws.OPEN) return;
        ws.send(text);
        echoedByServer++;
      }, 1500);
      timers.add(x);
    });
  });
  const { port } = wss.address() as { port: number };
  const { runLoadTest } = require(
    join(__dirname, '..', '..', 'dist', 'loadtest', 'run.js'),
  ) as typeof import('../../src/loadtest/run');
  const ac = new AbortController();
  const run = runLoadTest(
    {
      url: `ws://127.0.0.1:${port}/`,
      sessions: 10,
      rate: 25,
      durationS: 60,
      rampS: 0,
      upstream: 'simulator',
      signal: ac.signal,
      interruptDrainS: 0.3,
      maxLoss: 0.5,
    },
    () => {},
  );
  // Echoes coming back: 1.5 s of appends (about 375) are on their way behind them.
  await until(() => echoedByServer >= 400, 'echoes', 60_000);
  const at = Date.now();
  ac.abort('SIGINT');
  const rep = await run;
  t.ok(Date.now() - at < 5_000, 'the drain is bounded (0.3 s here), then the close');
  t.equal(rep.interrupted, true);
  const f = rep.frames;
  t.equal(f.sent, f.echoed + f.inFlight + f.lost, 'sent = echoed + in flight + lost');
  t.ok(f.echoed >= 400, `${f.echoed} echoed before the stop`);
  // 1.5 s at 25/s on 10 sessions, less the drain: a few hundred.
  t.ok(f.inFlight >= 200, `${f.inFlight} in flight, not lost`);
  t.ok(f.lost > 0, `${f.lost} dropped by the upstream and overtaken: lost`);
  // Per session, the tenth dropped up to its last echo: echoed / 9, less at most one each.
  t.ok(
    f.lost <= f.echoed / 9 + 1 && f.lost >= f.echoed / 9 - 11,
    `lost: the tenth dropped, up to each session's last echo (${f.lost} of ${f.echoed} echoed)`,
  );
  t.equal(rep.frames.loss, f.lost / (f.sent - f.inFlight), 'loss is over the appends that had their chance');
  t.equal(rep.thresholds.maxLoss!.ok, true, 'thresholds evaluated on the partial run');
});
