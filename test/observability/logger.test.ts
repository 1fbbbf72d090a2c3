import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { REDACT_CENSOR, REDACT_PATHS, SERVICE_NAME, createLogger, redactUrl } from '../../src/observability/logger';
import { stdoutSink } from '../../src/observability/log-sink';

function sink(): DestinationStream & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    write(s: string) {
      lines.push(s);
    },
  };
}

const SECRETS = {
  token: 'SECRET-token-1',
  accessToken: 'SECRET-access-2',
  apiKey: 'SECRET-apikey-3',
  key: 'SECRET-key-4',
  authorization: 'Bearer SECRET-auth-5',
  'api-key': 'SECRET-api-key-6',
  'agent-access-token': 'SECRET-agent-7',
  url: '/ws?token=SECRET-url-8',
  password: 'SECRET-password-9',
  connectionString: 'InstrumentationKey=SECRET-cs-10',
};

t.test('every secret is censored, even at trace level', async (t) => {
  const out = sink();
  const log = createLogger({ level: 'trace', pretty: false, destination: out });
  const headers = {
    authorization: 'Bearer SECRET-h-auth',
    'api-key': 'SECRET-h-apikey',
    'agent-access-token': 'SECRET-h-agent',
    cookie: 'session=SECRET-h-cookie',
    'ocp-apim-subscription-key': 'SECRET-h-ocp',
    'x-ms-client-request-id': 'req-123',
  };
  log.trace({ ...SECRETS, path: '/ws' }, 'top level');
  log.trace({ headers: { ...headers } }, 'headers');
  log.trace({ req: { headers: { ...headers }, url: '/ws?token=SECRET-req-url', path: '/ws' } }, 'nested headers');
  log.trace({ query: { token: 'SECRET-q-token', model: 'gpt-realtime' } }, 'query');
  log.trace({ upstream: { query: { token: 'SECRET-uq-token' } } }, 'nested query');
  log.trace({ session: { ...SECRETS } }, 'one level down');
  log.trace(
    {
      config: {
        azureSpeechKey: 'SECRET-cfg-1',
        metricsToken: 'SECRET-cfg-2',
        appInsightsConnectionString: 'SECRET-cfg-3',
        port: 8080,
      },
    },
    'config',
  );
  const child = log.child({ connId: 1 });
  child.debug({ token: 'SECRET-child-token', headers: { authorization: 'SECRET-child-auth' } }, 'child');

  const text = out.lines.join('');
  t.equal(out.lines.length, 8);
  t.notMatch(text, /SECRET/, 'no secret value reaches the log');
  t.match(text, REDACT_CENSOR);
  const lines = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines[0].path, '/ws', 'non-secret fields survive');
  t.equal(lines[0].token, '[redacted]');
  t.equal((lines[1].headers as Record<string, string>)['x-ms-client-request-id'], 'req-123');
  t.equal((lines[3].query as Record<string, string>).model, 'gpt-realtime');
  t.equal((lines[6].config as Record<string, number>).port, 8080);
  t.equal(lines[7].connId, 1);
});

t.test('base fields and level label', async (t) => {
  const out = sink();
  const log = createLogger({ level: 'info', pretty: false, destination: out });
  log.debug('hidden');
  log.info({ event: 'open' }, 'hello');
  t.equal(out.lines.length, 1, 'level respected');
  const line = JSON.parse(out.lines[0]) as Record<string, unknown>;
  t.equal(line.service, SERVICE_NAME);
  t.equal(line.pid, process.pid);
  t.equal(line.level, 'info');
  t.equal(line.msg, 'hello');
  t.equal(line.event, 'open');
  t.equal(typeof line.time, 'number');
  t.notOk('hostname' in line);
});

t.test('the redaction paths include the documented ones', async (t) => {
  for (const p of [
    'token',
    '*.token',
    'apiKey',
    '*.apiKey',
    'key',
    'headers.authorization',
    'headers["api-key"]',
    'headers["agent-access-token"]',
    '*.headers.authorization',
    '*.headers["api-key"]',
    '*.headers["agent-access-token"]',
    'authorization',
    '["api-key"]',
    '["agent-access-token"]',
    'query.token',
    'url',
  ]) {
    t.ok(REDACT_PATHS.includes(p), p);
  }
});

