// Daily quotas on one proxy without Redis (per process), browser -> proxy ->
// simulator: per address without CLIENT_AUTH (two loopback addresses are two
// callers), refused at the upgrade with Retry-After once spent, and GET /usage
// answering each caller its own day and nobody else's.
import t from 'tap';
import { mintTicket } from '../../src/auth/mint-ticket';
import { startHarness } from '../helpers/harness';
import { TEST_ORIGIN } from '../helpers/client';
import { httpGet } from '../helpers/http-get';
import { speak, untilClosed } from '../helpers/speak';

t.test('per address: spent, closed 1008 after the response, refused 429, its own /usage only', async (t) => {
  const h = await startHarness(t, { QUOTA_AUDIO_MINUTES_PER_DAY: '1', LOG_LEVEL: 'info' });
  const c = h.client('', { localAddress: '127.0.0.2' });
  await c.waitFor('session.created');
  speak(c, 40); // 40 s in, then the echo crosses the minute 20 s in
  const { types, last, outMs } = await untilClosed(c);
  // The simulator echoes at most 30 s: past the minute either way (40 s in, then the echo).
  t.ok(outMs >= 20_000, `the echo crossed the minute and was heard whole (${outMs} ms)`);
  t.same(await c.closed, { code: 1008, reason: 'Usage quota exhausted' });
  t.ok(types.indexOf('response.done') >= 0 && types.at(-1) === 'error', 'the response finished, then the error event');
  t.match(last, { error: { code: 'quota_exhausted' } });

  const mine = JSON.parse((await httpGet(h.proxy.port, '/usage', '127.0.0.2')).body) as Record<string, unknown>;
  t.match(mine, {
    caller: 'address',
    audioMs: 40_000 + outMs,
    quota: { audioMinutesPerDay: 1, tokensPerDay: 0 },
    exhausted: true,
    shared: false,
  });
  const other = JSON.parse((await httpGet(h.proxy.port, '/usage', '127.0.0.3')).body) as Record<string, unknown>;
  t.match(other, { audioMs: 0, tokens: 0, exhausted: false, retryAfterSeconds: 0 }, 'another address sees its own day');

  const again = h.client('', { localAddress: '127.0.0.2' });
  const refused = await again.refused;
  t.equal(refused.status, 429);
  t.match(JSON.parse(refused.body), { error: { code: 'quota_exhausted', message: 'Usage quota exhausted' } });
  // The same moment, counted down: at most a second apart (the two answers straddle a second).
  const retry = Number(refused.headers['retry-after']);
  t.ok(Math.abs(retry - (mine.retryAfterSeconds as number)) <= 1, `Retry-After: when the window frees up (${retry} s)`);
  const metrics = await (await h.http('/metrics')).text();
  t.match(metrics, /^voice_live_proxy_upgrades_total\{outcome="quota"\} 1$/m);
  t.match(metrics, /^voice_live_proxy_quota_closes_total 1$/m);

  const fresh = h.client('', { localAddress: '127.0.0.3' });
  await fresh.opened;
  t.pass('another address is admitted');
});

t.test('GET /usage with CLIENT_AUTH: the verified ticket names the caller; a bad one is refused', async (t) => {
  const secret = 'q'.repeat(48);
  const h = await startHarness(t, {
    QUOTA_TOKENS_PER_DAY: '1000',
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: secret,
  });
  const c = h.client(`ticket=${await mintTicket({ sub: 'carol', secret })}`);
  await c.waitFor('session.created');
  c.send(JSON.stringify({ type: 'response.create' }));
  const done = await c.waitFor('response.done');
  await c.close(1000, 'done');
  await h.logLine('session closed');
  const tokens = (done.response.usage.input_tokens as number) + (done.response.usage.output_tokens as number);
  // The session's use reaches the day's totals within one flush (QUOTA_FLUSH_MS).
  let carol: Record<string, unknown> = {};
  for (let i = 0; i < 50 && carol.tokens !== tokens; i++) {
    const res = await httpGet(
      h.proxy.port,
      `/usage?ticket=${await mintTicket({ sub: 'carol', secret })}`,
      '127.0.0.1',
      {
        origin: TEST_ORIGIN,
      },
    );
    carol = JSON.parse(res.body) as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(carol, { caller: 'subject', tokens, quota: { tokensPerDay: 1000 }, exhausted: false });
  const dave = await httpGet(h.proxy.port, `/usage?ticket=${await mintTicket({ sub: 'dave', secret })}`);
  t.match(JSON.parse(dave.body), { caller: 'subject', tokens: 0 }, "another subject never sees carol's day");
  const none = await httpGet(h.proxy.port, '/usage');
  t.equal(none.status, 401);
  t.match(JSON.parse(none.body), { error: { code: 'auth_missing' } });
  const ticket = await mintTicket({ sub: 'carol', secret });
  t.equal((await httpGet(h.proxy.port, `/usage?ticket=${ticket}`)).status, 200);
  const replay = await httpGet(h.proxy.port, `/usage?ticket=${ticket}`);
  t.match(JSON.parse(replay.body), { error: { code: 'auth_replayed' } }, 'a ticket is single-use here too');
});

t.test('no quota and no Redis: no /usage route', async (t) => {
  const h = await startHarness(t);
  t.equal((await h.http('/usage')).status, 404);
});
