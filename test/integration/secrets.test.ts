// Secrets never reach a log line, a client-facing error, or /metrics, at any
// log level (docs/contract.md §4): a full session at trace level, searched for each secret.
import t from 'tap';
import { startHarness, TEST_KEY } from '../helpers/harness';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOiJ0b2tlbiJ9.U2VjcmV0U2lnbmF0dXJlVmFsdWU';
const METRICS_TOKEN = 'metrics-secret-token-42-0123456789abcdef';

t.test('no secret in logs, client errors or metrics', async (t) => {
  const h = await startHarness(t, { LOG_LEVEL: 'trace', METRICS_TOKEN });
  const seen: string[] = [];

  // Agent mode: the token travels as Bearer and as agent-access-token.
  const agent = h.client(`agentId=asst_1&projectName=proj&token=${TOKEN}`);
  const created = await agent.nextJson();
  t.equal(created.type, 'session.created');
  agent.send(JSON.stringify({ type: 'simulator.close', code: 4000, reason: 'done' }));
  seen.push((await agent.closed).reason);

  // Standard mode with the server key and with a client token.
  for (const q of ['', `token=${TOKEN}`]) {
    const c = h.client(q);
    await c.waitFor('session.created');
    seen.push((await c.close(1000, 'bye')).reason);
  }

  // A request error, an upstream refusal and a metrics call with a wrong token.
  const bad = h.client(`agentId=asst_1&projectName=proj&token=${TOKEN}&apiVersion=1999-01-01`);
  seen.push(JSON.stringify(await bad.nextJson()), (await bad.closed).reason);
  const refusedSim = await startHarness(t, { LOG_LEVEL: 'trace' }, { rejectStatus: 401 });
  const refused = refusedSim.client(`token=${TOKEN}`);
  seen.push((await refused.closed).reason);
  const unauthorized = await h.http('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(unauthorized.status, 401);
  seen.push(await unauthorized.text());
  const metrics = await h.http('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  t.equal(metrics.status, 200);
  seen.push(await metrics.text());

  await h.logLine('"closedBy":"client"');
  const logs = [...h.logs, ...refusedSim.logs].join('\n');
  t.ok(h.logs.length >= 10, `captured ${h.logs.length} log lines at trace level`);
  t.match(logs, /session open/);
  t.match(logs, /upstream refused the handshake/);
  const everything = `${logs}\n${seen.join('\n')}`;
  for (const [name, secret] of [
    ['api key', TEST_KEY],
    ['token', TOKEN],
    ['token signature', 'U2VjcmV0U2lnbmF0dXJlVmFsdWU'],
    ['metrics token', METRICS_TOKEN],
  ]) {
    t.notOk(everything.includes(secret), `${name} appears nowhere`);
  }
  t.notMatch(everything, /Bearer [A-Za-z0-9]/, 'no Authorization value');
  t.notMatch(everything, /agent-access-token=[^[&\s"]/, 'no agent-access-token value');
});
