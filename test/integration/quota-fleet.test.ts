// Daily quotas end to end: two real proxy processes sharing one real
// redis-server, the Voice Live simulator behind them, a verified caller
// (CLIENT_AUTH=ticket) with QUOTA_AUDIO_MINUTES_PER_DAY=1. The simulator
// echoes long audio as fast as it is read, so a minute of audio takes about
// a second. Stopped at one minute (give or take the response in progress),
// told why (error event, then 1008), refused at the next upgrade with
// Retry-After, and the day reads the same from either replica, from the
// `usage` command, and after a replica is killed.
import t from 'tap';
import type { Test } from 'tap';
import { Writable } from 'node:stream';
import { mintTicket } from '../../src/auth/mint-ticket';
import { runUsage } from '../../src/cli/usage';
import { startSimulator } from '../../src/simulator/simulator';
import { TEST_ORIGIN, TestClient } from '../helpers/client';
import { httpGet } from '../helpers/http-get';
import { speak, untilClosed } from '../helpers/speak';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis-server';
import { entryBuilt, spawnProxy, type Child } from '../helpers/spawn-proxy';

const skip = redisMissing() || (entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)');
const SECRET = 's'.repeat(48);

interface Replica {
  child: Child;
  port: number;
}

async function replicas(t: Test, redis: RedisServer, n: number): Promise<Replica[]> {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = spawnProxy({
        WORKERS: '1',
        PORT: '0',
        HOST: '127.0.0.1',
        AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
        AZURE_SPEECH_KEY: 'k',
        ALLOWED_ORIGINS: TEST_ORIGIN,
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '200',
        REDIS_URL: redis.url,
        FLEET_REDIS_TIMEOUT_MS: '3000',
        CLIENT_AUTH: 'ticket',
        TICKET_SECRET: SECRET,
        QUOTA_AUDIO_MINUTES_PER_DAY: '1',
        QUOTA_FLUSH_MS: '200',
        QUOTA_GRACE_MS: '20000',
      });
      t.teardown(() => {
        child.proc.kill('SIGKILL');
        if (!t.passing())
          t.comment(
            child.stdout.filter((l) => l.includes('quota') || l.includes('session') || l.includes('fleet')).join('\n'),
          );
      });
      const port = Number((await child.line('voice-live-proxy listening')).port);
      await child.line('fleet: redis up, limits shared across replicas');
      return { child, port };
    }),
  );
}

const ticket = (): Promise<string> => mintTicket({ sub: 'alice', secret: SECRET });

async function open(r: Replica): Promise<TestClient> {
  const c = new TestClient(`ws://127.0.0.1:${r.port}/ws?ticket=${await ticket()}`);
  await c.opened;
  await c.waitFor('session.created');
  return c;
}

async function usage(r: Replica): Promise<Record<string, number | boolean>> {
  const res = await httpGet(r.port, `/usage?ticket=${await ticket()}`);
  if (res.status !== 200) throw new Error(`GET /usage: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as Record<string, number | boolean>;
}

/** Polls both replicas until their answers agree (each flushes within QUOTA_FLUSH_MS). */
async function agreed(
  a: Replica,
  b: Replica,
  atLeast: number,
): Promise<[Record<string, unknown>, Record<string, unknown>]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const [ua, ub] = await Promise.all([usage(a), usage(b)]);
    if ((ua.audioMs === ub.audioMs && (ua.audioMs as number) >= atLeast) || Date.now() > deadline) return [ua, ub];
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test(
  'a verified caller through two replicas: stopped at a minute of audio, told, refused, read alike',
  { skip },
  async (t) => {
    const redis = await startRedis(t);
    const [a, b] = await replicas(t, redis, 2);

    // 20 s spoken and 20 s echoed on replica B: 40 s of the minute.
    const first = await open(b);
    speak(first, 20);
    await first.waitFor('response.done');
    await first.close(1000, 'done');
    const [ua0, ub0] = await agreed(a, b, 40_000);
    t.equal(ua0.audioMs, 40_000, 'replica A reads the 40 s used on B');
    t.same(ua0, ub0, 'both replicas answer the same');
    t.match(ua0, { caller: 'subject', exhausted: false, retryAfterSeconds: 0, shared: true });

    // 15 s more spoken on replica A (55 s), then the echo crosses the minute 5 s in.
    const second = await open(a);
    speak(second, 15);
    const heard = await untilClosed(second);
    const close = await second.closed;
    t.same(close, { code: 1008, reason: 'Usage quota exhausted' }, 'closed 1008 with the reason');
    const done = heard.types.lastIndexOf('response.done');
    t.ok(done >= 0, 'the response in progress finished');
    t.equal(heard.types.at(-1), 'error', 'then the error event, last');
    t.same(heard.last, {
      type: 'error',
      error: { type: 'invalid_request_error', code: 'quota_exhausted', message: 'Usage quota exhausted' },
    });
    t.ok(Math.abs(heard.outMs - 15_000) < 50, `the whole echo was heard, nothing cut (${heard.outMs} ms)`);

    // The day: one minute, give or take the response that was let finish (10 s past it here).
    const [ua, ub] = await agreed(a, b, 70_000);
    t.equal(ua.audioMs, 70_000, 'the fleet counted 40 s + 15 s + 15 s');
    t.same(ua, ub, 'the same day from either replica');
    t.equal(ua.exhausted, true);
    t.ok((ua.retryAfterSeconds as number) >= 1 && (ua.retryAfterSeconds as number) <= 86_400);

    // The operator's command reads the same.
    let out = '';
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        out += c.toString();
        cb();
      },
    });
    const code = await runUsage(
      ['--subject', 'alice'],
      { REDIS_URL: redis.url, QUOTA_AUDIO_MINUTES_PER_DAY: '1' },
      sink,
    );
    t.equal(code, 0);
    t.match(JSON.parse(out), { caller: 'sub:alice', audioMs: 70_000, exhausted: true });

    // The next upgrade, on either replica: 429 quota_exhausted with Retry-After.
    for (const r of [a, b]) {
      const c = new TestClient(`ws://127.0.0.1:${r.port}/ws?ticket=${await ticket()}`);
      const refused = await c.refused;
      t.equal(refused.status, 429);
      t.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'quota_exhausted');
      const retry = Number(refused.headers['retry-after']);
      t.ok(retry >= 1 && Math.abs(retry - (ua.retryAfterSeconds as number)) <= 2, `Retry-After: ${retry}`);
    }
    // Another user is not affected.
    const bob = new TestClient(
      `ws://127.0.0.1:${b.port}/ws?ticket=${await mintTicket({ sub: 'bob', secret: SECRET })}`,
    );
    await bob.opened;
    await bob.close(1000, 'done');

    // A replica killed: what it flushed stays in the day.
    a.child.proc.kill('SIGKILL');
    await a.child.exited;
    t.equal((await usage(b)).audioMs, 70_000, 'the day survives replica A being killed');
  },
);
