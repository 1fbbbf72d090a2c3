// The schema is the one place a variable is declared: each is read exactly
// once, an empty ALLOWED_ORIGINS stops the start, and no secret is ever
// quoted in an error.
import t from 'tap';
import { ConfigError, loadConfig, SCHEMA, type Env } from '../src/config';
import { PLATFORM_READS } from '../src/config/load';
import { EnvReader } from '../src/config/spec';

const BASE = { AZURE_AI_FOUNDRY_RESOURCE: 'my-res' };

/** An environment that counts how often each name is looked up. */
function counting(env: Env): { env: Env; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const proxy = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(target, key);
    },
  });
  return { env: proxy, reads };
}

t.test('every variable (and alias) is read once; nothing outside the schema is read', async (t) => {
  const { env, reads } = counting({ ...BASE });
  loadConfig(env);
  const known = new Set<string>();
  for (const s of SCHEMA) {
    known.add(s.name);
    t.equal(reads.get(s.name), 1, `${s.name} read once`);
    if (s.alias !== undefined) {
      known.add(s.alias);
      t.equal(reads.get(s.alias), 1, `${s.alias} read once`);
    }
  }
  for (const name of reads.keys()) {
    t.ok(known.has(name) || PLATFORM_READS.includes(name), `${name} is in the schema (or the platform's, documented)`);
  }
});

t.test('the reader refuses a second read and a name outside its table', async (t) => {
  const r = new EnvReader({ PORT: '1' }, SCHEMA);
  t.equal(r.int('PORT'), 1);
  t.throws(() => r.int('PORT'), /PORT read twice/);
  t.throws(() => r.str('NOT_A_VARIABLE'), /not in the schema/);
  t.throws(() => r.assertAllRead(), /is never read/);
});

t.test('ALLOWED_ORIGINS set but empty stops the start; unset keeps the local default', async (t) => {
  t.same(loadConfig(BASE).allowedOrigins, ['http://localhost:3000'], 'unset');
  for (const blank of ['', '   ', ',', ' , ,']) {
    const err = t.throws(() => loadConfig({ ...BASE, ALLOWED_ORIGINS: blank }), JSON.stringify(blank)) as ConfigError;
    t.ok(err instanceof ConfigError);
    t.equal(err.variable, 'ALLOWED_ORIGINS');
    t.match(err.message, /^ALLOWED_ORIGINS: expected one or more origins/);
  }
  t.same(loadConfig({ ...BASE, ALLOWED_ORIGINS: ' https://a.example, ' }).allowedOrigins, ['https://a.example']);
});

t.test('a blank value is unset for every other variable', async (t) => {
  const blanks: Env = { ...BASE };
  for (const s of SCHEMA)
    if (s.name !== 'ALLOWED_ORIGINS' && s.name !== 'AZURE_AI_FOUNDRY_RESOURCE') blanks[s.name] = ' ';
  const c = loadConfig(blanks);
  const d = loadConfig(BASE);
  t.same({ ...c, workers: 0, bufferBudgetBytes: 0 }, { ...d, workers: 0, bufferBudgetBytes: 0 });
});

t.test('a secret is never quoted in an error', async (t) => {
  const secrets = SCHEMA.filter((s) => s.secret === true).map((s) => s.name);
  t.ok(secrets.includes('AZURE_SPEECH_KEY') && secrets.includes('TICKET_SECRET') && secrets.includes('REDIS_URL'));
  const marker = 'pw-Zq81-secret';
  const bad: Env[] = [
    { TICKET_SECRET: marker },
    { METRICS_TOKEN: marker },
    { REDIS_URL: `redis://:${marker}@host:6379/not/a/db` },
    { REDIS_URL: `not a url ${marker}` },
    { REDIS_URL: `http://:${marker}@host` },
    { AZURE_SPEECH_KEY: marker, FOUNDRY_API_KEY: `${marker}-2` },
  ];
  for (const env of bad) {
    const err = t.throws(() => loadConfig({ ...BASE, ...env }), Object.keys(env)[0]) as Error;
    t.notMatch(err.message, marker, `${Object.keys(env)[0]}: value not shown`);
  }
  // The reader masks any secret it rejects, whatever the check.
  const r = new EnvReader({ AZURE_SPEECH_KEY: marker }, SCHEMA);
  const err = t.throws(() => r.fail('AZURE_SPEECH_KEY', 'anything', r.str('AZURE_SPEECH_KEY'))) as Error;
  t.match(err.message, /value not shown/);
  t.notMatch(err.message, marker);
});

t.test('the loaded config survives a structured clone (what a worker thread receives)', async (t) => {
  const c = loadConfig({ ...BASE, TRUST_PROXY: '1', ALLOWED_ORIGINS: 'https://a.example' });
  const copy = structuredClone(c);
  t.same(copy, c);
  t.ok(copy.trustProxy.peerV4 instanceof Uint32Array, 'typed arrays stay typed');
});
