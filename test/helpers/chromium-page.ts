// Headless Chromium with one page that loads a client library: the library is
// bundled by esbuild for the browser (platform browser, so packages' "browser"
// exports are used) into one script defining a global, and served with an
// empty page from a 127.0.0.1 server (Chromium's local-network checks block a
// page that is not itself on a loopback address from opening sockets to
// 127.0.0.1). Everything is closed in teardown.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : 'chromium not installed: apt-get install chromium';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** `source` (ES module text resolved from the repository root) as one script defining `window[globalName]`. */
export async function bundleForBrowser(source: string, globalName: string): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    globalName,
    target: 'es2022',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/**
 * Starts the page server for `script`. `origin` (`http://127.0.0.1:<port>`) is
 * for ALLOWED_ORIGINS; `open` launches Chromium (with extra flags) on the page.
 */
export async function servePage(
  t: Teardown,
  script: string,
): Promise<{ origin: string; open(args?: string[]): Promise<Page> }> {
  const server = createServer((req, res) => {
    if (req.url === '/lib.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><meta charset="utf-8"><title>client</title><script src="/lib.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    async open(args = []) {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          ...args,
        ],
      });
      t.teardown(() => browser.close());
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      return page;
    },
  };
}
