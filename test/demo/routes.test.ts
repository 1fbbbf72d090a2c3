// The demo routes over a real socket: served only with DEMO=true, the page's
// CSP and content types, nothing outside demo/public, rate-limited like the
// other HTTP routes. Plus the asset table and the demo's environment.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSP_API, CSP_DEMO } from '../../src/http/security-headers';
import { demoEnv, demoHost, demoOrigins, demoUrls, DEMO_KEY } from '../../src/demo/demo-env';
import { freePort } from '../../src/demo/free-port';
import { DEMO_PUBLIC_DIR, loadAssets } from '../../src/demo/routes';
import { loadConfig } from '../../src/config';
import { startHarness } from '../helpers/harness';
import { startDemoStack } from './stack';

/** A GET with the path sent exactly as written (fetch would normalize `..`). */
function rawGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('DEMO=true serves the page and its assets', async (t) => {
  const stack = await startDemoStack();
  t.teardown(() => stack.close());
  const base = `http://127.0.0.1:${stack.proxy.port}`;

  const redirect = await fetch(`${base}/demo`, { redirect: 'manual' });
  t.equal(redirect.status, 308);
  t.equal(redirect.headers.get('location'), '/demo/');
  t.equal(redirect.headers.get('x-frame-options'), 'DENY');

  const page = await fetch(`${base}/demo/`);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.equal(page.headers.get('content-security-policy'), CSP_DEMO);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(page.headers.get('cache-control'), 'no-cache');
  const html = await page.text();
  t.match(html, /<script type="module" src="app.js"><\/script>/);
  t.notMatch(html, /<script>|style=/, 'no inline script or style: the CSP would block them');
  t.equal(await (await fetch(`${base}/demo/index.html`)).text(), html);

  const types: Record<string, RegExp> = {
    'app.js': /^text\/javascript/,
    'pcm-worklet.js': /^text\/javascript/,
    'player.js': /^text\/javascript/,
    'styles.css': /^text\/css/,
    'favicon.svg': /^image\/svg\+xml/,
  };
  for (const [name, type] of Object.entries(types)) {
    const res = await fetch(`${base}/demo/${name}`);
    t.equal(res.status, 200, name);
    t.match(res.headers.get('content-type'), type, `${name} content type`);
  }

  for (const path of ['/demo/nope.js', '/demo/../package.json', '/demo/%2e%2e/package.json', '/demo/sub/app.js']) {
    const res = await rawGet(stack.proxy.port, path);
    t.equal(res.status, 404, path);
    t.equal(res.headers['content-security-policy'], CSP_API, `${path}: the API CSP on errors`);
  }
  t.equal((await fetch(`${base}/`)).headers.get('content-type'), 'application/json', '/ is still the JSON info route');
});

t.test('DEMO=false (the default): no page', async (t) => {
  const h = await startHarness(t);
  t.equal(h.cfg.demo, false);
  t.equal((await h.http('/demo/')).status, 404);
  t.equal((await h.http('/demo/app.js')).status, 404);
});

t.test('demo routes are rate-limited', async (t) => {
  const stack = await startDemoStack({ RATE_LIMIT_MAX_REQUESTS: '2' });
  t.teardown(() => stack.close());
  const base = `http://127.0.0.1:${stack.proxy.port}`;
  t.equal((await fetch(`${base}/demo/`)).status, 200);
  t.equal((await fetch(`${base}/demo`, { redirect: 'manual' })).status, 308);
  const limited = await fetch(`${base}/demo/`);
  t.equal(limited.status, 429);
  t.ok(Number(limited.headers.get('retry-after')) > 0);
  t.equal((await fetch(`${base}/demo`, { redirect: 'manual' })).status, 429);
  t.equal(stack.proxy.metrics.httpRateLimited, 2);
});

t.test('loadAssets: a fixed table of servable files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-assets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadAssets(join(dir, 'missing')), /DEMO=true but the demo page is missing/);
  writeFileSync(join(dir, 'app.js'), 'x');
  t.throws(() => loadAssets(dir), /index\.html is missing/);
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(join(dir, 'notes.md'), 'not a page type');
  writeFileSync(join(dir, '.hidden.js'), 'x');
  writeFileSync(join(dir, 'Upper.js'), 'x');
  mkdirSync(join(dir, 'dir.js'));
  const assets = loadAssets(dir);
  t.same([...assets.keys()].sort(), ['app.js', 'index.html']);
  t.equal(assets.get('app.js')?.contentType, 'text/javascript; charset=utf-8');
  t.ok(loadAssets(DEMO_PUBLIC_DIR).has('pcm-worklet.js'), 'the shipped page is found from src/ and dist/ alike');
});

t.test('the demo environment', async (t) => {
  t.equal(demoOrigins(8080), 'http://localhost:8080,http://127.0.0.1:8080');
  t.equal(
    demoOrigins(8080, ' http://localhost:3000, http://localhost:8080 ,'),
    'http://localhost:8080,http://127.0.0.1:8080,http://localhost:3000',
    "keeps the developer's origins, once",
  );
  const env = demoEnv({ LOG_LEVEL: 'warn', AZURE_SPEECH_KEY: 'real-key', DEMO: 'false' }, 9999, 'ws://127.0.0.1:1234');
  const cfg = loadConfig(env);
  t.equal(cfg.demo, true);
  t.equal(cfg.port, 9999);
  t.equal(cfg.host, '127.0.0.1', 'loopback by default');
  t.equal(cfg.upstreamOrigin, 'ws://127.0.0.1:1234');
  t.equal(cfg.azureSpeechKey, DEMO_KEY, 'a real key is never sent to the simulator');
  t.equal(cfg.logLevel, 'warn');
  // A .env copied from .env.example says HOST=0.0.0.0 (for the proxy): the demo stays on loopback.
  t.equal(
    loadConfig(demoEnv({ HOST: '0.0.0.0' }, 1, 'ws://127.0.0.1:1')).host,
    '127.0.0.1',
    "HOST from .env is not the demo's",
  );
  t.equal(
    loadConfig(demoEnv({ HOST: '127.0.0.1' }, 1, 'ws://127.0.0.1:1', '0.0.0.0')).host,
    '0.0.0.0',
    'asked explicitly',
  );
  t.equal(demoHost([]), '127.0.0.1');
  t.equal(demoHost(['--host', '0.0.0.0']), '0.0.0.0');
  t.equal(demoHost(['--host=::']), '::');
  t.equal(demoHost(['--host']), '127.0.0.1', 'a flag without a value changes nothing');
  t.same(demoUrls(8080), { page: 'http://localhost:8080/demo/', ws: 'ws://localhost:8080/ws?model=gpt-realtime' });
  const port = await freePort();
  t.ok(port > 0 && port < 65536);
});
