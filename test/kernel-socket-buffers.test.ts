// The start-up warning about what the kernel may hold per stalled session
// outside BUFFER_BUDGET_BYTES, read from the namespace's real /proc files or
// from files written here in their format.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readKernelSocketBuffers,
  warnUnboundedSocketBuffers,
  type KernelSocketBuffers,
} from '../src/kernel-socket-buffers';

/** A /proc/sys/net/ipv4 look-alike with these three settings. */
function procDir(lowat: string, wmem: string, rmem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-ipv4-'));
  writeFileSync(join(dir, 'tcp_notsent_lowat'), `${lowat}\n`);
  writeFileSync(join(dir, 'tcp_wmem'), `${wmem}\n`);
  writeFileSync(join(dir, 'tcp_rmem'), `${rmem}\n`);
  return dir;
}

function collector(): { lines: Array<[Record<string, unknown>, string]>; warn(o: object, m: string): void } {
  const lines: Array<[Record<string, unknown>, string]> = [];
  return { lines, warn: (o, m) => lines.push([o as Record<string, unknown>, m]) };
}

const GiB = 1024 ** 3;

t.test('the settings are read from the kernel files (tab-separated triples)', async (t) => {
  const k = readKernelSocketBuffers(procDir('4294967295', '4096\t16384\t4194304', '4096\t131072\t6291456'));
  t.same(k, { notsentLowatBytes: 4294967295, wmemMaxBytes: 4194304, rmemMaxBytes: 6291456 });
  t.equal(readKernelSocketBuffers(join(tmpdir(), 'vlp-no-such-dir')), null, 'no files: nothing to say');
  t.equal(readKernelSocketBuffers(procDir('n/a', '1 2 3', '1 2 3')), null, 'unreadable values: nothing to say');
  if (process.platform === 'linux') t.not(readKernelSocketBuffers(), null, "this host's own settings are readable");
});

t.test('in a container with the kernel defaults, one warning with the per-session worst case', async (t) => {
  const log = collector();
  const k: KernelSocketBuffers = { notsentLowatBytes: 4294967295, wmemMaxBytes: 4194304, rmemMaxBytes: 6291456 };
  t.equal(warnUnboundedSocketBuffers(log, GiB, k), true);
  t.equal(log.lines.length, 1);
  const [fields, msg] = log.lines[0];
  t.equal(fields.perStalledSessionBytes, 4194304 + 6291456);
  t.equal(fields.memoryLimitBytes, GiB);
  t.match(msg, /BUFFER_BUDGET_BYTES/);
  t.match(msg, /net\.ipv4\.tcp_notsent_lowat=131072/);
  t.match(msg, /net\.ipv4\.tcp_rmem="4096 131072 524288"/);
});

t.test('either setting left open is enough to warn', async (t) => {
  const lowatOnly = collector();
  t.ok(
    warnUnboundedSocketBuffers(lowatOnly, GiB, {
      notsentLowatBytes: 131072,
      wmemMaxBytes: 4194304,
      rmemMaxBytes: 6291456,
    }),
  );
  t.equal(
    lowatOnly.lines[0][0].perStalledSessionBytes,
    131072 + 6291456,
    'the send side is bounded by the low-water mark',
  );
  t.ok(
    warnUnboundedSocketBuffers(collector(), GiB, {
      notsentLowatBytes: 4294967295,
      wmemMaxBytes: 4194304,
      rmemMaxBytes: 524288,
    }),
  );
});

t.test(
  'no warning with the recommended settings, a small tcp_wmem, outside a container, or unknown settings',
  async (t) => {
    const log = collector();
    t.notOk(
      warnUnboundedSocketBuffers(log, GiB, { notsentLowatBytes: 131072, wmemMaxBytes: 4194304, rmemMaxBytes: 524288 }),
    );
    t.notOk(
      warnUnboundedSocketBuffers(log, GiB, {
        notsentLowatBytes: 4294967295,
        wmemMaxBytes: 65536,
        rmemMaxBytes: 262144,
      }),
      'tcp_wmem itself small',
    );
    t.notOk(
      warnUnboundedSocketBuffers(log, 0, {
        notsentLowatBytes: 4294967295,
        wmemMaxBytes: 4194304,
        rmemMaxBytes: 6291456,
      }),
      'no memory limit: the host is the bound',
    );
    t.notOk(warnUnboundedSocketBuffers(log, GiB, null));
    t.equal(log.lines.length, 0);
  },
);
