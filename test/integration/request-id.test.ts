// The session's log key is the proxy's own request id: a client can
// send any x-ms-client-request-id, including another session's, so it is
// forwarded upstream (docs/contract.md §2) and logged as its own field, never as the key.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { startWsUpstream } from '../helpers/ws-upstream';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('two sessions sending the same client id get distinct log keys', async (t) => {
  const up = await startWsUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  const headers = { 'x-ms-client-request-id': 'victim-session-id' };
  await h.client('', { headers }).opened;
  await h.client('', { headers }).opened;
  const first = await up.nextConnection();
  const second = await up.nextConnection();
  t.equal(first.headers['x-ms-client-request-id'], 'victim-session-id', 'the client id is forwarded upstream');
  t.equal(second.headers['x-ms-client-request-id'], 'victim-session-id');
  await h.client().opened;
  const third = await up.nextConnection();
  t.match(third.headers['x-ms-client-request-id'], UUID, 'no client id: ours is forwarded');

  const opens = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'session open');
  t.equal(opens.length, 3);
  for (const l of opens) t.match(l.requestId, UUID, 'the log key is our own id');
  t.not(opens[0].requestId, opens[1].requestId, 'never shared between sessions');
  t.equal(opens[0].clientRequestId, 'victim-session-id', 'the client id has its own field');
  t.equal(opens[1].clientRequestId, 'victim-session-id');
  t.equal(opens[2].clientRequestId, '');
  t.equal(
    opens[2].requestId,
    third.headers['x-ms-client-request-id'],
    'without a client id, the id upstream is the log key',
  );
});

t.test('GET / shows the major version only', async (t) => {
  const h = await startHarness(t);
  const root = (await (await h.http('/')).json()) as Record<string, unknown>;
  t.match(root.version, /^\d+$/);
});
