// Preloaded only by the young-generation test (`node --require <this>
// dist/index.js`). In each worker thread, before the relay starts: churn
// short-lived objects while keeping a working set alive (what makes V8 grow
// its young generation up to the limit), then report the limit the thread was
// given and the young generation's size as a log-shaped stdout line.
'use strict';
const { isMainThread, resourceLimits, workerData } = require('node:worker_threads');
const { getHeapSpaceStatistics } = require('node:v8');

// Relay workers only (workerData.index): other threads, if any, are not the relay's.
if (!isMainThread && workerData && typeof workerData.index === 'number') {
  let live = [];
  for (let i = 0; i < 3e6; i++) {
    live.push({ i, pair: [i, i] });
    if (live.length > 20000) live = [];
  }
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  process.stdout.write(
    JSON.stringify({
      msg: 'young generation',
      worker: workerData.index,
      limitMb: resourceLimits.maxYoungGenerationSizeMb,
      newSpaceBytes: newSpace.space_size,
      kept: live.length,
    }) + '\n',
  );
}
