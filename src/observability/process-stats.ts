// Process-wide series under prom-client's default names (process_*,
// nodejs_version_info), read by whichever thread renders /metrics: CPU and
// memory are the whole process's whatever thread asks, so they are read once
// per scrape and never summed over threads. With tens of thousands of sockets
// the open descriptors against their limit matter most: each browser session
// holds two (its socket and its upstream socket).
import { readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());
const [MAJOR, MINOR, PATCH] = process.versions.node.split('.');
const VERSION_INFO =
  '# HELP nodejs_version_info Node.js version info.\n# TYPE nodejs_version_info gauge\n' +
  `nodejs_version_info{version="${process.version}",major="${MAJOR}",minor="${MINOR}",patch="${PATCH}"} 1\n`;

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
 * Listing /proc/self/fd costs about 3 us per descriptor (32 ms at 10,000,
 * measured): too long to block a thread that relays audio at every scrape.
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

function series(name: string, type: 'gauge' | 'counter', help: string, value: number): string {
  const v = value === Infinity ? '+Inf' : String(value);
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${v}\n`;
}

export function renderProcessStats(): string {
  const cpu = process.cpuUsage();
  let out = series(
    'process_cpu_user_seconds_total',
    'counter',
    'Total user CPU time spent in seconds.',
    cpu.user / 1e6,
  );
  out += series(
    'process_cpu_system_seconds_total',
    'counter',
    'Total system CPU time spent in seconds.',
    cpu.system / 1e6,
  );
  out += series(
    'process_cpu_seconds_total',
    'counter',
    'Total user and system CPU time spent in seconds.',
    (cpu.user + cpu.system) / 1e6,
  );
  out += series(
    'process_start_time_seconds',
    'gauge',
    'Start time of the process since unix epoch in seconds.',
    START_TIME_SECONDS,
  );
  out += series('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', process.memoryUsage.rss());
  const mem = vm();
  if (mem !== null) {
    out += series('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', mem.virtual);
    out += series('process_heap_bytes', 'gauge', 'Process heap size in bytes.', mem.data);
  }
  const open = FD_COUNTER.read();
  if (open !== null) out += series('process_open_fds', 'gauge', 'Number of open file descriptors.', open);
  const max = maxFds();
  if (max !== null) out += series('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', max);
  return out + VERSION_INFO;
}
