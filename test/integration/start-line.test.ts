// The operator's first minute, on the real entry point: a misspelt variable
// is reported (or, strict, stops the start), a copied .env.example does not
// start, and the listening line says what is running. Never a secret.
import t from 'tap';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBuilt, spawnProxy, startProxyProcess } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js missing: run `npm run build` (npm test does)';
const SECRET = 'do-not-print-this-key-value';
const UPSTREAM = 'ws://127.0.0.1:9';

t.test('a misspelt variable is a warning naming the likely name, never the value', { skip }, async (t) => {
  const { child } = await startProxyProcess(t, UPSTREAM, {
    WORKERS: '1',
    ALLOWED_ORIGIN: 'http://localhost:5173',
    AZURE_SPEECH_KY: SECRET,
  });
  const warned = child.stdout
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'unknown variable ignored');
  t.same(
    warned.map((l) => [l.level, l.variable, l.didYouMean]),
    [
      ['warn', 'ALLOWED_ORIGIN', 'ALLOWED_ORIGINS'],
      ['warn', 'AZURE_SPEECH_KY', 'AZURE_SPEECH_KEY'],
    ],
  );
  t.notMatch(child.stdout.join('\n'), new RegExp(`${SECRET}|localhost:5173`), 'no value is logged');
});

t.test('STRICT_CONFIG: exit 1, stderr names the variable and the fix', { skip }, async (t) => {
  const child = spawnProxy({
    PORT: '0',
    HOST: '127.0.0.1',
    AZURE_VOICE_LIVE_ENDPOINT: UPSTREAM,
    ALLOWED_ORIGIN: 'http://localhost:5173',
    STRICT_CONFIG: 'true',
  });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  t.equal((await child.exited).code, 1);
  t.equal(
    child.stderr,
    'voice-live-proxy: invalid configuration: ALLOWED_ORIGIN (did you mean ALLOWED_ORIGINS?): not a variable ' +
      'voice-live-proxy reads. Rename or remove; STRICT_CONFIG=false starts anyway, with a warning\n',
  );
  t.notOk(
    child.stdout.some((l) => l.includes('listening')),
    'it never listened',
  );

  const production = spawnProxy({
    PORT: '0',
    HOST: '127.0.0.1',
    AZURE_VOICE_LIVE_ENDPOINT: UPSTREAM,
    NODE_ENV: 'production',
    MAX_CONECTIONS: '50',
  });
  t.teardown(() => {
    production.proc.kill('SIGKILL');
  });
  t.equal((await production.exited).code, 1, 'on by default with NODE_ENV=production');
  t.match(production.stderr, /MAX_CONECTIONS \(did you mean MAX_CONNECTIONS\?\)/);
});

t.test('.env.example copied unchanged does not start; it names the variable', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-example-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(__dirname, '..', '..', '.env.example'), join(dir, '.env'));
  const child = spawnProxy({ PORT: '0' }, { cwd: dir });
  t.teardown(() => {
    child.proc.kill('SIGKILL');
  });
  t.equal((await child.exited).code, 1);
  t.equal(
    child.stderr,
    'voice-live-proxy: invalid configuration: AZURE_AI_FOUNDRY_RESOURCE: expected your own value in place of ' +
      `.env.example's placeholder, got "your-resource-name"\n`,
  );
});

t.test(
  'the listening line: credential mode, CLIENT_AUTH, origins, API version, workers; no secret',
  { skip },
  async (t) => {
    for (const workers of ['1', '2']) {
      const { child } = await startProxyProcess(t, UPSTREAM, {
        WORKERS: workers,
        AZURE_SPEECH_KEY: SECRET,
        CLIENT_AUTH: 'ticket',
        TICKET_SECRET: 'x'.repeat(48),
        ALLOWED_ORIGINS: 'https://a.example,https://b.example',
        API_VERSION: '2025-10-01',
      });
      const line = await child.line('voice-live-proxy listening');
      t.match(
        line,
        {
          upstream: UPSTREAM,
          upstreamCredential: 'key',
          clientAuth: 'ticket',
          allowedOrigins: 'https://a.example,https://b.example',
          apiVersion: '2025-10-01',
          workers: Number(workers),
        },
        `WORKERS=${workers}`,
      );
      t.notMatch(JSON.stringify(line), new RegExp(`${SECRET}|xxxxxxxx`), 'no secret on it');
      child.proc.kill('SIGKILL');
    }
    const { child } = await startProxyProcess(t, UPSTREAM, { WORKERS: '1', AZURE_SPEECH_KEY: '' });
    t.match(await child.line('voice-live-proxy listening'), {
      upstreamCredential: 'keyless',
      clientAuth: 'none',
      allowedOrigins: 'http://localhost:3000',
    });
  },
);
