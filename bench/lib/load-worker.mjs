// The shared load generator (dist/loadtest) in a process of its own, driven
// over IPC: bench/budget.mjs keeps its live sessions apart from its own event
// loop and samples their CPU by pid. Same messages as the generator's
// threads: init, send, mark, window, stop, close.
import { loadtestModule, generatorOptions } from './dist.mjs';

const { LoadGenerator } = loadtestModule('generator');

let gen = null;

async function onMessage(msg) {
  switch (msg.cmd) {
    case 'init':
      gen = new LoadGenerator(generatorOptions(msg.cfg));
      await gen.start();
      process.send({ ev: 'init', frameBytes: gen.frameBytes });
      gen.ramped(3_600_000).then((counters) => process.send({ ev: 'ramped', counters }));
      break;
    case 'send':
      gen.send();
      break;
    case 'mark':
      await gen.mark();
      process.send({ ev: 'marked' });
      break;
    case 'window': {
      const w = await gen.window();
      process.send({
        ev: 'window',
        ms: w.ms,
        sent: w.sent,
        recv: w.recv,
        sentBytes: w.sentBytes,
        recvBytes: w.recvBytes,
        elu: w.eluMax,
        lagMaxMs: w.lagMaxMs,
        rttSeriesMs: w.rttSeriesMs,
        rttSeries: w.rttSeries,
        rtt: w.rtt.toJSON(),
        ttfa: w.ttfa.toJSON(),
        done: w.done.toJSON(),
      });
      break;
    }
    case 'stop':
      process.send({ ev: 'totals', counters: await gen.stop(msg.drainMs) });
      break;
    case 'close':
      await gen.close(msg.graceMs ?? 1000);
      process.send({ ev: 'closed' }, () => process.exit(0));
      break;
    default:
      break;
  }
}

if (process.send !== undefined) {
  process.on('message', (msg) => {
    onMessage(msg).catch((err) => {
      console.error(err);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
