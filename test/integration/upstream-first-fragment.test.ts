// The upstream direction of an unfinished fragmented message: the proxy's own
// parser assembles it (message-assembly.ts), so unlike a browser's it is
// charged to BUFFER_BUDGET_BYTES, from the first fragment on, and stays
// charged while only pings follow.
import t from 'tap';
import { startHarness } from '../helpers/harness';
import { until } from '../helpers/wait';
import { startRawUpstream, serverFrame } from '../helpers/raw-upstream';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Not charged: the frame one read cut (src/relay/accounting.ts ASSEMBLY_SLACK_BYTES). */
const SLACK = 64 * KIB;

t.test('a 2 MiB first fragment (FIN=0) then only pings: charged, and given back at the end', async (t) => {
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  const budget = h.proxy.relay.budget;
  const c = h.client();
  await c.opened;
  const u = await up.nextConnection();
  await until(() => [...h.proxy.relay.sessions].some((s) => s.upstreamOpen), 'the upstream to open');
  const s = [...h.proxy.relay.sessions][0];

  await u.write(serverFrame(2, Buffer.alloc(2 * MIB, 5), { fin: false }));
  await until(() => s.heldAssembly >= 2 * MIB, 'the first fragment to be held');
  for (let i = 0; i < 5; i++) await u.write(serverFrame(9, `ping-${i}`));
  await until(() => u.pongs.length === 5, 'the pings answered');
  t.ok(s.heldAssembly >= 2 * MIB, `held ${s.heldAssembly} bytes`);
  t.ok(budget.heldKiB * KIB >= 2 * MIB - SLACK, `charged ${budget.heldKiB} KiB`);

  c.ws.close();
  await u.closed;
  u.socket.end();
  await until(() => h.proxy.relay.sessions.size === 0, 'the session to end');
  t.equal(budget.heldKiB, 0, 'given back');
});
