import t from 'tap';
import { isLoopbackHost, MetricsGuard } from '../../src/admission/metrics-guard';

t.test('loopback hosts', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])
    t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '127.0.0.1.example.com', ''])
    t.notOk(isLoopbackHost(h), h);
});

t.test('no token: open on loopback, disabled beyond', async (t) => {
  const local = new MetricsGuard({ metricsToken: '', host: '127.0.0.1' });
  t.equal(local.check('', '1.2.3.4'), 'ok');
  t.equal(local.disabled, false);
  const wide = new MetricsGuard({ metricsToken: '', host: '0.0.0.0' });
  t.equal(wide.check('Bearer anything', '1.2.3.4'), 'disabled');
  t.equal(wide.disabled, true);
});

t.test('a token: checked in constant time; failures throttled per client', async (t) => {
  const token = 'x'.repeat(32);
  const g = new MetricsGuard({ metricsToken: token, host: '0.0.0.0' });
  t.equal(g.disabled, false);
  t.equal(g.check(`Bearer ${token}`, 'a'), 'ok');
  t.equal(g.check('', 'a'), 'unauthorized', 'no header');
  t.equal(g.check(`Bearer ${token}x`, 'a'), 'unauthorized', 'longer');
  for (let i = 0; i < 8; i++) g.check('Bearer nope', 'a');
  t.equal(g.check(`Bearer ${token}`, 'a'), 'rate', 'ten failures: even the right token waits');
  t.equal(g.retryAfter, 6);
  t.equal(g.check(`Bearer ${token}`, 'b'), 'ok', 'another client is unaffected');
});

t.test('with worker threads one client has one allowance, not one per worker', async (t) => {
  const token = 'y'.repeat(32);
  const shared = MetricsGuard.createShared();
  const workers = [0, 1].map(() => new MetricsGuard({ metricsToken: token, host: '0.0.0.0' }, shared));
  const answers: string[] = [];
  for (let i = 0; i < 12; i++) answers.push(workers[i % 2].check('Bearer wrong', 'a'));
  t.equal(answers.filter((a) => a === 'unauthorized').length, 10, 'ten wrong tokens in all, whichever worker answers');
  t.same(answers.slice(10), ['rate', 'rate']);
  t.equal(workers[1].check(`Bearer ${token}`, 'b'), 'ok', 'another client is unaffected');
});
