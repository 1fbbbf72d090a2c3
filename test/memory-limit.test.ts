import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUDGET_DEFAULT_BYTES, containerMemoryLimit, defaultBufferBudget } from '../src/memory-limit';
import { loadConfig } from '../src/config';

const dir = mkdtempSync(join(tmpdir(), 'vlp-cgroup-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

t.test('the cgroup limit: v2 number, v2 "max", v1 number, v1 "unlimited", nothing to read', async (t) => {
  t.equal(containerMemoryLimit([file('v2', '1073741824\n')]), 1073741824);
  t.equal(containerMemoryLimit([file('v2max', 'max\n')]), 0);
  t.equal(containerMemoryLimit([join(dir, 'missing'), file('v1', '536870912\n')]), 536870912, 'falls through to v1');
  t.equal(containerMemoryLimit([file('v1huge', '9223372036854771712\n')]), 0);
  t.equal(containerMemoryLimit([file('junk', 'n/a')]), 0);
  t.equal(containerMemoryLimit([join(dir, 'missing')]), 0);
});

t.test('the default budget: half the limit, else 1 GiB', async (t) => {
  t.equal(defaultBufferBudget(1024 * 1024 * 1024), 512 * 1024 * 1024);
  t.equal(defaultBufferBudget(0), BUDGET_DEFAULT_BYTES);
});

t.test('BUFFER_BUDGET_BYTES: set, defaulted, refused when out of range', async (t) => {
  const base = { AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:1' };
  t.equal(loadConfig({ ...base, BUFFER_BUDGET_BYTES: '134217728' }).bufferBudgetBytes, 134217728);
  t.equal(loadConfig(base).bufferBudgetBytes, defaultBufferBudget(containerMemoryLimit()));
  t.throws(
    () => loadConfig({ ...base, BUFFER_BUDGET_BYTES: '1000' }),
    /BUFFER_BUDGET_BYTES: expected an integer from 1048576/,
  );
  t.throws(() => loadConfig({ ...base, BUFFER_BUDGET_BYTES: 'lots' }), /BUFFER_BUDGET_BYTES/);
});
