// `voice-live-proxy loadtest` against a real proxy (dist/index.js) whose
// upstream is the simulator: exact counts, thresholds that decide the exit
// code, refusals counted by class, one ticket per session, the cost cap in
// front of a real (non-echoing) upstream, and the ticket secret never shown.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';
import { FAST, loadtest, OPEN_LIMITS } from '../helpers/loadtest-command';
import { startSimulator } from '../../src/simulator/simulator';
import { writeTestCert } from '../helpers/test-cert';

// Several seconds of load per case, on a loaded 2-core CI machine.
t.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const skip = entryBuilt() ? false : 'dist/ missing: run `npm run build` (npm test does)';
const ORIGIN = 'http://localhost:3000';
const SECRET = 'loadtest-test-secret-0123456789abcdef-XYZ';
/** Every client of these tests comes from 127.0.0.1: lift the per-address defaults. */
t.test('against a proxy in front of the simulator', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const proxy = await startProxyProcess(t, sim.origin, OPEN_LIMITS);
  const url = `${proxy.url}?model=gpt-realtime`;

  await t.test('the shipped bin: 200 sessions, exact counts, --json parses, exit 0', async (t) => {
    const child = spawn(
      process.execPath,
      [CLI, 'loadtest', '--url', url, '--origin', ORIGIN, '--sessions', '200', ...FAST, '--max-loss', '0'],
      { env: { PATH: process.env.PATH ?? '' }, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = (await once(child, 'exit')) as [number];
    t.equal(code, 0, `exit 0 (stderr: ${err.slice(-300)})`);
    const r = JSON.parse(out);
    t.equal(r.upstream, 'simulator', 'the probe saw the echo');
    t.equal(r.mode, 'echo');
    t.equal(r.sessions.requested, 200);
    t.equal(r.sessions.opened, 200, '200 opened');
    t.same(r.sessions.refused, {});
    t.same(r.sessions.failed, {});
    t.equal(r.sessions.pending, 0);
    // A generator starved by a busy host skips (and counts) what it could not send in time.
    t.ok(
      r.frames.sent + r.frames.skipped >= 200 * 25 * 2 * 0.9,
      `25 frames/s x 2 s x 200 sent or counted skipped (${r.frames.sent} + ${r.frames.skipped})`,
    );
    t.equal(r.frames.echoed, r.frames.sent, 'every append came back');
    t.equal(r.frames.lost, 0, '0 lost');
    t.equal(r.frames.received, r.frames.echoed + 200, 'received: the echoes and one session.created each');
    t.equal(r.frames.outOfOrder, 0);
    t.type(r.roundTripMs.p99, 'number', 'a p99');
    t.ok(r.roundTripMs.p50 <= r.roundTripMs.p99 && r.roundTripMs.p99 <= r.roundTripMs.max);
    t.equal(r.thresholds.maxLoss.ok, true, '--max-loss 0 met');
    t.equal(r.ok, true);
    t.type(r.generator.usPerFrame, 'number', 'the generator reports its own cost');
    t.match(err, /loadtest +\d+ s +opened \d+\/200/, 'a progress line on stderr');
  });

  await t.test('an unreachable --max-p99-ms exits 1; the table says MISSED', async (t) => {
    const r = await loadtest([
      '--url',
      url,
      '--origin',
      ORIGIN,
      '--sessions',
      '20',
      '--upstream',
      'simulator',
      '--rate',
      '25',
      '--duration',
      '1',
      '--ramp',
      '0',
      '--max-p99-ms',
      '0.0001',
      '--quiet',
    ]);
    t.equal(r.code, 1, 'exit 1');
    t.match(r.out, /--max-p99-ms +MISSED/);
    t.match(r.out, /result +FAILED/);
    t.equal(r.err, '', '--quiet: no progress line');
  });

  await t.test('a wrong origin: every session refused, counted as http 403', async (t) => {
    const r = await loadtest([
      '--url',
      url,
      '--origin',
      'https://evil.example',
      '--sessions',
      '30',
      '--upstream',
      'simulator',
      ...FAST,
    ]);
    t.equal(r.code, 0, 'no threshold set: exit 0');
    t.equal(r.report.sessions.opened, 0);
    t.same(r.report.sessions.refused, { 'http 403': 30 }, 'refusals by class');
    t.equal(r.report.frames.sent, 0);
  });

  await t.test('without --upstream the probe is refused first: exit 2, and why', async (t) => {
    const r = await loadtest(['--url', url, '--origin', 'https://evil.example', ...FAST]);
    t.equal(r.code, 2);
    t.match(r.err, /probe session was not opened \(http 403\)/);
  });
});

t.test('MAX_CONNECTIONS: the sessions past it are refused with 503', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const proxy = await startProxyProcess(t, sim.origin, { ...OPEN_LIMITS, MAX_CONNECTIONS: '12' });
  const r = await loadtest([
    '--url',
    `${proxy.url}?model=gpt-realtime`,
    '--origin',
    ORIGIN,
    '--sessions',
    '40',
    '--upstream',
    'simulator',
    ...FAST,
    '--max-loss',
    '0',
  ]);
  t.equal(r.report.sessions.opened, 12, 'MAX_CONNECTIONS opened');
  t.same(r.report.sessions.refused, { 'http 503': 28 }, 'the rest refused, by status');
  t.equal(r.report.frames.lost, 0, 'no loss on the sessions that opened');
  t.equal(r.code, 0);
});

