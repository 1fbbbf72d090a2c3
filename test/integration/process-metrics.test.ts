// Process and runtime series with worker threads: process-wide
// values are the process's own (read once, never multiplied by the number of
// threads), per-thread values are summed over the workers.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { entryBuilt, freePort, spawnProxy } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

function value(body: string, name: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

t.test('WORKERS=2: /metrics reports the process once and the threads summed', { skip }, async (t) => {
  const port = await freePort();
  const child = spawnProxy({
    WORKERS: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
    AZURE_SPEECH_KEY: 'k',
    LOG_LEVEL: 'info',
  });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  const pid = child.proc.pid!;
  await child.line('voice-live-proxy listening');
  // Workers publish their counters once a second: scrape until a publish has surely happened.
  const first = Date.now();
  let body = '';
  while (Date.now() - first < 1500) {
    body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await new Promise((r) => setTimeout(r, 100));
  }
  const soft = Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1]);
  t.equal(value(body, 'process_max_fds'), soft, "the child's own limit, not a sum over threads");
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  t.ok(Math.abs(value(body, 'process_open_fds') - fds) <= 10, `open fds ${value(body, 'process_open_fds')} ~ ${fds}`);
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const rss = value(body, 'process_resident_memory_bytes');
  t.ok(rss > rssKb * 1024 * 0.5 && rss < rssKb * 1024 * 1.5, "RSS is the process's, once");
  // Each worker's isolate has a heap of its own: two workers report more than one.
  t.ok(value(body, 'nodejs_heap_size_used_bytes') > 0);
  t.ok(value(body, 'nodejs_active_handles_total') >= 1, 'libuv handles counted');
  t.match(body, /nodejs_gc_duration_seconds_count\{kind="minor"\} \d+/);
  t.match(body, /nodejs_eventloop_lag_p99_seconds \d/);
});
