// ALLOWED_MODELS (docs/contract.md §4): the operator's key or resource is spent on
// the model, so a client picks only among the allowed ones. Anything else is a
// request error and the upstream is never contacted.
import t, { type Test } from 'tap';
import { startHarness } from '../helpers/harness';
import { startWsUpstream } from '../helpers/ws-upstream';
import { loadConfig } from '../../src/config';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';

async function setup(t: Test, env: Record<string, string> = {}) {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin, ...env });
  return { up, h };
}

function model(url: string): string | null {
  return new URL(url, 'ws://x').searchParams.get('model');
}

async function refused(t: Test, h: Awaited<ReturnType<typeof startHarness>>, query: string): Promise<void> {
  const c = h.client(query);
  const ev = await c.nextJson();
  t.same(
    ev,
    {
      type: 'error',
      error: { type: 'invalid_request_error', code: 'model_not_allowed', message: 'Model not allowed' },
    },
    query,
  );
  const closed = await c.closed;
  t.equal(closed.code, 1008);
  t.equal(closed.reason, 'Model not allowed');
}

t.test('default: DEFAULT_MODEL alone; any other model is refused before the upstream', async (t) => {
  const { up, h } = await setup(t);
  await refused(t, h, 'model=gpt-4o-realtime-preview');
  await refused(t, h, `model=gpt-realtime-mini&token=${JWT}`); // the client's own token does not widen it
  t.equal(up.conns.length, 0, 'the upstream was never contacted');
  t.equal(h.proxy.metrics.upgradesInvalid, 2);
  t.equal(h.proxy.gate.counter.active, 0);
  const line = await h.logLine('request refused after upgrade');
  t.equal(line.error, 'model_not_allowed');

  const plain = h.client();
  await plain.opened;
  t.equal(model((await up.nextConnection()).url), 'gpt-realtime', 'no model: the server default, always allowed');
  const named = h.client('model=gpt-realtime');
  await named.opened;
  t.equal(model((await up.nextConnection()).url), 'gpt-realtime', 'the default named explicitly');
});

t.test('ALLOWED_MODELS widens the list; DEFAULT_MODEL stays allowed', async (t) => {
  const { up, h } = await setup(t, {
    ALLOWED_MODELS: 'gpt-realtime-mini, gpt-4o-mini-realtime-preview',
    DEFAULT_MODEL: 'gpt-realtime',
  });
  const mini = h.client('model=gpt-realtime-mini');
  await mini.opened;
  t.equal(model((await up.nextConnection()).url), 'gpt-realtime-mini');
  const plain = h.client();
  await plain.opened;
  t.equal(model((await up.nextConnection()).url), 'gpt-realtime');
  await refused(t, h, 'model=gpt-realtime-MINI');
  t.equal(up.conns.length, 2);
});

t.test('agent sessions are not model sessions: the list does not apply', async (t) => {
  const { up, h } = await setup(t);
  const c = h.client(`agentId=asst_1&projectName=p&token=${JWT}&model=anything`);
  await c.opened;
  const u = await up.nextConnection();
  t.equal(model(u.url), null);
});

t.test('ALLOWED_MODELS=* lets any model through', async (t) => {
  const { up, h } = await setup(t, { ALLOWED_MODELS: '*' });
  const c = h.client('model=whatever-1');
  await c.opened;
  t.equal(model((await up.nextConnection()).url), 'whatever-1');
});

t.test('ALLOWED_MODELS and DEFAULT_MODEL are validated', async (t) => {
  const base = { AZURE_AI_FOUNDRY_RESOURCE: 'r' };
  t.same(loadConfig(base).allowedModels, ['gpt-realtime']);
  t.same(loadConfig({ ...base, ALLOWED_MODELS: 'a,b', DEFAULT_MODEL: 'c' }).allowedModels, ['c', 'a', 'b']);
  t.same(loadConfig({ ...base, ALLOWED_MODELS: 'a,*' }).allowedModels, ['*']);
  t.throws(() => loadConfig({ ...base, ALLOWED_MODELS: 'a,b c' }), /^ALLOWED_MODELS: /);
  t.throws(() => loadConfig({ ...base, DEFAULT_MODEL: 'x&y' }), /^DEFAULT_MODEL: /);
});