t.test('CLIENT_AUTH=ticket: one ticket per session from TICKET_SECRET, never printed', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const proxy = await startProxyProcess(t, sim.origin, {
    ...OPEN_LIMITS,
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
    TICKET_AUDIENCE: 'loadtest-aud',
  });
  const url = `${proxy.url}?model=gpt-realtime`;
  const args = ['--url', url, '--origin', ORIGIN, '--sessions', '50', ...FAST];
  const r = await loadtest(args, { TICKET_SECRET: SECRET, TICKET_AUDIENCE: 'loadtest-aud' });
  t.equal(r.code, 0, r.err.slice(-300));
  t.equal(r.report.config.tickets, true);
  t.equal(r.report.sessions.opened, 50, 'every session had its own (single-use) ticket');
  t.equal(r.report.frames.lost, 0);
  t.notMatch(r.out + r.err, SECRET, 'the secret appears nowhere');
  const table = await loadtest(
    args.filter((a) => a !== '--json'),
    {
      TICKET_SECRET: SECRET,
      TICKET_AUDIENCE: 'loadtest-aud',
    },
  );
  t.notMatch(table.out + table.err, SECRET, 'nor in the table');

  const none = await loadtest([...args, '--upstream', 'simulator']);
  t.same(none.report.sessions.refused, { 'http 401': 50 }, 'without TICKET_SECRET: refused, 401');
});

t.test('a target that does not echo is real Voice Live: a warning, a cap, then turns', { skip }, async (t) => {
  // Answers like Voice Live: session.created, an error event for what it does not know, and a
  // short response (one audio delta, then response.done) to each commit.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on('connection', (ws) => {
    ws.send('{"type":"session.created","session":{}}');
    ws.on('message', (data) => {
      const type = (JSON.parse(String(data)) as { type: string }).type;
      if (type === 'input_audio_buffer.commit') {
        ws.send('{"type":"response.audio.delta","delta":"AAAA"}');
        ws.send('{"type":"response.done","response":{}}');
      } else if (type !== 'input_audio_buffer.append') {
        ws.send('{"type":"error","error":{"message":"unknown event"}}');
      }
    });
  });
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const url = `ws://127.0.0.1:${port}/`;
  const capped = await loadtest(['--url', url, '--sessions', '100', '--duration', '30']);
  t.equal(capped.code, 2, 'not started');
  t.match(capped.err, /looks like real Voice Live/, 'warned about the cost');
  t.match(capped.err, /--i-know-this-costs/, 'and says how to go past the cap');
  t.equal(capped.out, '');

  const r = await loadtest(['--url', url, '--sessions', '10', ...FAST, '--quiet']);
  t.equal(r.code, 0, 'under the cap: it runs');
  t.match(r.err, /looks like real Voice Live/, 'still warned, even with --quiet');
  t.equal(r.report.upstream, 'voice-live');
  t.equal(r.report.mode, 'turns');
  t.equal(r.report.sessions.opened, 10);
  t.equal(r.report.roundTripMs, null, 'no round trips to time');
  t.ok(r.report.turnFirstAudioMs.samples > 0, 'commit to first audio, timed');
  t.ok(r.report.turnDoneMs.samples > 0, 'commit to response.done, timed');
  t.equal(r.report.frames.lost, 0, 'every commit answered');
});

const tlsDir = mkdtempSync(join(tmpdir(), 'vlp-loadtest-tls-'));
t.teardown(() => rmSync(tlsDir, { recursive: true, force: true }));
const cert = writeTestCert(tlsDir);

t.test(
  'wss://: trusting --ca, refusing an unknown certificate, or --insecure',
  { skip: skip || (cert === null ? 'openssl missing' : false) },
  async (t) => {
    if (cert === null) return;
    const sim = await startSimulator({ tls: { certFile: cert.cert, keyFile: cert.key }, requireCredential: false });
    t.teardown(() => sim.close());
    const url = `${sim.origin}/voice-live/realtime?model=gpt-realtime`;
    t.match(url, /^wss:/);
    const args = ['--url', url, '--sessions', '20', ...FAST, '--max-loss', '0'];

    const trusted = await loadtest([...args, '--ca', cert.cert]);
    t.equal(trusted.code, 0, trusted.err.slice(-300));
    t.equal(trusted.report.upstream, 'simulator');
    t.equal(trusted.report.sessions.opened, 20, 'opened over TLS with the given CA');
    t.equal(trusted.report.frames.lost, 0);

    const unknown = await loadtest(['--url', url, '--sessions', '5', ...FAST, '--upstream', 'simulator']);
    t.equal(unknown.report.sessions.opened, 0, 'a certificate no CA vouches for: none opened');
    t.match(Object.keys(unknown.report.sessions.failed).join(), /CERT|SELF_SIGNED/, 'failed, with the TLS reason');

    const insecure = await loadtest([...args, '--insecure']);
    t.equal(insecure.report.sessions.opened, 20, '--insecure accepts it');
  },
);

t.test('usage errors exit 2 and name the option', { skip }, async (t) => {
  for (const [args, re] of [
    [[], /--url is required/],
    [['--url', 'http://x/'], /ws:\/\/ or wss:\/\//],
    [['--url', 'ws://127.0.0.1:1/?ticket=a.b.c'], /must not carry a ticket/],
    [['--url', 'ws://127.0.0.1:1/', '--max-loss', '2'], /--max-loss must be a number from 0 to 1/],
    [['--url', 'ws://127.0.0.1:1/', '--secret', 'x'], /Unknown option '--secret'/],
  ] as const) {
    const r = await loadtest([...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re);
  }
});
