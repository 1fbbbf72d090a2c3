// System calls a process tree makes during the measured window, counted by
// the kernel's syscall tracepoints through `perf stat` (no ptrace, so the
// relay's batching is what it would be without the count). Counts, unlike
// times, barely move with the neighbours on a shared host, which makes them
// the fair way to compare the proxy's kernel work per frame with nginx's.
import { spawn } from 'node:child_process';
import { processTree } from './procs.mjs';

// The calls a relay makes per frame, and the ones that would show churn.
const NAMES = [
  'read',
  'write',
  'readv',
  'writev',
  'recvfrom',
  'sendto',
  'recvmsg',
  'sendmsg',
  'epoll_wait',
  'epoll_pwait',
  'epoll_ctl',
  'futex',
  'mmap',
  'munmap',
  'madvise',
  'mprotect',
];

// Kernel work that is not a call: faults on fresh pages (allocation churn)
// and switches (threads handing work to each other, or preempted).
const OTHER_EVENTS = ['page-faults', 'context-switches', 'cpu-migrations'];

/**
 * Starts counting for `seconds`; resolves with `{ total, byName, other }`, or with
 * null (and a log line) where perf or the tracepoints are not available.
 */
export function countSyscalls(pid, seconds, log) {
  const events = ['raw_syscalls:sys_enter', ...NAMES.map((n) => `syscalls:sys_enter_${n}`), ...OTHER_EVENTS];
  const pids = processTree(pid).join(',');
  const args = ['stat', '-x', ',', '-e', events.join(','), '-p', pids, '--', 'sleep', String(seconds)];
  return new Promise((resolve) => {
    let err = '';
    const perf = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    perf.stderr.on('data', (d) => (err += d));
    perf.on('error', () => {
      log('  syscall count: perf not found (apt-get install -y linux-perf)');
      resolve(null);
    });
    perf.on('close', () => {
      const byName = {};
      const other = {};
      let total = NaN;
      for (const line of err.split('\n')) {
        const [value, , event] = line.split(',');
        const n = Number(value);
        if (!Number.isFinite(n) || event === undefined) continue;
        if (event === 'raw_syscalls:sys_enter') total = n;
        else if (OTHER_EVENTS.includes(event)) other[event] = n;
        else if (n > 0) byName[event.replace('syscalls:sys_enter_', '')] = n;
      }
      if (!Number.isFinite(total)) {
        log(`  syscall count: perf gave no counts (${err.trim().split('\n').slice(-1)[0] ?? ''})`);
        resolve(null);
        return;
      }
      resolve({ total, byName, other });
    });
  });
}
