// Preloaded only by the worker-crash test (`node --require <this> dist/index.js`),
// so production code carries no crash switch. Worker threads inherit the
// preload through execArgv: the main thread turns SIGUSR2 into a broadcast, and
// worker 0 throws from a timer callback, the way a real bug would surface.
'use strict';
const { isMainThread, workerData } = require('node:worker_threads');

const CHANNEL = 'voice-live-proxy-crash-test';

if (isMainThread) {
  process.on('SIGUSR2', () => {
    const ch = new BroadcastChannel(CHANNEL);
    ch.postMessage('crash');
    ch.close();
  });
} else if (workerData && workerData.index === 0) {
  const ch = new BroadcastChannel(CHANNEL);
  ch.unref();
  ch.onmessage = () => {
    ch.close();
    setImmediate(() => {
      throw new Error('crash test');
    });
  };
}
