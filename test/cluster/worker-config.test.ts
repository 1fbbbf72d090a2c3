// Worker threads run with the primary's configuration: it crosses the thread
// boundary as a structured clone and is frozen again on arrival; a worker
// reads neither .env nor the environment.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, refreeze } from '../../src/config';

t.test('the config survives workerData and comes out frozen, typed arrays typed', async (t) => {
  const cfg = loadConfig({
    AZURE_AI_FOUNDRY_RESOURCE: 'my-res',
    TRUST_PROXY: '1',
    ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    WORKERS: '2',
  });
  const copy = refreeze(structuredClone({ ...cfg, port: 4321 }));
  t.same({ ...copy, port: cfg.port }, cfg);
  t.equal(copy.port, 4321, 'the shared port the primary chose');
  t.ok(Object.isFrozen(copy));
  t.ok(Object.isFrozen(copy.allowedOrigins));
  t.ok(Object.isFrozen(copy.trustProxy));
  t.ok(copy.ipv6PrefixLimits.every((p) => Object.isFrozen(p)));
  t.ok(copy.trustProxy.peerV4 instanceof Uint32Array);
});

t.test('a worker reads no configuration of its own', async (t) => {
  const src = readFileSync(join(__dirname, '..', '..', 'src', 'cluster', 'worker.ts'), 'utf8');
  t.notMatch(src, /\breadEnv\b|\bloadConfig\b|process\.env/);
});
