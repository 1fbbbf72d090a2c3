// A session whose browser sends nothing holds a slot: CLIENT_IDLE_TIMEOUT_MS
// gives it back (1000 `Client idle timeout`), even while the upstream talks or
// pings are answered; a browser that keeps sending keeps its session.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';

t.test('a session that sends no frame is closed 1000 Client idle timeout, and its slot is free', async (t) => {
  const h = await startHarness(t, { CLIENT_IDLE_TIMEOUT_MS: '300', MAX_CONNECTIONS_PER_IP: '2' });
  const silent = [h.client(), h.client()];
  // The upstream's session.created arrives; the browser then answers pings only.
  await Promise.all(silent.map((c) => c.waitFor('session.created')));
  t.equal(h.proxy.gate.counter.active, 2, 'both slots held');
  const talker = h.client();
  t.equal((await talker.refused).status, 503, 'the address is full while they are held');
  for (const c of silent) t.same(await c.closed, { code: 1000, reason: 'Client idle timeout' });
  await until(() => h.proxy.gate.counter.active === 0, 'slots given back');
  const closed = await h.logLine('session closed');
  t.equal(closed.error, 'client_idle');
});

t.test('a browser that keeps sending keeps its session past the bound', async (t) => {
  const h = await startHarness(t, { CLIENT_IDLE_TIMEOUT_MS: '300' });
  const c = h.client();
  await c.waitFor('session.created');
  const started = Date.now();
  let closedEarly = false;
  void c.closed.then(() => {
    closedEarly = Date.now() - started < 900;
  });
  while (Date.now() - started < 900) {
    c.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'AAAA' }));
    await new Promise((r) => setTimeout(r, 100));
  }
  t.notOk(closedEarly, 'still open after three bounds of sending');
  t.same(await c.closed, { code: 1000, reason: 'Client idle timeout' }, 'closed once it stops');
});

t.test('CLIENT_IDLE_TIMEOUT_MS defaults to 2 minutes; 0 turns it off', async (t) => {
  const { loadConfig } = await import('../../src/config');
  const base = { AZURE_AI_FOUNDRY_RESOURCE: 'r', AZURE_SPEECH_KEY: 'k'.repeat(32) };
  t.equal(loadConfig(base).clientIdleTimeoutMs, 120_000);
  t.equal(loadConfig({ ...base, CLIENT_IDLE_TIMEOUT_MS: '0' }).clientIdleTimeoutMs, 0);
});
