// Process-wide series under prom-client's default names (process_*,
// nodejs_version_info), read by whichever thread renders /metrics: CPU and
// memory are the whole process's whatever thread asks, so they are read once
// per scrape and never summed over threads. With tens of thousands of sockets
// the open descriptors against their limit matter most: each browser session
// holds two (its socket and its upstream socket).
import { readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { header, single } from './exposition';
import { PROCESS } from './node-metric-table';

const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());
const [MAJOR, MINOR, PATCH] = process.versions.node.split('.');
const VERSION_INFO =
  header(PROCESS.versionInfo) +
  `${PROCESS.versionInfo.name}{version="${process.version}",major="${MAJOR}",minor="${MINOR}",patch="${PATCH}"} 1\n`;

/** Linux only (as prom-client): null where /proc is not there. */
export function openFds(): number | null {
  try {
    // The directory handle readdir holds while listing is not the process's own.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

/**
 * Listing /proc/self/fd costs time in proportion to the open descriptors
 * (docs/performance.md, Metrics scrape): at tens of thousands that is too
 * long to block a thread that relays audio at every scrape.
 * So a scrape reports the count taken in the background after the previous
 * one (the libuv thread pool lists the directory), at most one scrape old;
 * only the first scrape counts synchronously, while the process is young.
 */
export class OpenFdCounter {
  private last: number | null | undefined;
  private pending: Promise<void> | null = null;

  /** The last count (null where /proc is missing); starts the next count in the background. */
  read(): number | null {
    if (this.last === undefined) this.last = openFds();
    else this.refresh();
    return this.last;
  }

  /** Resolves when a background count started now (or already running) is done. */
  refresh(): Promise<void> {
    this.pending ??= readdir('/proc/self/fd')
      .then(
        (names) => {
          this.last = names.length - 1;
        },
        () => {
          this.last = null;
        },
      )
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }
}

const FD_COUNTER = new OpenFdCounter();

/** The soft limit, what the process actually hits (`ulimit -n`, compose `nofile`). */
export function maxFds(limits = readOrNull('/proc/self/limits')): number | null {
  const m = limits === null ? null : /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (m === null) return null;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** VmSize and VmData from /proc/self/status, in bytes (kB there). */
export function vm(status = readOrNull('/proc/self/status')): { virtual: number; data: number } | null {
  if (status === null) return null;
  const size = /^VmSize:\s+(\d+) kB/m.exec(status);
  const data = /^VmData:\s+(\d+) kB/m.exec(status);
  if (size === null || data === null) return null;
  return { virtual: Number(size[1]) * 1024, data: Number(data[1]) * 1024 };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function renderProcessStats(): string {
  const cpu = process.cpuUsage();
  let out = single(PROCESS.cpuUser, cpu.user / 1e6);
  out += single(PROCESS.cpuSystem, cpu.system / 1e6);
  out += single(PROCESS.cpu, (cpu.user + cpu.system) / 1e6);
  out += single(PROCESS.startTime, START_TIME_SECONDS);
  out += single(PROCESS.residentMemory, process.memoryUsage.rss());
  const mem = vm();
  if (mem !== null) {
    out += single(PROCESS.virtualMemory, mem.virtual);
    out += single(PROCESS.heap, mem.data);
  }
  const open = FD_COUNTER.read();
  if (open !== null) out += single(PROCESS.openFds, open);
  const max = maxFds();
  if (max !== null) out += single(PROCESS.maxFds, max);
  return out + VERSION_INFO;
}
