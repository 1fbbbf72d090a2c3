// WORKERS=0 follows the container's CPU quota (cgroup v2 cpu.max, v1
// cfs_quota_us / cfs_period_us), read under a root a test can fake.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoWorkers, cgroupCpuQuota } from '../../src/cluster/cpu-quota';

function root(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-cpu-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

t.test('cgroup v2 cpu.max', async (t) => {
  t.equal(cgroupCpuQuota(root(t, { 'cpu.max': 'max 100000\n' })), 0, 'max: no quota');
  t.equal(cgroupCpuQuota(root(t, { 'cpu.max': '200000 100000\n' })), 2);
  t.equal(cgroupCpuQuota(root(t, { 'cpu.max': '150000 100000\n' })), 1.5);
  t.equal(cgroupCpuQuota(root(t, { 'cpu.max': 'junk' })), 0, 'nonsense: no quota');
});

t.test('cgroup v1 cfs quota and period', async (t) => {
  const v1 = (quota: string, dir = 'cpu') =>
    root(t, { [`${dir}/cpu.cfs_quota_us`]: quota, [`${dir}/cpu.cfs_period_us`]: '100000\n' });
  t.equal(cgroupCpuQuota(v1('300000\n')), 3);
  t.equal(cgroupCpuQuota(v1('-1\n')), 0, '-1: no quota');
  t.equal(cgroupCpuQuota(v1('50000\n', 'cpu,cpuacct')), 0.5);
});

t.test('no cgroup files: no quota', async (t) => {
  t.equal(cgroupCpuQuota(root(t, {})), 0);
  t.equal(cgroupCpuQuota('/nonexistent/cgroup'), 0);
});

t.test('the worker count: the quota rounded up, at most the cores node sees, at least one', async (t) => {
  t.equal(autoWorkers(root(t, { 'cpu.max': '200000 100000' }), 64), 2, 'cpu: 2.0 on a 64-core host');
  t.equal(autoWorkers(root(t, { 'cpu.max': '150000 100000' }), 64), 2, '1.5 CPUs: 2');
  t.equal(autoWorkers(root(t, { 'cpu.max': '25000 100000' }), 64), 1, 'a quarter CPU: 1');
  t.equal(autoWorkers(root(t, { 'cpu.max': '800000 100000' }), 4), 4, 'never more than the cores');
  t.equal(autoWorkers(root(t, { 'cpu.max': 'max 100000' }), 6), 6, 'no quota: every core');
  t.equal(autoWorkers(root(t, {}), 3), 3);
});
