// The keepalive sweep spreads its pings over the interval (src/relay/sweeper.ts):
// a tick pings one share of the sessions, picked by session id, and every
// session once per interval; pinging all of them in one callback held the
// thread for over 100 ms at 2000 TLS sessions.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';
import type { TestClient } from '../helpers/client';
import { tickInterval } from '../../src/relay/sweeper';

t.test('a sweep tick pings one share of the sessions; an interval pings each once', async (t) => {
  const h = await startHarness(t, { KEEPALIVE_INTERVAL_MS: '2000' });
  // Ticks are driven by hand below.
  h.proxy.sweeper.stop();
  const slots = Math.round(h.cfg.keepaliveIntervalMs / tickInterval(h.cfg));
  t.ok(slots > 1, `${slots} ticks per interval`);
  const clients: TestClient[] = [];
  for (let i = 0; i < 2 * slots; i++) {
    const c = h.client();
    await c.waitFor('session.created');
    clients.push(c);
  }
  // Opened one after another: ids ascend in the clients' order.
  const ids = [...h.proxy.relay.sessions].map((s) => s.id).sort((a, b) => a - b);
  t.equal(ids.length, clients.length);
  const pings = (): number => clients.reduce((n, c) => n + c.pings, 0);
  const seen = new Set<number>();
  for (let k = 0; k < slots; k++) {
    const before = clients.map((c) => c.pings);
    h.proxy.sweeper.tick(Date.now());
    await until(() => pings() === 2 * (k + 1), `tick ${k}: two pings`);
    const pinged = clients.flatMap((c, i) => (c.pings > before[i] ? [i] : []));
    t.equal(pinged.length, 2, `tick ${k} pinged 2 of ${clients.length}`);
    t.equal(ids[pinged[0]] % slots, ids[pinged[1]] % slots, 'one share: the same id modulo the slots');
    t.notOk(seen.has(ids[pinged[0]] % slots), 'a share not pinged before in this interval');
    seen.add(ids[pinged[0]] % slots);
  }
  t.same(
    clients.map((c) => c.pings),
    clients.map(() => 1),
    'every session pinged exactly once per interval',
  );
});
