// Settings in .env reach uWS too: its request-header budget is fixed when the
// addon loads, which the entry point does with the validated configuration.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBuilt, freePort, spawnProxy } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';

function statusWithHeader(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', headers: { 'x-big': 'a'.repeat(bytes) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

t.test('UWS_HTTP_MAX_HEADERS_SIZE from .env is honoured; without it, the 16 KB default', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-envfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'UWS_HTTP_MAX_HEADERS_SIZE=65536\n');
  const env = { HOST: '127.0.0.1', AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9', WORKERS: '1', LOG_LEVEL: 'info' };

  const withFile = spawnProxy({ ...env, PORT: String(await freePort()) }, { cwd: dir });
  t.teardown(() => {
    withFile.proc.kill('SIGKILL');
  });
  const a = await withFile.line('voice-live-proxy listening');
  t.equal(
    await statusWithHeader(Number(a.port), 32 * 1024),
    200,
    '32 KB of headers pass with the .env budget of 64 KB',
  );

  const without = spawnProxy({ ...env, PORT: String(await freePort()) });
  t.teardown(() => {
    without.proc.kill('SIGKILL');
  });
  const b = await without.line('voice-live-proxy listening');
  t.equal(await statusWithHeader(Number(b.port), 32 * 1024), 431, 'the default budget refuses them');
});

t.test('an invalid UWS_HTTP_MAX_HEADERS_SIZE stops the start, naming it', { skip }, async (t) => {
  const child = spawnProxy({
    AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9',
    PORT: '0',
    UWS_HTTP_MAX_HEADERS_SIZE: 'lots',
  });
  t.equal((await child.exited).code, 1);
  t.match(child.stderr, /UWS_HTTP_MAX_HEADERS_SIZE: expected an integer/);
});
