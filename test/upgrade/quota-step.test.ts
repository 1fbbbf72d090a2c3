// The quota step's answers: admit, 429 quota_exhausted with the computed
// Retry-After, or 503 fleet_unavailable when Redis cannot say (closed mode).
import t from 'tap';
import { quotaStep } from '../../src/upgrade/quota-step';
import { countRefusal, STEP_LOG } from '../../src/upgrade/refusal';
import { Metrics } from '../../src/observability/metrics';

t.test('quotaStep', async (t) => {
  t.equal(quotaStep(0, 'sub:a'), null, 'under every quota: admitted');
  const r = quotaStep(3600, 'sub:a')!;
  t.match(r, {
    step: 'quota',
    error: { code: 'quota_exhausted', status: 429 },
    retryAfter: 3600,
    outcome: 'quota',
    detail: { outcome: 'quota', caller: 'sub:a' },
  });
  const down = quotaStep(-1, 'ip:10.0.0.1')!;
  t.match(down, { step: 'quota', error: { code: 'fleet_unavailable', status: 503 }, outcome: 'fleet_unavailable' });
  t.equal(down.retryAfter, 5, "the error's own Retry-After");
  const m = new Metrics();
  countRefusal(m, r);
  countRefusal(m, down);
  t.equal(m.upgradesQuota, 1, 'counted as outcome="quota"');
  t.equal(m.upgradesFleetUnavailable, 1);
  t.same(STEP_LOG.quota, { level: 'info', msg: 'caller over quota' });
});
