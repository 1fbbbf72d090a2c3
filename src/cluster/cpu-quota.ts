// How many CPUs the container may use, read from the cgroup (v2: cpu.max;
// v1: cpu.cfs_quota_us / cpu.cfs_period_us), so WORKERS=0 starts one relay
// thread per CPU the orchestrator grants, not one per core of the host: a
// Container App with `cpu: 2.0` on a 64-core host gets two, not 64 threads
// fighting over two CPUs' worth of time.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Where the container's own cgroup is mounted (its namespace root inside a container). */
export const CGROUP_ROOT = '/sys/fs/cgroup';

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** quota / period in CPUs, or 0 for none (unlimited, unreadable or nonsense). */
function cpus(quota: number, period: number): number {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : 0;
}

/**
 * The CPU quota in CPUs (may be fractional: 1.5), or 0 when there is none.
 * v2 `cpu.max` is "<quota> <period>" or "max <period>"; v1 says "no quota"
 * with a quota of -1. Only the mount's own files are read: a nested cgroup
 * path is not followed (inside a container the root is the container's).
 */
export function cgroupCpuQuota(root: string = CGROUP_ROOT): number {
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== null) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' ? 0 : cpus(Number(quota), Number(period));
  }
  for (const dir of ['cpu', 'cpu,cpuacct']) {
    const quota = read(join(root, dir, 'cpu.cfs_quota_us'));
    const period = read(join(root, dir, 'cpu.cfs_period_us'));
    if (quota !== null && period !== null) return cpus(Number(quota), Number(period));
  }
  return 0;
}

/**
 * WORKERS=0: one worker per CPU the process may use. A fractional quota rounds
 * up (1.5 CPUs: two threads, each idle part of the time, rather than one that
 * leaves half a CPU unused), and never more than node sees (availableParallelism
 * already follows the CPU affinity mask).
 */
export function autoWorkers(root: string = CGROUP_ROOT, parallelism: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(root);
  return quota > 0 ? Math.max(1, Math.min(parallelism, Math.ceil(quota))) : parallelism;
}
