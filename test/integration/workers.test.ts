// WORKERS=2 on the real entry point (docs/operations.md, Scaling across cores): one port, one exact connection
// cap, one rate limit, whole-process /health and /metrics, crash replacement,
// and a shutdown that drains every worker.
import t from 'tap';
import type { Test } from 'tap';
import { join } from 'node:path';
import { TestClient } from '../helpers/client';
import { rawUpgradeStatus } from '../helpers/raw-upgrade';
import { entryBuilt, freePort, spawnProxy, startProxyProcess, type Child } from '../helpers/spawn-proxy';
import { startSimulator } from '../../src/simulator/simulator';
import { until } from '../helpers/wait';
import { mintTicket } from '../../src/auth/mint-ticket';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

// Loaded into the crash test's process only: production code has no crash switch.
const CRASH_PRELOAD = join(__dirname, '..', 'helpers', 'crash-preload.cjs');

async function startCluster(
  t: Test,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ child: Child; port: number; url: string }> {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const port = await freePort();
  const child = spawnProxy(
    {
      WORKERS: '2',
      PORT: String(port),
      HOST: '127.0.0.1',
      AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
      AZURE_SPEECH_KEY: 'k',
      ALLOWED_ORIGINS: 'http://localhost:3000',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '500',
      ...env,
    },
    { nodeArgs },
  );
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  const ready = await child.line('voice-live-proxy listening');
  t.equal(ready.workers, 2);
  return { child, port, url: `ws://127.0.0.1:${port}/ws` };
}

async function health(port: number): Promise<{ status: string; activeConnections: number }> {
  return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
    status: string;
    activeConnections: number;
  };
}

t.test('MAX_CONNECTIONS holds exactly across workers, and the counter returns to 0', { skip }, async (t) => {
  const { child, port, url } = await startCluster(t, { MAX_CONNECTIONS: '40', RATE_LIMIT_MAX_REQUESTS: '100000' });
  const clients = Array.from(
    { length: 160 },
    (_, i) => new TestClient(url, { localAddress: `127.0.1.${1 + (i % 200)}` }),
  );
  const outcomes = await Promise.all(
    clients.map((c) => Promise.race([c.opened.then(() => 'open'), c.refused.then((r) => String(r.status))])),
  );
  t.equal(outcomes.filter((o) => o === 'open').length, 40, 'exactly the cap admitted');
  t.equal(outcomes.filter((o) => o === '503').length, 120, 'the rest refused 503');
  t.equal((await health(port)).activeConnections, 40, '/health reports the whole process');
  const workersUsed = new Set(
    child.stdout.filter((l) => l.includes('"session open"')).map((l) => (JSON.parse(l) as { worker: number }).worker),
  );
  t.same([...workersUsed].sort(), [0, 1], 'sessions spread over both workers');
  await Promise.all(clients.filter((_, i) => outcomes[i] === 'open').map((c) => c.close()));
  let active = -1;
  for (let i = 0; i < 200 && active !== 0; i++) active = (await health(port)).activeConnections;
  t.equal(active, 0, 'the shared counter returns to 0');
});

t.test('the rate limit does not multiply by the number of workers', { skip }, async (t) => {
  const { port } = await startCluster(t, {
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '30',
    UPGRADE_RATE_LIMIT_WINDOW_MS: '86400000',
    MAX_CONNECTIONS_PER_IP: '0',
  });
  const statuses = await Promise.all(Array.from({ length: 120 }, () => rawUpgradeStatus(port, '127.0.0.7')));
  t.equal(statuses.filter((s) => s === 101).length, 30, 'one burst for the client, not one per worker');
  t.equal(statuses.filter((s) => s === 429).length, 90);
  // Each worker publishes its counters once a second: wait for both to report.
  let metrics = '';
  for (let i = 0; i < 100 && !metrics.includes('{outcome="rate"} 90\n'); i++) {
    metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (!metrics.includes('{outcome="rate"} 90\n')) await new Promise((r) => setTimeout(r, 50));
  }
  t.match(metrics, /voice_live_proxy_upgrades_total\{outcome="accepted"\} 30\n/, '/metrics sums every worker');
  t.match(metrics, /voice_live_proxy_upgrades_total\{outcome="rate"\} 90\n/);
});

