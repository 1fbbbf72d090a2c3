// `voice-live-proxy loadtest` against a proxy with CLIENT_AUTH=token (the
// user's token verified against a real JWKS endpoint on 127.0.0.1, then
// forwarded to the simulator): one bearer token from LOADTEST_BEARER_TOKEN or
// --token-file opens every session, sent as `token=` as a browser page does;
// a wrong or expired one is counted as refused 401; it is never printed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';
import { FAST, loadtest, OPEN_LIMITS } from '../helpers/loadtest-command';
import { startJwksServer } from '../helpers/jwks-server';
import { startSimulator } from '../../src/simulator/simulator';

t.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const skip = entryBuilt() ? false : 'dist/ missing: run `npm run build` (npm test does)';
const ORIGIN = 'http://localhost:3000';
const ISSUER = 'https://login.microsoftonline.com/tenant-1/v2.0';
const AUDIENCE = 'https://ai.azure.com';
const now = (): number => Math.floor(Date.now() / 1000);

const dir = mkdtempSync(join(tmpdir(), 'vlp-loadtest-token-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('CLIENT_AUTH=token: one bearer token for every session', { skip }, async (t) => {
  const jwks = await startJwksServer();
  t.teardown(() => jwks.close());
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const tokenEnv = {
    ...OPEN_LIMITS,
    CLIENT_AUTH: 'token',
    TOKEN_JWKS_URL: jwks.url,
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
  };
  const proxy = await startProxyProcess(t, sim.origin, tokenEnv);
  const url = `${proxy.url}?model=gpt-realtime`;
  const token = await jwks.sign('RS256', { sub: 'loadtest-user', iss: ISSUER, aud: AUDIENCE, exp: now() + 3600 });
  const signature = token.split('.')[2];

  await t.test('the shipped bin, LOADTEST_BEARER_TOKEN: every session opens, the token reaches upstream', async (t) => {
    const upgradesBefore = sim.upgrades.length;
    const child = spawn(
      process.execPath,
      [CLI, 'loadtest', '--url', url, '--origin', ORIGIN, '--sessions', '30', ...FAST, '--max-loss', '0'],
      {
        env: { PATH: process.env.PATH ?? '', LOADTEST_BEARER_TOKEN: token },
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = (await once(child, 'exit')) as [number];
    t.equal(code, 0, `exit 0 (stderr: ${err.slice(-300)})`);
    const r = JSON.parse(out);
    t.equal(r.upstream, 'simulator', 'the probe went through with the token too');
    t.equal(r.config.bearerToken, true);
    t.equal(r.sessions.opened, 30, 'every session opened on the one token');
    t.same(r.sessions.refused, {});
    t.equal(r.frames.lost, 0);
    t.notOk((out + err).includes(signature), 'the token appears nowhere in the output');
    const forwarded = sim.upgrades.slice(upgradesBefore).map((u) => u.headers.authorization);
    t.equal(forwarded.length, 31, 'the probe and 30 sessions reached the simulator');
    t.ok(
      forwarded.every((h) => h === `Bearer ${token}`),
      'each with the verified token as Authorization: Bearer',
    );
  });

  await t.test('--token-file, an Authorization value pasted whole with its newline', async (t) => {
    const file = join(dir, 'token');
    writeFileSync(file, `Bearer ${token}\n`, { mode: 0o600 });
    const r = await loadtest(['--url', url, '--origin', ORIGIN, '--sessions', '20', ...FAST, '--token-file', file]);
    t.equal(r.code, 0, r.err.slice(-300));
    t.equal(r.report.sessions.opened, 20);
    const table = await loadtest(
      ['--url', url, '--origin', ORIGIN, '--sessions', '5', ...FAST, '--token-file', file].filter(
        (a) => a !== '--json',
      ),
    );
    t.match(table.out, /one bearer token for all/);
    t.notOk((table.out + table.err).includes(signature), 'nor in the table');
  });

  await t.test('a wrong or expired token, or none: every session refused, counted as http 401', async (t) => {
    const cases: Array<[string, Record<string, string>]> = [
      [
        'another audience',
        {
          LOADTEST_BEARER_TOKEN: await jwks.sign('RS256', {
            sub: 'u',
            iss: ISSUER,
            aud: 'api://other',
            exp: now() + 3600,
          }),
        },
      ],
      [
        'expired',
        {
          LOADTEST_BEARER_TOKEN: await jwks.sign('ES256', { sub: 'u', iss: ISSUER, aud: AUDIENCE, exp: now() - 600 }),
        },
      ],
      ['none', {}],
    ];
    for (const [why, env] of cases) {
      const r = await loadtest(
        ['--url', url, '--origin', ORIGIN, '--sessions', '15', ...FAST, '--upstream', 'simulator', '--quiet'],
        env,
      );
      t.equal(r.code, 0, `${why}: no threshold set, exit 0`);
      t.equal(r.report.sessions.opened, 0, `${why}: none opened`);
      t.same(r.report.sessions.refused, { 'http 401': 15 }, `${why}: refused, by class`);
      if (why === 'expired') t.match(r.err, /warning: the bearer token expired \d+ s ago/, 'warned, even with --quiet');
    }
    const probe = await loadtest(['--url', url, '--origin', ORIGIN, '--sessions', '5', ...FAST], cases[1][1]);
    t.equal(probe.code, 2, 'without --upstream the probe is refused first');
    t.match(probe.err, /probe session was not opened \(http 401\); check .*the bearer token/);
  });
});

t.test('MAX_SESSIONS_PER_SUBJECT counts every session of the one token', { skip }, async (t) => {
  const jwks = await startJwksServer();
  t.teardown(() => jwks.close());
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const proxy = await startProxyProcess(t, sim.origin, {
    ...OPEN_LIMITS,
    CLIENT_AUTH: 'token',
    TOKEN_JWKS_URL: jwks.url,
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    MAX_SESSIONS_PER_SUBJECT: '8',
  });
  const token = await jwks.sign('RS256', { sub: 'loadtest-user', iss: ISSUER, aud: AUDIENCE, exp: now() + 3600 });
  const r = await loadtest(
    ['--url', `${proxy.url}?model=gpt-realtime`, '--origin', ORIGIN, '--sessions', '20', ...FAST],
    { LOADTEST_BEARER_TOKEN: token },
  );
  t.equal(r.code, 0, r.err.slice(-300));
  // The probe's session closed before the run, so its place is free again.
  t.equal(r.report.sessions.opened, 8, 'MAX_SESSIONS_PER_SUBJECT opened');
  t.same(r.report.sessions.refused, { 'http 429': 12 }, 'the rest refused: subject_at_capacity');
});

t.test('usage errors: the token never from argv, one source, and never echoed', { skip }, async (t) => {
  const junk = 'not a token, with spaces';
  const both = join(dir, 'both');
  writeFileSync(both, 'a.b.c\n');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  for (const [args, env, re] of [
    [['--url', 'ws://127.0.0.1:1/ws?token=a.b.c'], {}, /--url must not carry a token/],
    [['--url', 'ws://127.0.0.1:1/ws?Authorization=Bearer%20a.b.c'], {}, /--url must not carry a token/],
    [['--url', 'ws://127.0.0.1:1/', '--token-file', both], { LOADTEST_BEARER_TOKEN: 'a.b.c' }, /both set/],
    [['--url', 'ws://127.0.0.1:1/', '--token-file', join(dir, 'missing')], {}, /--token-file: ENOENT/],
    [['--url', 'ws://127.0.0.1:1/', '--token-file', empty], {}, /--token-file: .* is empty/],
    [['--url', 'ws://127.0.0.1:1/'], { LOADTEST_BEARER_TOKEN: junk }, /LOADTEST_BEARER_TOKEN: not a bearer token/],
  ] as const) {
    const r = await loadtest([...args], { ...env });
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re);
    t.notOk(r.err.includes(junk), 'the value is not shown');
  }
});
