// The shape of the docs: a README that is a door (short, a table of contents
// into docs/, the two quick-start commands), and one decision record per
// measured choice, each with its sections. Code comments link to these files.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readPage } from '../helpers/doc-pages';

/** The records code comments link to, by these exact names. */
const DECISIONS = [
  '0001-own-upstream-frame-parser.md',
  '0002-outbox-corking.md',
  '0003-cork-anchor.md',
  '0004-young-generation.md',
  '0005-ping-slots.md',
  '0006-shared-tls-context.md',
  '0007-buffer-budget.md',
  '0008-message-assembly.md',
  '0009-keyless-token-after-upgrade.md',
  '0010-worker-threads.md',
  '0011-tls-certificate-swap.md',
  '0012-usage-scan.md',
];
const SECTIONS = ['## Context', '## Decision', '## Measurement', '## Consequences'];

t.test('the README is at most 300 lines, with a table of contents into docs/', async (t) => {
  const readme = readPage('README.md');
  const lines = readme.text.split('\n').length;
  t.ok(lines <= 300, `${lines} lines`);
  const start = readme.text.indexOf('\n## Contents\n');
  t.ok(start > 0, 'a Contents section');
  const toc = readme.text.slice(start, readme.text.indexOf('\n## ', start + 1));
  const targets = [...toc.matchAll(/\]\(([^)#\s]+)/g)].map((m) => m[1]);
  for (const page of [
    'docs/configuration.md',
    'docs/clients.md',
    'docs/security.md',
    'docs/operations.md',
    'docs/performance.md',
    'docs/deploy/README.md',
    'docs/deploy/docker.md',
    'docs/deploy/compose-fleet.md',
    'docs/deploy/kubernetes.md',
    'docs/deploy/container-apps.md',
    'docs/deploy/app-service.md',
    'docs/deploy/vms-load-balancer.md',
    'docs/deploy/pm2.md',
  ]) {
    t.ok(targets.includes(page), `the contents link ${page}`);
  }
  t.match(toc, /\]\(#quick-start\)/, 'and the quick start');
});

t.test('the quick start gives the demo and the test command CI runs', async (t) => {
  const readme = readPage('README.md').text;
  const start = readme.indexOf('\n## Quick start\n');
  const quick = readme.slice(start, readme.indexOf('\n## ', start + 1));
  t.match(quick, /npm run demo/);
  t.match(quick, /^npm ci && npm test\b.*\.ci\/run/m, 'npm test, said to be what .ci/run runs');
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    .trim()
    .split('\n');
  t.equal(ci[ci.length - 1], 'npm test', '.ci/run ends by running npm test');
});

t.test('every decision record exists, is indexed, and has its sections', async (t) => {
  const dir = join(ROOT, 'docs', 'decisions');
  const index = readFileSync(join(dir, 'README.md'), 'utf8');
  for (const name of DECISIONS) {
    const path = join(dir, name);
    t.ok(existsSync(path), `${name} exists`);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    t.match(text, new RegExp(`^# ${name.slice(0, 4)}\\. `), `${name}: titled with its number`);
    let at = -1;
    for (const s of SECTIONS) {
      const i = text.indexOf(`\n${s}\n`);
      t.ok(i > at, `${name}: ${s}, in order`);
      at = i;
    }
    t.ok(index.includes(`(${name})`), `${name} is in the index`);
  }
  const others = readdirSync(dir).filter((f) => !DECISIONS.includes(f));
  t.same(others.sort(), ['0000-template.md', 'README.md'], 'nothing else in docs/decisions/');
});

t.test('no page reads like a diary', async (t) => {
  for (const path of ['README.md', 'docs/clients.md', 'docs/operations.md', 'docs/security.md']) {
    const { prose } = readPage(path);
    t.notMatch(prose, /\b20\d\d-\d\d-\d\d \(|\bthis session\b|\bwe tried\b/i, path);
  }
  const perf = readPage('docs/performance.md').prose;
  t.notMatch(perf, /\(early morning\)|\(late night\)|\(afternoon\)|\(evening\)|\bthis session\b/i, 'performance.md');
});
