// The container's memory limit, read from the cgroup (v2: memory.max; v1:
// memory.limit_in_bytes), so BUFFER_BUDGET_BYTES can default to a share of
// what the orchestrator will actually let the process use.
import { readFileSync } from 'node:fs';

/** cgroup v1 reports "no limit" as a huge page-aligned number; anything past 2^60 is that. */
const UNLIMITED = 2 ** 60;

const CGROUP_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/** The limit in bytes, or 0 when there is none (or no cgroup to read). */
export function containerMemoryLimit(files: readonly string[] = CGROUP_FILES): number {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    if (text === 'max') return 0;
    const n = Number(text);
    if (Number.isFinite(n) && n > 0) return n >= UNLIMITED ? 0 : n;
  }
  return 0;
}

/** Default budget: half the container's limit (the rest is V8, uWS, sockets and slack), else 1 GiB. */
export const BUDGET_SHARE_OF_LIMIT = 0.5;
export const BUDGET_DEFAULT_BYTES = 1024 * 1024 * 1024;

export function defaultBufferBudget(limitBytes: number): number {
  return limitBytes > 0 ? Math.floor(limitBytes * BUDGET_SHARE_OF_LIMIT) : BUDGET_DEFAULT_BYTES;
}
