import t from 'tap';
import { OriginPolicy } from '../../src/admission/origin';
import { loadConfig } from '../../src/config';

/** A policy for ALLOWED_ORIGINS entries, parsed the way the process parses them (config.ts). */
const policy = (origins: string[], allowAnyOrigin = false, allowNoOrigin = false): OriginPolicy => {
  if (origins.length === 0) return new OriginPolicy({ allowedOrigins: [], allowAnyOrigin, allowNoOrigin });
  const cfg = loadConfig({
    AZURE_AI_FOUNDRY_RESOURCE: 'res',
    ALLOWED_ORIGINS: origins.join(','),
    ALLOW_NO_ORIGIN: String(allowNoOrigin),
    ALLOW_ANONYMOUS_WILDCARD: 'true',
  });
  return new OriginPolicy({ ...cfg, allowAnyOrigin: cfg.allowAnyOrigin || allowAnyOrigin });
};

t.test('exact match of what browsers send', async (t) => {
  const p = policy(['http://localhost:3000', 'https://app.example.com']);
  t.equal(p.check('http://localhost:3000'), 'ok');
  t.equal(p.check('https://app.example.com'), 'ok');
  t.equal(p.check('http://localhost:3000.evil.com'), 'refused', 'suffix is another host');
  t.equal(p.check('http://localhost:30001'), 'refused', 'another port');
  t.equal(p.check('http://localhost:300'), 'refused', 'prefix of an allowed origin');
  t.equal(p.check('http://localhost:3000/'), 'refused', 'browsers never send a path');
  t.equal(p.check('https://localhost:3000'), 'refused', 'scheme is part of the origin');
  t.equal(p.check('http://app.example.com'), 'refused');
  t.equal(p.check('https://evil.app.example.com'), 'refused');
  t.equal(p.check('null'), 'refused', 'opaque origins (sandboxed iframes, file:) are refused');
  t.equal(p.check('HTTP://LOCALHOST:3000'), 'refused', 'browsers serialize lowercase; anything else is not a browser');
  t.equal(p.check(' http://localhost:3000'), 'refused');
  t.equal(p.check('http://localhost:3000'.repeat(100)), 'refused', 'long header refused before hashing');
  t.equal(p.isAllowed('http://localhost:3000'), true);
  t.equal(p.isAllowed('http://evil.com'), false);
  t.equal(p.isAllowed(''), false);
});

t.test('missing Origin', async (t) => {
  t.equal(policy(['http://localhost:3000']).check(''), 'missing');
  t.equal(policy(['http://localhost:3000'], false, true).check(''), 'ok', 'ALLOW_NO_ORIGIN=true');
  t.equal(policy([], true, false).check(''), 'missing', '* does not cover a missing Origin');
});

t.test('configured origins are canonicalised like browsers do', async (t) => {
  const p = policy(['http://a.example:80', 'HTTPS://B.EXAMPLE:443', 'https://c.example:8443', 'http://[::1]:3000']);
  t.equal(p.check('http://a.example'), 'ok', 'default port dropped');
  t.equal(p.check('http://a.example:80'), 'refused', 'browsers never send a default port');
  t.equal(p.check('https://b.example'), 'ok', 'lowercased');
  t.equal(p.check('https://c.example:8443'), 'ok');
  t.equal(p.check('http://[::1]:3000'), 'ok');
  const idn = policy(['https://bücher.example']);
  t.equal(idn.check('https://xn--bcher-kva.example'), 'ok', 'IDN as punycode, as browsers send it');
});

t.test('from loadConfig', async (t) => {
  const cfg = loadConfig({
    AZURE_AI_FOUNDRY_RESOURCE: 'res',
    ALLOWED_ORIGINS: 'http://localhost:3000, https://App.Example.com:443',
  });
  const p = new OriginPolicy(cfg);
  t.equal(p.check('http://localhost:3000'), 'ok');
  t.equal(p.check('https://app.example.com'), 'ok');
  t.equal(p.check('http://localhost:3000.evil.com'), 'refused');
});

t.test('* allows every present Origin', async (t) => {
  const p = policy([], true);
  t.equal(p.check('https://anything.example'), 'ok');
  t.equal(p.check('null'), 'ok');
  t.equal(p.isAllowed('https://anything.example'), true);
  t.equal(policy(['*']).check('https://x.example'), 'ok', "'*' in the list works too");
});

t.test('no origins configured refuses every Origin', async (t) => {
  const p = policy([]);
  t.equal(p.check('http://localhost:3000'), 'refused');
  t.equal(p.check(''), 'missing');
});