t.test('pretty without pino-pretty falls back to JSON with one warn line', async (t) => {
  const out = sink();
  const log = createLogger({
    level: 'info',
    pretty: true,
    destination: out,
    prettyModule: 'pino-pretty-not-installed-xyz',
  });
  log.info('after');
  t.equal(out.lines.length, 2);
  const warn = JSON.parse(out.lines[0]) as Record<string, unknown>;
  t.equal(warn.level, 'warn');
  t.match(warn.msg, /pino-pretty is not installed/);
  t.equal((JSON.parse(out.lines[1]) as Record<string, unknown>).msg, 'after');
  // And with the default destination (stdout); level keeps the warn off the TAP stream.
  t.ok(createLogger({ level: 'error', pretty: true, prettyModule: 'pino-pretty-not-installed-xyz' }));
  t.ok(createLogger({ level: 'silent', pretty: false }));
  t.ok(createLogger({ level: 'silent', pretty: true }), 'real pino-pretty lookup (absent here, or installed)');
});

t.test('pretty uses the module when it resolves', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-pretty-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fnMod = join(dir, 'fake-pretty.js');
  writeFileSync(
    fnMod,
    `module.exports = (opts) => { module.exports.last = opts;
    return { write(s) { if (typeof opts.destination === 'object') opts.destination.write('PRETTY ' + s); } }; };`,
  );
  const esMod = join(dir, 'fake-pretty-esm.js');
  writeFileSync(
    esMod,
    `exports.default = (opts) => { exports.last = opts;
    return { write(s) { opts.destination.write('ESM ' + s); } }; };`,
  );

  const out = sink();
  createLogger({ level: 'info', pretty: true, destination: out, prettyModule: fnMod }).info('hi');
  t.equal(out.lines.length, 1);
  t.match(out.lines[0], /^PRETTY \{/);
  t.notMatch(out.lines[0], /SECRET/);
  const fake = require(fnMod) as { last: { colorize: boolean; destination: unknown } };
  t.equal(fake.last.colorize, false, 'no colour codes into a non-terminal stream');

  createLogger({ level: 'info', pretty: true, prettyModule: fnMod });
  t.equal(fake.last.destination, stdoutSink(), 'the stdout sink by default');
  t.equal(fake.last.colorize, true);

  const out2 = sink();
  createLogger({ level: 'info', pretty: true, destination: out2, prettyModule: esMod }).info('es');
  t.match(out2.lines[0], /^ESM \{/);
});

t.test('redactUrl', async (t) => {
  const same = '/ws?model=gpt-realtime&apiVersion=2025-10-01';
  t.equal(redactUrl(same), same, 'fast path returns the same string');
  t.equal(redactUrl('/health'), '/health');
  t.equal(redactUrl('/ws?model=m&token=abc.def.ghi&x=1'), '/ws?model=m&token=[redacted]&x=1');
  t.equal(redactUrl('/ws?token=abc'), '/ws?token=[redacted]');
  t.equal(
    redactUrl('wss://h/p?api-key=k1&key=k2&sig=s#frag'),
    'wss://h/p?api-key=[redacted]&key=[redacted]&sig=[redacted]#frag',
  );
  t.equal(
    redactUrl('/x?agent-access-token=a&access_token=b&subscription-key=c'),
    '/x?agent-access-token=[redacted]&access_token=[redacted]&subscription-key=[redacted]',
  );
  t.equal(redactUrl('/x?TOKEN=a&Api-Key=b'), '/x?TOKEN=[redacted]&Api-Key=[redacted]', 'names match any case');
  t.equal(redactUrl('/x?mytoken=a&keyboard=b'), '/x?mytoken=a&keyboard=b', 'only whole parameter names');
  t.equal(redactUrl('/x?token=&a=1'), '/x?token=[redacted]&a=1');
  t.equal(redactUrl('/token/path?a=1'), '/token/path?a=1', 'a name in the path is not a parameter');
});
