import t from 'tap';
import { Metrics } from '../../src/observability/metrics';
import { TelemetryPump } from '../../src/observability/telemetry-pump';
import type { Telemetry } from '../../src/observability/telemetry';
import { usageRows } from '../../src/observability/usage-metric-table';
import { UsageTotals } from '../../src/usage/usage-totals';
import { AudioDirection } from '../../src/usage/usage-sink';

function recorder(): Telemetry & { sent: Array<[string, number]> } {
  const sent: Array<[string, number]> = [];
  return {
    sent,
    trackEvent() {},
    trackMetric(name: string, value: number) {
      sent.push([name, value]);
    },
    flush: () => Promise.resolve(),
  };
}

t.test('sends what each counter grew by, and the gauge only where asked', async (t) => {
  const m = new Metrics();
  const tel = recorder();
  const pump = new TelemetryPump(tel, m, () => 7);
  m.upgradesAccepted = 3;
  m.framesClientToUpstream = 100;
  pump.send();
  t.same(tel.sent, [
    ['upgradesAccepted', 3],
    ['framesClientToUpstream', 100],
    ['activeConnections', 7],
  ]);
  tel.sent.length = 0;
  m.framesClientToUpstream = 150;
  pump.send();
  t.same(
    tel.sent,
    [
      ['framesClientToUpstream', 50],
      ['activeConnections', 7],
    ],
    'deltas, not totals; unchanged counters are skipped',
  );

  const other = recorder();
  const quiet = new TelemetryPump(other, m, null);
  quiet.start(5);
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (other.sent.length > 0) {
        clearInterval(check);
        resolve();
      }
    }, 1);
  });
  quiet.stop();
  t.notOk(
    other.sent.some(([n]) => n === 'activeConnections'),
    'a thread without the gauge never sends it',
  );
});

t.test('usage totals go as what they grew by, summed over every mode and model, in their units', async (t) => {
  const m = new Metrics();
  const tel = recorder();
  const pump = new TelemetryPump(tel, m, null);
  const rows = usageRows({ defaultModel: 'gpt-a', allowedModels: ['gpt-b'] });
  const totals = new UsageTotals(m.usage, rows);
  const a = { target: { mode: 'standard', label: 'gpt-a' }, usageCell: -1 };
  const agent = { target: { mode: 'agent', label: 'some-agent' }, usageCell: -1 };
  totals.audioAdded(a, 1500, AudioDirection.In);
  totals.audioAdded(agent, 500, AudioDirection.In);
  totals.audioAdded(a, 250, AudioDirection.Out);
  pump.send();
  t.same(tel.sent, [
    ['usageAudioInSeconds', 2],
    ['usageAudioOutSeconds', 0.25],
  ]);
  tel.sent.length = 0;
  totals.audioAdded(agent, 1000, AudioDirection.In);
  pump.send();
  t.same(tel.sent, [['usageAudioInSeconds', 1]]);
});
