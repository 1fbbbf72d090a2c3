// The buffer budget as the relay charges it (src/relay/accounting.ts), over
// real sockets: an upstream message held across reads is charged beyond one
// read's worth and released; a spent budget sheds the session holding the
// most (1013) and keeps the others; a session that ends gives its share back.
import t from 'tap';
import { Errors } from '../../src/errors';
import { UpstreamState } from '../../src/relay/session';
import { until } from '../helpers/wait';
import { startRelay } from '../helpers/relay-harness';

const KIB = 1024;
/** What accounting.ts leaves uncharged of an assembly: one read's worth. */
const SLACK = 64 * KIB;

t.test('an assembly is charged beyond one read, and released', async (t) => {
  const h = await startRelay(t);
  const { s } = await h.connect();
  await until(() => s.upstreamState === UpstreamState.Open, 'the upstream to open');
  // What the upstream leg reports when a message spans reads (UpstreamEvents.upstreamHeld).
  h.relay.upstreamHeld(s, SLACK);
  t.equal(s.heldKiB, 0, 'one read is not charged');
  h.relay.upstreamHeld(s, SLACK + 200 * KIB);
  t.equal(s.heldKiB, 200);
  t.equal(h.budget.heldKiB, 200);
  h.relay.upstreamHeld(s, 0);
  t.equal(s.heldKiB, 0);
  t.equal(h.budget.heldKiB, 0);
});

t.test('a spent budget sheds the session holding the most; a closed session gives its share back', async (t) => {
  const h = await startRelay(t, { budgetBytes: 512 * KIB });
  const small = await h.connect();
  const big = await h.connect();
  await until(
    () => small.s.upstreamState === UpstreamState.Open && big.s.upstreamState === UpstreamState.Open,
    'both upstreams to open',
  );
  h.relay.upstreamHeld(small.s, SLACK + 100 * KIB);
  h.relay.upstreamHeld(big.s, SLACK + 300 * KIB);
  t.equal(h.budget.heldKiB, 400, 'within the budget: nobody shed');
  t.equal(h.metrics.bufferBudgetSheds, 0);
  h.relay.upstreamHeld(big.s, SLACK + 450 * KIB);
  t.same(await big.browser.closed, { code: Errors.BUFFER_BUDGET.closeCode, reason: Errors.BUFFER_BUDGET.message });
  await h.finishedOf(big.s);
  t.equal(h.metrics.bufferBudgetSheds, 1, 'one shed was enough');
  t.equal(big.s.error, Errors.BUFFER_BUDGET);
  t.equal(h.budget.heldKiB, 100, "the shed session's share is given back");
  t.equal(small.s.client !== null, true, 'the smaller session stays');
  small.browser.ws.close(1000);
  await h.finishedOf(small.s);
  t.equal(h.budget.heldKiB, 0, 'a session that ends gives its share back');
});
