// What the kernel may hold in the proxy's sockets for one stalled session,
// outside BUFFER_BUDGET_BYTES: the send queue toward the browser (up to
// tcp_wmem's maximum unless tcp_notsent_lowat bounds it) and a paused
// upstream's receive queue (up to tcp_rmem's maximum). cgroup v2 charges that
// memory to the container. Node and uWS.js cannot size socket buffers, so the
// network namespace's settings are the only bound; at start the proxy says
// when they leave it open (docs/operations.md, Memory).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerMemoryLimit } from './memory-limit';

export interface KernelSocketBuffers {
  /** net.ipv4.tcp_notsent_lowat; the kernel's "unlimited" is 4294967295. */
  readonly notsentLowatBytes: number;
  /** The maxima of net.ipv4.tcp_wmem and tcp_rmem (their third field). */
  readonly wmemMaxBytes: number;
  readonly rmemMaxBytes: number;
}

/** The settings docs/operations.md (Memory) recommends: what they bound a stalled session's queues to. */
export const RECOMMENDED_NOTSENT_LOWAT = 131072;
export const RECOMMENDED_RMEM_MAX = 524288;

const PROC_DIR = '/proc/sys/net/ipv4';

/** The namespace's settings, or null where they cannot be read (not Linux, no /proc). */
export function readKernelSocketBuffers(dir = PROC_DIR): KernelSocketBuffers | null {
  try {
    const notsentLowatBytes = Number(readFileSync(join(dir, 'tcp_notsent_lowat'), 'utf8').trim());
    const wmemMaxBytes = thirdField(readFileSync(join(dir, 'tcp_wmem'), 'utf8'));
    const rmemMaxBytes = thirdField(readFileSync(join(dir, 'tcp_rmem'), 'utf8'));
    if (![notsentLowatBytes, wmemMaxBytes, rmemMaxBytes].every(Number.isFinite)) return null;
    return { notsentLowatBytes, wmemMaxBytes, rmemMaxBytes };
  } catch {
    return null;
  }
}

function thirdField(text: string): number {
  return Number(text.trim().split(/\s+/)[2]);
}

export interface StartLog {
  warn(obj: object, msg: string): void;
}

/**
 * In a container (a memory limit is set), warn once when the kernel may hold
 * more per stalled session than the recommended settings allow. Returns
 * whether it warned. Outside a container the host's memory is the bound and
 * nothing is said.
 */
export function warnUnboundedSocketBuffers(
  log: StartLog,
  memoryLimitBytes = containerMemoryLimit(),
  k: KernelSocketBuffers | null = readKernelSocketBuffers(),
): boolean {
  if (memoryLimitBytes <= 0 || k === null) return false;
  const sendBound = Math.min(k.wmemMaxBytes, k.notsentLowatBytes);
  if (sendBound <= RECOMMENDED_NOTSENT_LOWAT && k.rmemMaxBytes <= RECOMMENDED_RMEM_MAX) return false;
  log.warn(
    {
      tcpNotsentLowat: k.notsentLowatBytes,
      tcpWmemMax: k.wmemMaxBytes,
      tcpRmemMax: k.rmemMaxBytes,
      perStalledSessionBytes: sendBound + k.rmemMaxBytes,
      memoryLimitBytes,
    },
    'kernel socket buffers are not bounded: a stalled session can hold perStalledSessionBytes in the kernel, ' +
      'outside BUFFER_BUDGET_BYTES and charged to this container; set net.ipv4.tcp_notsent_lowat=131072 and ' +
      'net.ipv4.tcp_rmem="4096 131072 524288" (docs/operations.md, Memory)',
  );
  return true;
}
