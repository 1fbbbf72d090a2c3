// Headless Chromium (/usr/bin/chromium, driven by playwright-core) for the
// browser tests, closed in teardown. `launchChromium` is the browser alone, for
// a page some server of the test serves (the demo); `servePage` also serves an
// empty page that loads one client library: the library is bundled by esbuild
// for the browser (platform browser, so packages' "browser" exports are used)
// into one script defining a global, and served from a 127.0.0.1 server
// (Chromium's local-network checks block a page that is not itself on a
// loopback address from opening sockets to 127.0.0.1).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : 'chromium not installed: apt-get install chromium';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ChromiumOptions {
  /**
   * Throwaway test certificates (PEM) to accept: Chromium trusts each by its
   * public key pin rather than ignoring every certificate error.
   */
  trust?: ReadonlyArray<string | Buffer>;
  /**
   * A WAV file Chromium plays, looped, as the microphone; the permission is
   * granted without a prompt and audio plays without a user gesture.
   */
  fakeMic?: string;
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo (DER), as --ignore-certificate-errors-spki-list takes it. */
function spkiPin(pem: string | Buffer): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

function chromiumArgs(opts: ChromiumOptions): string[] {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  if (opts.trust !== undefined && opts.trust.length > 0) {
    args.push(`--ignore-certificate-errors-spki-list=${opts.trust.map(spkiPin).join(',')}`);
  }
  if (opts.fakeMic !== undefined) {
    args.push(
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${opts.fakeMic}`,
      '--autoplay-policy=no-user-gesture-required',
    );
  }
  return args;
}

/** Launches headless Chromium; it is closed in the test's teardown. */
export async function launchChromium(t: Teardown, opts: ChromiumOptions = {}): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs(opts) });
  t.teardown(() => browser.close());
  return browser;
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
 * for ALLOWED_ORIGINS; `open` launches Chromium and loads the page in it.
 */
export async function servePage(
  t: Teardown,
  script: string,
): Promise<{ origin: string; open(opts?: ChromiumOptions): Promise<Page> }> {
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
    async open(opts = {}) {
      const page = await (await launchChromium(t, opts)).newPage();
      await page.goto(`${origin}/`);
      return page;
    },
  };
}
