// src/uws.ts: importing it loads nothing and changes nothing; the first
// loadUws() hands uWS its request-header budget and leaves process.env as it
// found it. Each case runs in a child process: the budget is fixed per process.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DIST_UWS = join(__dirname, '..', 'dist', 'uws.js');
const skip = existsSync(DIST_UWS) ? false : 'dist/uws.js missing: run `npm run build` (npm test does)';

/** Runs `body` in a fresh node with `uws` = require(dist/uws.js); prints one JSON line. */
function run(body: string, env: Record<string, string> = {}): Record<string, unknown> {
  const script = `
    const http = require('node:http');
    const before = JSON.stringify(process.env);
    const uws = require(${JSON.stringify(DIST_UWS)});
    const loadedOnImport = Object.keys(require.cache).some((f) => f.includes('uWebSockets.js'));
    const status = (bytes) => new Promise((resolve, reject) => {
      const app = uws.uws().App().any('/*', (res) => res.end('ok'));
      app.listen('127.0.0.1', 0, (ls) => {
        const port = uws.uws().us_socket_local_port(ls);
        const req = http.request({ host: '127.0.0.1', port, headers: { 'x-big': 'a'.repeat(bytes) } }, (res) => {
          res.resume();
          uws.uws().us_listen_socket_close(ls);
          app.close();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
    });
    (async () => {
      const out = { importUnchanged: JSON.stringify(process.env) === before, loadedOnImport };
      ${body}
      out.envUnchanged = JSON.stringify(process.env) === before;
      process.stdout.write(JSON.stringify(out));
    })();
  `;
  const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env } });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString()) as Record<string, unknown>;
}

t.test('importing dist/uws.js neither loads uWS nor touches process.env', { skip }, async (t) => {
  const out = run('');
  t.equal(out.importUnchanged, true);
  t.equal(out.loadedOnImport, false);
});

t.test('the default budget is 16 KiB, and loading leaves process.env unchanged', { skip }, async (t) => {
  const out = run(`uws.loadUws(); out.small = await status(8 * 1024); out.big = await status(20 * 1024);`);
  t.equal(out.small, 200, '8 KiB of headers pass (uWS alone would refuse them above 4 KB)');
  t.equal(out.big, 431, '20 KiB are refused before any handler');
  t.equal(out.envUnchanged, true, 'UWS_HTTP_MAX_HEADERS_SIZE is not left behind');
});

t.test('the configured budget (cfg.uwsMaxHeadersSize) is the one uWS gets', { skip }, async (t) => {
  const out = run(`uws.loadUws(65536); out.big = await status(32 * 1024); uws.loadUws(1024);
    out.again = await status(32 * 1024);`);
  t.equal(out.big, 200);
  t.equal(out.again, 200, 'a later call does not change the budget uWS loaded with');
  t.equal(out.envUnchanged, true);
});

t.test("an operator's UWS_HTTP_MAX_HEADERS_SIZE is kept when no budget is given", { skip }, async (t) => {
  const out = run(`out.big = await status(32 * 1024); out.value = process.env.UWS_HTTP_MAX_HEADERS_SIZE;`, {
    UWS_HTTP_MAX_HEADERS_SIZE: '65536',
  });
  t.equal(out.big, 200, 'uws() loads with the environment value');
  t.equal(out.value, '65536');
  t.equal(out.envUnchanged, true);
});

t.test('a backend using the package API (dist/api.js startProxy) gets the 16 KiB budget', { skip }, async (t) => {
  const api = join(__dirname, '..', 'dist', 'api.js');
  const script = `
    const http = require('node:http');
    const api = require(${JSON.stringify(api)});
    const status = (port, bytes) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/health', headers: { 'x-big': 'a'.repeat(bytes) } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    (async () => {
      const cfg = api.loadConfig({ AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:9', HOST: '127.0.0.1', PORT: '0', WORKERS: '1' });
      const logger = api.createLogger({ level: 'silent' });
      const server = await api.startProxy(cfg, { logger });
      const out = { small: await status(server.port, 8 * 1024), big: await status(server.port, 20 * 1024) };
      await server.shutdown(0);
      process.stdout.write(JSON.stringify(out));
      process.exit(0);
    })();
  `;
  const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '' } });
  t.equal(r.status, 0, r.stderr.toString());
  t.same(JSON.parse(r.stdout.toString()), { small: 200, big: 431 });
});
