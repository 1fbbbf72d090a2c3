// `voice-live-proxy usage`: its arguments and what it says without Redis; the
// fleet test (test/integration/quota-fleet.test.ts) reads a real day with it.
import t from 'tap';
import { Writable } from 'node:stream';
import { runUsage } from '../../src/cli/usage';
import { COMMANDS, commandHelp } from '../../src/cli/help';

function capture(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  return { out, text: () => text };
}

t.test('arguments and environment', async (t) => {
  t.equal(COMMANDS.usage, 'usage');
  t.match(commandHelp('usage'), /--subject <sub> \| --address <ip>/);
  t.match(commandHelp('usage'), /REDIS_URL/);
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => errors.push(String(s)) > 0) as typeof process.stderr.write;
  t.teardown(() => {
    process.stderr.write = write;
  });
  const o = capture();
  t.equal(await runUsage([], {}, o.out), 2, 'neither --subject nor --address');
  t.equal(await runUsage(['--subject', 'a', '--address', '10.0.0.1'], {}, o.out), 2, 'both');
  t.equal(await runUsage(['--subject', 'a'], {}, o.out), 2, 'no REDIS_URL');
  t.match(errors.at(-1), /REDIS_URL is not set/);
  t.equal(await runUsage(['--subject', 'a'], { REDIS_URL: 'http://x' }, o.out), 2, 'not a redis URL');
  t.equal(await runUsage(['--help'], {}, o.out), 0);
  t.match(o.text(), /Usage: voice-live-proxy usage/);
  t.equal(o.text().includes('{'), false, 'nothing printed on stdout but the help');
});
