// docs/configuration.md and .env.example are derived from, or checked
// against, the configuration schema: a variable cannot be added, renamed or
// given a new default without the docs and the example following.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig, SCHEMA } from '../../src/config';
import { renderVariables, withVariables } from '../../src/config/reference';
import { SIMULATOR_SCHEMA } from '../../src/simulator/config';

const ROOT = join(__dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
const EXAMPLE = readFileSync(join(ROOT, '.env.example'), 'utf8');

t.test('the variable tables are what the schema generates (npm run docs:config)', async (t) => {
  t.equal(withVariables(DOC), DOC, 'docs/configuration.md is up to date with src/config/schema.ts');
  t.ok(DOC.includes(renderVariables()));
});

t.test('every variable, and every alias, is in docs/configuration.md', async (t) => {
  for (const s of [...SCHEMA, ...SIMULATOR_SCHEMA]) {
    t.ok(DOC.includes(`| \`${s.name}\` |`), `${s.name} has a row`);
    if (s.alias !== undefined) t.ok(DOC.includes(`\`${s.alias}\``), `${s.alias} is named`);
  }
});

t.test('.env.example names only real variables, each with its real default', async (t) => {
  const lines = new Map<string, string>();
  for (const line of EXAMPLE.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m !== null) {
      t.notOk(lines.has(m[1]), `${m[1]} is set once`);
      lines.set(m[1], m[2]);
    }
  }
  const names = new Set(SCHEMA.map((s) => s.name));
  for (const name of lines.keys()) t.ok(names.has(name), `${name} is a variable the proxy reads`);
  for (const s of SCHEMA) {
    t.equal(lines.get(s.name), s.example ?? s.default, `${s.name}: its default (or placeholder)`);
    if (s.alias !== undefined) t.ok(EXAMPLE.includes(s.alias), `the alias ${s.alias} is mentioned`);
    if (s.secret === true) t.equal(lines.get(s.name), '', `${s.name} is a secret: no value in the example`);
  }
});

t.test('a .env copied from .env.example unchanged is refused; with the resource filled in, it loads', async (t) => {
  t.throws(() => loadConfig(parseEnv(EXAMPLE)), {
    variable: 'AZURE_AI_FOUNDRY_RESOURCE',
    message:
      /^AZURE_AI_FOUNDRY_RESOURCE: expected your own value in place of \.env\.example's placeholder, got "your-resource-name"$/,
  });
  const cfg = loadConfig({ ...parseEnv(EXAMPLE), AZURE_AI_FOUNDRY_RESOURCE: 'contoso-voice' });
  t.equal(cfg.upstreamOrigin, 'wss://contoso-voice.services.ai.azure.com');
  t.same(cfg.allowedModels, ['gpt-realtime']);
});

t.test("the example's note on * says what the code does: refused with CLIENT_AUTH=none, key or no key", async (t) => {
  t.notMatch(EXAMPLE, /ALLOWED_ORIGINS=\* with AZURE_SPEECH_KEY and CLIENT_AUTH=none/);
  const env = { ...parseEnv(EXAMPLE), AZURE_AI_FOUNDRY_RESOURCE: 'contoso-voice', ALLOWED_ORIGINS: '*' };
  t.throws(() => loadConfig(env), { variable: 'ALLOWED_ORIGINS', message: /^ALLOWED_ORIGINS: / }, 'keyless');
  t.throws(
    () => loadConfig({ ...env, AZURE_SPEECH_KEY: 'k' }),
    { variable: 'ALLOWED_ORIGINS', message: /^ALLOWED_ORIGINS: / },
    'with a key',
  );
  t.ok(loadConfig({ ...env, ALLOW_ANONYMOUS_WILDCARD: 'true' }).allowAnyOrigin);
});
