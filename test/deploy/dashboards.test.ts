// deploy/grafana-dashboard.json and deploy/prometheus-alerts.yaml parse, and
// every series they query is one the proxy's /metrics really exports.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startHarness } from '../helpers/harness';
import { redisMissing, startRedis } from '../helpers/redis-server';

const ROOT = join(__dirname, '..', '..');

/** Metric names in a PromQL expression (ours have these prefixes), histogram suffixes stripped. */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:voice_live_proxy|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return names.map((n) => n.replace(/_duration_seconds_(bucket|sum|count)$/, '_duration_seconds'));
}

function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const ch of expr.replace(/"[^"]*"/g, '')) {
    if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

t.test('every family /metrics exports is in the metrics table of docs/operations.md', async (t) => {
  const h = await startHarness(t);
  const body = await (await h.http('/metrics')).text();
  const readme = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const families = body
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]);
  t.ok(families.length > 40);
  for (const f of families) t.ok(readme.includes(`| \`${f}\``) || readme.includes(`, \`${f}\``), `${f} documented`);
});

t.test('dashboard and alert rules query only series /metrics exports', { skip: redisMissing() }, async (t) => {
  // With the fleet on, so that its series (rendered only with REDIS_URL) are there too.
  const redis = await startRedis(t);
  const h = await startHarness(t, { REDIS_URL: redis.url, FLEET_KEY_PREFIX: 'dash' });
  await h.logLine('fleet: redis up');
  const body = await (await h.http('/metrics')).text();
  const exported = new Set(
    body
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]),
  );
  t.ok(exported.has('process_open_fds') && exported.has('nodejs_gc_duration_seconds'), 'the standard series are there');
  // Rendered only with TLS_CERT_FILE (test/integration/tls.test.ts reads it from /metrics).
  exported.add('voice_live_proxy_tls_certificate_expiry_timestamp_seconds');

  const dash = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
    title: string;
    uid: string;
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    templating: { list: Array<{ query: unknown; definition?: string }> };
  };
  t.equal(dash.uid, 'voice-live-proxy');
  const exprs: Array<[string, string]> = [];
  for (const p of dash.panels) {
    t.ok(p.targets.length > 0, `${p.title}: has a query`);
    for (const q of p.targets) exprs.push([`panel ${p.title}`, q.expr]);
  }
  for (const v of dash.templating.list) if (v.definition !== undefined) exprs.push(['variable', v.definition]);

  const rules = parse(readFileSync(join(ROOT, 'deploy', 'prometheus-alerts.yaml'), 'utf8')) as {
    groups: Array<{
      name: string;
      rules: Array<{ alert: string; expr: string; for?: string; labels: { severity: string } }>;
    }>;
  };
  t.ok(rules.groups.length > 0);
  for (const g of rules.groups) {
    for (const r of g.rules) {
      t.match(r.alert, /^VoiceLiveProxy[A-Za-z]+$/, 'alert name');
      t.match(r.labels.severity, /^(critical|warning|info)$/, `${r.alert}: severity`);
      t.match(r.for ?? '', /^\d+m$/, `${r.alert}: fires only when it lasts`);
      exprs.push([`alert ${r.alert}`, r.expr]);
    }
  }

  const used = new Set<string>();
  for (const [where, expr] of exprs) {
    t.ok(balanced(expr), `${where}: brackets balance`);
    const names = metricNames(expr);
    t.ok(names.length > 0, `${where}: queries a proxy series`);
    for (const n of names) {
      used.add(n);
      t.ok(exported.has(n), `${where}: ${n} is exported`);
    }
  }
  for (const must of [
    'process_open_fds',
    'process_max_fds',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_gc_duration_seconds',
    'voice_live_proxy_active_connections',
  ]) {
    t.ok(used.has(must), `${must} is charted or alerted on`);
  }
});
