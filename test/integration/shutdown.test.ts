// Graceful shutdown of the real process (docs/contract.md §5): drain, keep live sessions
// flowing for SHUTDOWN_GRACE_MS, close them 1001 on both legs, exit 0.
import t from 'tap';
import type { Test } from 'tap';
import { TestClient } from '../helpers/client';
import { entryBuilt, spawnProxy, startProxyProcess } from '../helpers/spawn-proxy';
import { startWsUpstream } from '../helpers/ws-upstream';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

async function startStack(t: Test, env: Record<string, string> = {}) {
  const up = await startWsUpstream((c) => {
    c.ws.on('message', (d, isBinary) => c.ws.send(d, { binary: isBinary }));
  });
  t.teardown(() => up.close());
  return { up, ...(await startProxyProcess(t, up.origin, env)) };
}

t.test(
  'SIGTERM: drain, keep flowing through the grace period, close 1001 on both legs, exit 0',
  { skip },
  async (t) => {
    const { up, child, port, url } = await startStack(t, { SHUTDOWN_GRACE_MS: '1500' });
    const clients = [new TestClient(url), new TestClient(url)];
    await Promise.all(clients.map((c) => c.opened));
    const ups = await Promise.all(clients.map(() => up.nextConnection()));
    for (const c of clients) for (let i = 0; i < 10; i++) c.send(`before-${i}`);
    for (const c of clients) for (let i = 0; i < 10; i++) t.equal((await c.next()).data.toString(), `before-${i}`);

    child.proc.kill('SIGTERM');
    await child.line('draining');
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    t.equal(health.status, 503, '/health answers 503 while draining');
    t.equal(((await health.json()) as { status: string }).status, 'draining');
    const late = new TestClient(url);
    const refused = await late.refused;
    t.equal(refused.status, 503, 'new upgrades are refused');
    t.equal(JSON.parse(refused.body).error.code, 'draining');

    // Live sessions keep flowing during the grace period; nothing sent is lost.
    for (const c of clients) for (let i = 0; i < 50; i++) c.send(`during-${i}`);
    for (const c of clients) for (let i = 0; i < 50; i++) t.equal((await c.next()).data.toString(), `during-${i}`);

    const closes = await Promise.all(clients.map((c) => c.closed));
    t.same(
      closes.map((c) => c.code),
      [1001, 1001],
      'browser legs closed 1001',
    );
    t.same(closes[0].reason, 'Server shutting down');
    const upCloses = await Promise.all(ups.map((u) => u.closed));
    t.same(
      upCloses.map((c) => c.code),
      [1001, 1001],
      'upstream legs closed 1001',
    );
    for (const u of ups) t.equal(u.messages.length, 60, 'the upstream got every frame sent before the close');
    t.same(await child.exited, { code: 0, signal: null }, 'exit 0');
    t.ok(child.stdout.some((l) => l.includes('shutdown complete')));
  },
);

t.test('SIGTERM with no sessions exits at once; a second signal exits immediately', { skip }, async (t) => {
  const a = await startStack(t, { SHUTDOWN_GRACE_MS: '60000' });
  a.child.proc.kill('SIGTERM');
  t.same(await a.child.exited, { code: 0, signal: null }, 'idle process exits without waiting the grace period');

  const b = await startStack(t, { SHUTDOWN_GRACE_MS: '60000' });
  const c = new TestClient(b.url);
  await c.opened;
  b.child.proc.kill('SIGTERM');
  await b.child.line('draining');
  b.child.proc.kill('SIGINT');
  t.same(await b.child.exited, { code: 1, signal: null }, 'second signal: immediate exit');
});

t.test('invalid configuration: exit 1 with one line naming the variable', { skip }, async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { PORT: 'abc' },
      /^voice-live-proxy: invalid configuration: PORT: expected an integer from 0 to 65535, got "abc"\n$/,
    ],
    [{ MAX_CONNECTIONS: '0' }, /MAX_CONNECTIONS: expected an integer from 1/],
    [{ ALLOWED_ORIGINS: 'localhost:3000/path' }, /ALLOWED_ORIGINS/],
    [{ AZURE_VOICE_LIVE_ENDPOINT: '', AZURE_AI_FOUNDRY_RESOURCE: '' }, /AZURE_AI_FOUNDRY_RESOURCE/],
    [{ TRUST_PROXY: 'banana' }, /TRUST_PROXY/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ];
  for (const [env, re] of cases) {
    const child = spawnProxy({ AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9', PORT: '0', ...env });
    const exit = await child.exited;
    t.equal(exit.code, 1, `${Object.keys(env).join(',')}: exit 1`);
    t.match(child.stderr, re);
    t.equal(child.stderr.trim().split('\n').length, 1, 'one line');
  }
});
