// The /metrics usage totals: one row per (mode, model) the configuration
// allows, `other` for the rest, `agent` for agent sessions; never a caller.
import t from 'tap';
import { Metrics } from '../../src/observability/metrics';
import { MAX_MODEL_ROWS, USAGE_COLUMNS, UsageColumn, usageRows } from '../../src/observability/usage-metric-table';
import { UsageTotals } from '../../src/usage/usage-totals';
import { AudioDirection, emptyUsage } from '../../src/usage/usage-sink';

const RENDER = { activeConnections: 0, maxConnections: 1, draining: false };

t.test('rows: agent, other, then the default model and the allowed ones, at most 16 models', async (t) => {
  t.same(usageRows({ defaultModel: 'gpt-a', allowedModels: ['gpt-a', 'gpt-b', '*'] }), [
    { mode: 'agent', model: 'agent' },
    { mode: 'standard', model: 'other' },
    { mode: 'standard', model: 'gpt-a' },
    { mode: 'standard', model: 'gpt-b' },
  ]);
  const many = Array.from({ length: 40 }, (_, i) => `m${i}`);
  const rows = usageRows({ defaultModel: 'd', allowedModels: many });
  t.equal(rows.length, 2 + MAX_MODEL_ROWS);
  t.equal(rows[2].model, 'd');
});

t.test('counts land in the session row; unknown models and agents in theirs; /metrics shows them', async (t) => {
  const m = new Metrics();
  const rows = usageRows({ defaultModel: 'gpt-a', allowedModels: ['gpt-b'] });
  const totals = new UsageTotals(m.usage, rows);
  const b = { target: { mode: 'standard', label: 'gpt-b' }, usageCell: -1 };
  const stranger = { target: { mode: 'standard', label: 'gpt-unlisted' }, usageCell: -1 };
  const agent = { target: { mode: 'agent', label: 'my-agent' }, usageCell: -1 };
  totals.audioAdded(b, 1234, AudioDirection.Out);
  totals.responseDone(b, 30, {
    inputTokens: 10,
    outputTokens: 20,
    inputTextTokens: 4,
    inputAudioTokens: 6,
    outputTextTokens: 5,
    outputAudioTokens: 15,
    cachedTokens: 2,
  });
  totals.audioAdded(stranger, 10, AudioDirection.In);
  totals.sessionFinished(agent, emptyUsage(), 2500);
  const cell = (row: number, column: UsageColumn): number => m.usage[row * USAGE_COLUMNS + column];
  t.equal(cell(3, UsageColumn.AudioOutMs), 1234);
  t.equal(cell(3, UsageColumn.Responses), 1);
  t.equal(cell(3, UsageColumn.InputCachedTokens), 2);
  t.equal(cell(1, UsageColumn.AudioInMs), 10, 'a model without a row counts under other');
  t.equal(cell(0, UsageColumn.Sessions), 1);
  t.equal(cell(0, UsageColumn.SessionMs), 2500);

  const text = m.render({ ...RENDER, usageRows: rows });
  t.match(text, 'voice_live_proxy_usage_audio_seconds_total{mode="standard",model="gpt-b",direction="out"} 1.234\n');
  t.match(text, 'voice_live_proxy_usage_token_details_total{mode="standard",model="gpt-b",kind="input_cached"} 2\n');
  t.match(text, 'voice_live_proxy_usage_audio_seconds_total{mode="standard",model="other",direction="in"} 0.01\n');
  t.match(text, 'voice_live_proxy_usage_session_seconds_total{mode="agent",model="agent"} 2.5\n');
  t.notMatch(text, 'my-agent', "an agent name is the caller's to choose: never a label");
  t.notMatch(text, 'gpt-unlisted');
  t.notMatch(m.render(RENDER), 'usage_', 'no rows given, no usage series');
});

t.test('usage totals cross threads as sums (the metrics board)', async (t) => {
  const rows = usageRows({ defaultModel: 'gpt-a', allowedModels: [] });
  const one = new Metrics();
  const two = new Metrics();
  const s = { target: { mode: 'standard', label: 'gpt-a' }, usageCell: -1 };
  new UsageTotals(one.usage, rows).audioAdded({ ...s }, 1000, AudioDirection.In);
  new UsageTotals(two.usage, rows).audioAdded({ ...s }, 500, AudioDirection.In);
  const text = Metrics.renderSnapshots([one.snapshot(), two.snapshot()], { ...RENDER, usageRows: rows });
  t.match(text, 'voice_live_proxy_usage_audio_seconds_total{mode="standard",model="gpt-a",direction="in"} 1.5\n');
});
