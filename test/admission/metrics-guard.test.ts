import t from 'tap';
import { isLoopbackHost, isLoopbackPeer, MetricsGuard, unforwarded } from '../../src/admission/metrics-guard';

t.test('loopback hosts', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])
    t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '127.0.0.1.example.com', ''])
    t.notOk(isLoopbackHost(h), h);
});

t.test('loopback peers', async (t) => {
  const v4 = (a: number, b: number, c: number, d: number) => new Uint8Array([a, b, c, d]).buffer;
  const v6 = (...groups: number[]) => new Uint16Array(groups.map((g) => ((g & 0xff) << 8) | (g >> 8))).buffer;
  t.ok(isLoopbackPeer(v4(127, 0, 0, 1)));
  t.ok(isLoopbackPeer(v4(127, 9, 8, 7)));
  t.ok(isLoopbackPeer(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
  t.ok(isLoopbackPeer(v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)), '::ffff:127.0.0.1');
  t.ok(isLoopbackPeer('127.0.0.1'));
  t.notOk(isLoopbackPeer(v4(10, 0, 0, 1)));
  t.notOk(isLoopbackPeer(v4(128, 0, 0, 1)));
  t.notOk(isLoopbackPeer(v6(0, 0, 0, 0, 0, 0, 0, 2)));
  t.notOk(isLoopbackPeer(v6(0, 0, 0, 0, 0, 0xffff, 0x0a00, 1)), '::ffff:10.0.0.1');
  t.notOk(isLoopbackPeer(new ArrayBuffer(0)));
});

t.test('forwarding headers', async (t) => {
  t.ok(unforwarded(() => ''));
  for (const name of ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via'])
    t.notOk(
      unforwarded((n) => (n === name ? 'x' : '')),
      name,
    );
});

t.test('no token: open to a local peer on a loopback HOST, disabled beyond', async (t) => {
  const local = new MetricsGuard({ metricsToken: '', host: '127.0.0.1' });
  t.equal(local.asksPeer, true);
  t.equal(local.check('', '1.2.3.4', true), 'ok');
  t.equal(local.check('', '1.2.3.4', false), 'disabled', 'a forwarded or remote peer');
  t.equal(local.disabled, false);
  const wide = new MetricsGuard({ metricsToken: '', host: '0.0.0.0' });
  t.equal(wide.asksPeer, false);
  t.equal(wide.check('Bearer anything', '1.2.3.4', true), 'disabled');
  t.equal(wide.disabled, true);
});

t.test('a token: checked first, in constant time; only wrong tokens throttled per client', async (t) => {
  const token = 'x'.repeat(32);
  const g = new MetricsGuard({ metricsToken: token, host: '127.0.0.1' });
  t.equal(g.disabled, false);
  t.equal(g.asksPeer, false, 'a token replaces the loopback rule');
  t.equal(g.check(`Bearer ${token}`, 'a', false), 'ok');
  t.equal(g.check('', 'a', true), 'unauthorized', 'no header, even from a local peer');
  t.equal(g.check(`Bearer ${token}x`, 'a', false), 'unauthorized', 'longer');
  for (let i = 0; i < 8; i++) g.check('Bearer nope', 'a', false);
  t.equal(g.check('Bearer nope', 'a', false), 'rate', 'the eleventh wrong token waits');
  t.equal(g.retryAfter, 6);
  t.equal(g.check(`Bearer ${token}`, 'a', false), 'ok', 'the right token is never locked out');
  t.equal(g.check(`Bearer ${token}`, 'b', false), 'ok', 'another client is unaffected');
});

t.test('with worker threads one client has one allowance, not one per worker', async (t) => {
  const token = 'y'.repeat(32);
  const shared = MetricsGuard.createShared();
  const workers = [0, 1].map(() => new MetricsGuard({ metricsToken: token, host: '0.0.0.0' }, shared));
  const answers: string[] = [];
  for (let i = 0; i < 12; i++) answers.push(workers[i % 2].check('Bearer wrong', 'a', false));
  t.equal(answers.filter((a) => a === 'unauthorized').length, 10, 'ten wrong tokens in all, whichever worker answers');
  t.same(answers.slice(10), ['rate', 'rate']);
  t.equal(workers[1].check(`Bearer ${token}`, 'b', false), 'ok', 'another client is unaffected');
});
