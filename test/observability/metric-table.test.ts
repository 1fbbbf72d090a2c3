// The metrics table in docs/operations.md is the metric tables (as test/errors.test.ts
// holds the errors list to src/errors.ts): every series /metrics can export
// is a row with its type and labels, and there is no row for anything else.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COUNTERS,
  GAUGES,
  PROXY_METRICS,
  UPGRADE_FIELDS,
  type HistogramDef,
  type MetricDef,
} from '../../src/observability/metric-table';
import { Metrics } from '../../src/observability/metrics';
import { NODE_METRICS } from '../../src/observability/node-metric-table';
import { PUMPED, PUMPED_GAUGE } from '../../src/observability/telemetry-pump';

const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
const ALL: readonly MetricDef[] = [...PROXY_METRICS, ...NODE_METRICS];

interface Row {
  readonly type: string;
  /** Label name -> the values the doc lists (null: none listed); `le` is kept apart. */
  readonly labels: Map<string, string[] | null>;
  readonly le: string | null;
}

const backticked = (s: string): string[] => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** `metric` -> its row, from the table under "## Metrics". */
function readmeRows(): Map<string, Row> {
  const start = DOC.indexOf('\n## Metrics\n');
  const section = DOC.slice(start, DOC.indexOf('\n## ', start + 1));
  const rows = new Map<string, Row>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const [names, type, labelCell] = line
      .split('|')
      .slice(1, 4)
      .map((c) => c.trim());
    const labels = new Map<string, string[] | null>();
    let le: string | null = null;
    for (const group of labelCell
      .split(';')
      .map((g) => g.trim())
      .filter((g) => g !== '')) {
      const eq = group.indexOf(' = ');
      if (eq === -1) {
        // `version`, `major`, ... (names only), or `space` (`old`, ...) (examples, not a fixed set).
        const tokens = backticked(group);
        if (group.includes('(')) labels.set(tokens[0], null);
        else for (const name of tokens) labels.set(name, null);
        continue;
      }
      const [name] = backticked(group.slice(0, eq));
      if (name === 'le') le = group.slice(eq + 3).trim();
      else labels.set(name, backticked(group.slice(eq + 3)));
    }
    for (const name of backticked(names)) {
      if (rows.has(name)) throw new Error(`${name} has two rows in docs/operations.md`);
      rows.set(name, { type, labels, le });
    }
  }
  return rows;
}

t.test(
  'every metric has one row in docs/operations.md with its type and labels, and every row is a metric',
  async (t) => {
    const rows = readmeRows();
    t.ok(rows.size > 40, 'the table was found');
    t.same([...rows.keys()].sort(), ALL.map((d) => d.name).sort(), 'the same names');
    for (const def of ALL) {
      const row = rows.get(def.name);
      if (row === undefined) continue;
      t.equal(row.type, def.type, `${def.name}: type`);
      t.same([...row.labels.keys()].sort(), Object.keys(def.labels).sort(), `${def.name}: label names`);
      for (const [label, values] of row.labels) {
        const fixed = def.labels[label];
        if (values !== null && fixed !== null && fixed !== undefined)
          t.same(values, fixed, `${def.name}: ${label} values`);
      }
      if (def.type === 'histogram') {
        const b = (def as HistogramDef).buckets;
        t.equal(row.le, `${b[0]} ... ${b[b.length - 1]}`, `${def.name}: le from the first to the last bucket`);
      } else {
        t.equal(row.le, null, `${def.name}: no le`);
      }
    }
  },
);

t.test('no name twice, and every counter field in exactly one series', async (t) => {
  const names = ALL.map((d) => d.name);
  t.equal(new Set(names).size, names.length);
  const fields = COUNTERS.flatMap((d) => d.series.map((s) => s.field));
  t.equal(new Set(fields).size, fields.length);
  const m = new Metrics() as unknown as Record<string, unknown>;
  const GAUGE_FIELDS = ['fleetEnabled', 'fleetRedisUp', 'fleetLeases', 'serverTokenExpiresAt', 'tlsCertExpiresAt'];
  const numeric = Object.keys(m).filter((k) => typeof m[k] === 'number' && !GAUGE_FIELDS.includes(k));
  t.same(numeric.sort(), [...fields].sort(), 'a new counter field needs its series in the table');
});

t.test('upgrade outcomes count into the series of the same label', async (t) => {
  const upgrades = COUNTERS.find((d) => d.name === 'voice_live_proxy_upgrades_total');
  t.same(
    Object.entries(UPGRADE_FIELDS),
    upgrades?.series.map((s) => [s.value, s.field]),
  );
});

t.test(
  'Application Insights gets every series of the marked counters, and docs/operations.md names them',
  async (t) => {
    const marked = COUNTERS.filter((d) => d.appInsights);
    t.same(
      PUMPED,
      marked.flatMap((d) => d.series.map((s) => s.field)),
      'every series of each marked counter',
    );
    t.same(
      Object.entries(GAUGES)
        .filter(([, d]) => d.appInsights)
        .map(([key]) => key),
      [PUMPED_GAUGE],
      'the one gauge sent is the live connection count',
    );
    for (const field of ['upgradesIpCapacity', 'authOk', 'bufferBudgetSheds', 'fleetRedisErrors'])
      t.ok(PUMPED.includes(field as (typeof PUMPED)[number]), `${field} is sent`);
    const para = DOC.slice(DOC.indexOf('With `APPLICATIONINSIGHTS_CONNECTION_STRING` set'));
    const named = backticked(para.slice(0, para.indexOf('\n\n'))).filter((n) => n.startsWith('voice_live_proxy_'));
    t.same(named.sort(), marked.map((d) => d.name).sort(), 'docs/operations.md lists the counters sent');
  },
);