t.test('a crashed worker is logged, its sessions counted out, and it is replaced', { skip }, async (t) => {
  const { child, port, url } = await startCluster(t, {}, ['--require', CRASH_PRELOAD]);
  const clients = Array.from({ length: 30 }, (_, i) => new TestClient(url, { localAddress: `127.0.2.${1 + i}` }));
  await Promise.all(clients.map((c) => c.opened));
  child.proc.kill('SIGUSR2');
  await child.line('worker replaced');
  t.ok(
    child.stdout.some((l) => l.includes('"worker crashed"')),
    'the crash is logged',
  );
  const survivors = clients.filter((c) => c.ws.readyState === c.ws.OPEN).length;
  t.ok(survivors < 30 && survivors > 0, `${30 - survivors} sessions died with the worker, ${survivors} survived`);
  await until(() => clients.filter((c) => c.ws.readyState === c.ws.OPEN).length === survivors, 'closes to settle');
  t.equal((await health(port)).activeConnections, survivors, "the dead worker's slots were given back");
  const fresh = new TestClient(url);
  t.equal((await fresh.nextJson()).type, 'session.created', 'the process still serves');
});

t.test('SIGTERM drains every worker and exits 0', { skip }, async (t) => {
  const { child, port, url } = await startCluster(t, {});
  const clients = Array.from({ length: 12 }, (_, i) => new TestClient(url, { localAddress: `127.0.3.${1 + i}` }));
  await Promise.all(clients.map((c) => c.waitFor('session.created')));
  child.proc.kill('SIGTERM');
  await child.line('draining');
  // The primary tells each worker by message: every worker turns to 503 within moments.
  let inARow = 0;
  for (let i = 0; i < 300 && inARow < 10; i++) {
    inARow = (await fetch(`http://127.0.0.1:${port}/health`)).status === 503 ? inARow + 1 : 0;
  }
  t.equal(inARow, 10, '/health answers 503 from every worker');
  const codes = await Promise.all(clients.map((c) => c.closed));
  t.ok(
    codes.every((c) => c.code === 1001),
    'every session on every worker closed 1001',
  );
  t.same(await child.exited, { code: 0, signal: null });
});

t.test(
  "late upgrades on every worker are corked by that worker's anchor; SIGTERM lets go of them",
  { skip },
  async (t) => {
    const secret = 'ticket-secret-for-tests-0123456789-abcdef';
    const { child, url } = await startCluster(t, {
      CLIENT_AUTH: 'ticket',
      TICKET_SECRET: secret,
      LOG_LEVEL: 'debug',
      RATE_LIMIT_MAX_REQUESTS: '100000',
      UPGRADE_RATE_LIMIT_MAX_REQUESTS: '100000',
      MAX_CONNECTIONS_PER_IP: '1000',
    });
    await until(() => child.stdout.filter((l) => l.includes('cork anchor held')).length === 2, 'an anchor per worker');
    const clients = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const ticket = await mintTicket({ sub: `user-${i}`, secret, origin: 'http://localhost:3000' });
        return new TestClient(`${url}?model=gpt-realtime&ticket=${ticket}`);
      }),
    );
    const first = await Promise.all(clients.map(async (c) => (await c.nextJson()).type as string));
    t.same(new Set(first), new Set(['session.created']), 'every late session got its first event');
    t.equal(clients.filter((c) => c.ws.readyState !== c.ws.OPEN).length, 0, 'none was cut after its upgrade');
    await Promise.all(clients.map((c) => c.close(1000, 'bye')));
    child.proc.kill('SIGTERM');
    const { code } = await child.exited;
    t.equal(code, 0, 'drained and exited: the anchors did not hold the workers open');
  },
);

t.test('PORT=0 with workers: every worker joins the one free port the primary picked', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const { child, port, url } = await startProxyProcess(t, sim.origin, { WORKERS: '2', PORT: '0' });
  t.not(port, 0);
  t.equal((await child.line('voice-live-proxy listening')).workers, 2, 'both workers listen');
  t.equal((await health(port)).status, 'ok');
  const c = new TestClient(`${url}?model=gpt-realtime`);
  t.equal((await c.nextJson()).type, 'session.created');
  await c.close(1000, 'bye');
});

t.test('/metrics: wrong tokens spend one allowance for the process, not one per worker', { skip }, async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const { port } = await startProxyProcess(t, sim.origin, { WORKERS: '2', METRICS_TOKEN: 'z'.repeat(32) });
  const wrong = `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n\r\n`;
  // A fresh connection each time: the kernel spreads them over both workers.
  const statuses: number[] = [];
  for (let i = 0; i < 24; i++) statuses.push(await rawUpgradeStatus(port, '127.0.0.1', wrong));
  t.equal(statuses.filter((s) => s === 401).length, 10, 'ten wrong tokens in all');
  t.equal(statuses.filter((s) => s === 429).length, 14);
});
