import t from 'tap';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { startRuntime } from '../src/runtime';
import { startSimulator } from '../src/simulator/simulator';
import { TestClient } from './helpers/client';

t.test('a runtime serves, then stop() drains and closes it', async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.close());
  const cfg = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    AZURE_VOICE_LIVE_ENDPOINT: sim.origin,
    AZURE_SPEECH_KEY: 'k',
  });
  const logger = createLogger({
    level: 'info',
    pretty: false,
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const rt = await startRuntime(cfg, logger, { reportsActive: true });
  const c = new TestClient(`ws://127.0.0.1:${rt.server.port}/ws`);
  t.equal((await c.nextJson()).type, 'session.created');
  t.equal(rt.metrics.upgradesAccepted, 1);
  const stopped = rt.stop(0);
  t.equal((await c.closed).code, 1001, 'live sessions are closed 1001');
  await stopped;
  await t.rejects(fetch(`http://127.0.0.1:${rt.server.port}/health`), 'the port is closed');
});
