// Every path that takes a capacity slot gives it back exactly once: normal
// close, errors, clients gone mid-upgrade or mid-connect, upstream failures,
// shutdown. And a 10,000-upgrade flood from one IP is held by the limiter.
import t from 'tap';
import type { Test } from 'tap';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { startHarness } from '../helpers/harness';
import { rawUpgradeStatus, upgradeAndVanish } from '../helpers/raw-upgrade';
import { until } from '../helpers/wait';

// 10,000 upgrades plus 600 chaos sessions: past .taprc's 120 s on a loaded 2-core machine.
t.setTimeout(360_000);

type Behaviour = 'ok' | 'reject' | 'hang' | 'drop' | 'close';

async function chaosUpstream(t: Test): Promise<string> {
  const hanging: Array<() => void> = [];
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    verifyClient: (info, cb) => {
      const model = new URL(info.req.url ?? '', 'ws://x').searchParams.get('model') as Behaviour;
      if (model === 'reject') cb(false, 401);
      else if (model === 'hang') hanging.push(() => cb(false, 503));
      else cb(true);
    },
  });
  wss.on('connection', (ws, req) => {
    const model = new URL(req.url ?? '', 'ws://x').searchParams.get('model') as Behaviour;
    ws.on('error', () => undefined);
    if (model === 'drop') ws.terminate();
    else if (model === 'close') ws.close(4000, 'upstream done');
    else ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
  });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => {
    for (const h of hanging) h();
    for (const c of wss.clients) c.terminate();
    return new Promise((r) => wss.close(r));
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

t.test('chaos: every slot comes back exactly once', async (t) => {
  const origin = await chaosUpstream(t);
  const h = await startHarness(t, {
    AZURE_VOICE_LIVE_ENDPOINT: origin,
    MAX_CONNECTIONS: '60',
    UPSTREAM_CONNECT_TIMEOUT_MS: '200',
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '100000',
    MAX_CONNECTIONS_PER_IP: '0',
    LOG_LEVEL: 'warn',
    // The model names steer the chaos upstream.
    ALLOWED_MODELS: '*',
  });
  const scenarios: Array<() => Promise<unknown>> = [
    async () => {
      const c = h.client('model=ok');
      await c.opened;
      c.send('hi');
      await Promise.race([c.next(), c.closed]);
      await c.close(1000);
    },
    async () => {
      const c = h.client('model=ok');
      await c.opened;
      c.send('hi');
      c.ws.terminate();
    },
    async () => {
      const c = h.client('model=bad%0A');
      await c.closed;
    },
    async () => {
      const c = h.client('model=reject');
      await c.closed;
    },
    async () => {
      const c = h.client('model=hang');
      await c.closed;
    },
    async () => {
      const c = h.client('model=hang');
      await c.opened;
      c.ws.terminate();
    },
    async () => {
      const c = h.client('model=drop');
      await c.closed;
    },
    async () => {
      const c = h.client('model=close');
      await c.closed;
    },
    async () => {
      const c = h.client('model=ok', { origin: 'http://evil.com' });
      await c.refused;
    },
    () => upgradeAndVanish(h.proxy.port),
  ];
  const outcomes = { refused503: 0 };
  // 64 at a time against a cap of 60: some waves also meet the 503 path.
  let i = 0;
  async function worker(): Promise<void> {
    while (i < 600) {
      const run = scenarios[i++ % scenarios.length];
      await run().catch(() => {
        outcomes.refused503++;
      });
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker));
  await until(() => h.proxy.gate.counter.active === 0 && h.proxy.relay.sessions.size === 0, 'all slots back');
  t.equal(h.proxy.gate.counter.active, 0, 'activeConnections returns to 0');
  t.ok(h.proxy.metrics.upgradesAccepted > 150, 'many sessions ran');
  t.ok(h.proxy.metrics.upgradesInvalid > 20, 'request errors ran');
  t.comment(
    `accepted ${h.proxy.metrics.upgradesAccepted}, invalid ${h.proxy.metrics.upgradesInvalid}, capacity ${h.proxy.metrics.upgradesCapacity}, origin ${h.proxy.metrics.upgradesOrigin}`,
  );

  // Shutdown with live sessions also gives every slot back.
  const live = Array.from({ length: 20 }, () => h.client('model=ok'));
  await Promise.all(live.map((c) => c.opened));
  t.equal(h.proxy.gate.counter.active, 20);
  await h.proxy.shutdown(0);
  const codes = await Promise.all(live.map((c) => c.closed));
  t.ok(
    codes.every((c) => c.code === 1001),
    `live sessions closed 1001 at shutdown: ${JSON.stringify(codes.filter((c) => c.code !== 1001))}`,
  );
  t.equal(h.proxy.gate.counter.active, 0, 'and their slots came back');
});

t.test('a 10,000-upgrade burst from one IP: the limiter holds, memory stays flat, another IP is served', async (t) => {
  const h = await startHarness(t, {
    UPGRADE_RATE_LIMIT_MAX_REQUESTS: '50',
    UPGRADE_RATE_LIMIT_WINDOW_MS: '86400000',
    MAX_CONNECTIONS_PER_IP: '0',
    LOG_LEVEL: 'warn',
  });
  global.gc?.();
  const before = process.memoryUsage().rss;
  const counts = new Map<number, number>();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < 10_000) {
      next++;
      const status = await rawUpgradeStatus(h.proxy.port, '127.0.0.9');
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  }
  const flood = Promise.all(Array.from({ length: 64 }, worker));
  const other = h.client('', { localAddress: '127.0.0.10' });
  t.equal((await other.nextJson()).type, 'session.created', 'another IP is served during the flood');
  await flood;
  const growth = (process.memoryUsage().rss - before) / 1024 / 1024;
  t.comment(JSON.stringify([...counts]));
  t.equal(counts.get(101), 50, 'exactly the burst allowance was admitted');
  t.equal(counts.get(429), 10_000 - 50, 'everything else was refused 429');
  t.ok(growth < 60, `memory grew ${growth.toFixed(1)} MB over 10,000 upgrades`);
  t.equal(h.proxy.gate.upgradeLimiter.size, 2, 'the limiter tracks two keys');
  await until(() => h.proxy.gate.counter.active === 1, 'flood sessions closed');
  t.equal((await h.http('/health')).status, 200);
});
