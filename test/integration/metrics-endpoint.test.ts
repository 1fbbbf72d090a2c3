// /metrics over a real socket: Prometheus text that counts what happened.
import t from 'tap';
import { startHarness } from '../helpers/harness';

function value(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

t.test('/metrics counts upgrades, frames, bytes and closes', async (t) => {
  const h = await startHarness(t);
  const c = h.client();
  await c.waitFor('session.created');
  c.send(JSON.stringify({ type: 'simulator.echo_raw' }));
  c.send(Buffer.alloc(1000), true);
  await c.next();
  await c.close(1000);
  await h.logLine('session closed');
  await h.client('', { origin: 'http://evil.com' }).refused;

  const res = await h.http('/metrics');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  t.equal(value(body, 'voice_live_proxy_upgrades_total{outcome="accepted"}'), 1);
  t.equal(value(body, 'voice_live_proxy_upgrades_total{outcome="origin"}'), 1);
  t.equal(value(body, 'voice_live_proxy_upstream_connects_total{outcome="ok"}'), 1);
  t.equal(value(body, 'voice_live_proxy_frames_total{direction="client_to_upstream"}'), 2);
  t.ok(value(body, 'voice_live_proxy_frames_total{direction="upstream_to_client"}') >= 2);
  t.equal(value(body, 'voice_live_proxy_bytes_total{direction="client_to_upstream"}'), 1000 + 29);
  t.equal(value(body, 'voice_live_proxy_closes_total{initiator="client"}'), 1);
  t.equal(value(body, 'voice_live_proxy_active_connections'), 0);
  t.equal(value(body, 'voice_live_proxy_upstream_connect_duration_seconds_count'), 1);
  t.ok(value(body, 'process_resident_memory_bytes') > 0);
});

const TOKEN = 'tok-0123456789abcdef-0123456789abcdef';

t.test('METRICS_TOKEN guards /metrics', async (t) => {
  const h = await startHarness(t, { METRICS_TOKEN: TOKEN });
  const bare = await h.http('/metrics');
  t.equal(bare.status, 401);
  t.equal(bare.headers.get('www-authenticate'), 'Bearer realm="metrics"', 'a 401 names its scheme');
  t.equal((await h.http('/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401);
  t.equal((await h.http('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
});
