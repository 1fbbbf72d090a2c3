// Internet-safe configuration: the settings that would let anyone
// spend the operator's credential refuse to start, and the defaults bound
// what one client can hold.
import t from 'tap';
import { loadConfig } from '../src/config';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };

t.test('ALLOWED_ORIGINS=* with a server key and no caller authentication refuses to start', async (t) => {
  const wild = { ...BASE, ALLOWED_ORIGINS: '*', AZURE_SPEECH_KEY: 'sk-secret-key-value' };
  t.throws(() => loadConfig(wild), { variable: 'ALLOWED_ORIGINS', message: /^ALLOWED_ORIGINS: .*ALLOW_ANONYMOUS_WILDCARD=true/ });
  try {
    loadConfig(wild);
  } catch (err) {
    t.notMatch((err as Error).message, /sk-secret-key-value/, 'the key is never quoted');
  }
  t.throws(() => loadConfig({ ...wild, CLIENT_AUTH: 'NONE' }), /^ALLOWED_ORIGINS: /, 'CLIENT_AUTH=none spelled out');
  t.ok(loadConfig({ ...wild, ALLOW_ANONYMOUS_WILDCARD: 'true' }).allowAnyOrigin, 'the explicit override');
  t.ok(loadConfig({ ...wild, CLIENT_AUTH: 'ticket' }).allowAnyOrigin, 'callers prove who they are');
  t.ok(loadConfig({ ...BASE, ALLOWED_ORIGINS: '*' }).allowAnyOrigin, 'no server key: every caller brings its own token');
  t.throws(() => loadConfig({ ...wild, ALLOW_ANONYMOUS_WILDCARD: 'maybe' }), /^ALLOW_ANONYMOUS_WILDCARD: /);
});
