// The demo page over the proxy's own TLS in headless Chromium: the page loads
// from https://, opens wss:// to the same port and runs a push-to-talk turn.
// Chromium trusts the test certificate by its public key alone
// (--ignore-certificate-errors-spki-list), not by ignoring every error.
/// <reference lib="dom" />
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HSTS } from '../../src/http/security-headers';
import { onFreePort } from '../../src/demo/free-port';
import { chromiumSkip, launchChromium } from '../helpers/chromium-page';
import { makeCa, makeLeaf, opensslInstalled } from '../helpers/tls-pki';
import { until } from '../helpers/wait';
import { writeFakeMic } from './fake-mic';
import { startDemoStack, type DemoStack } from './stack';

const skip = chromiumSkip || (opensslInstalled() ? false : 'openssl not installed');

t.test('the demo page over https:// and wss:// in headless Chromium', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-demo-tls-'));
  const mic = writeFakeMic();
  let stack: DemoStack | null = null;
  t.teardown(async () => {
    await stack?.close();
    rmSync(mic.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const ca = makeCa(dir);
  const leaf = makeLeaf(ca, dir, 'demo');

  stack = await onFreePort((port) =>
    startDemoStack(
      { TLS_CERT_FILE: leaf.chain, TLS_KEY_FILE: leaf.key, ALLOWED_ORIGINS: `https://127.0.0.1:${port}` },
      { port },
    ),
  );
  const pageUrl = `https://127.0.0.1:${stack.proxy.port}/demo/`;
  // Closed in teardown before the stack (teardowns run last registered first).
  const browser = await launchChromium(t, { trust: [readFileSync(leaf.cert)], fakeMic: mic.file });
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  const res = await page.goto(pageUrl);
  t.equal(res?.status(), 200, 'the page over https://');
  t.equal(res?.headers()['strict-transport-security'], HSTS, 'with HSTS');
  t.equal(
    await page.inputValue('#proxy-url'),
    `wss://127.0.0.1:${stack.proxy.port}/ws`,
    'the page picks wss:// on the same host',
  );
  await page.click('#connect');
  await page.waitForFunction(() => document.body.dataset.state === 'open');
  await page.waitForFunction(() => document.getElementById('mic-status')?.textContent?.startsWith('Microphone:'));

  // Push to talk for one loop of the fake mic, then release: the turn is committed and answered.
  await page.hover('#talk');
  await page.mouse.down();
  await page.waitForFunction(
    () => Number((document.querySelector('output[data-stat="framesSent"]') as HTMLElement).dataset.value) >= 41,
  );
  await page.mouse.up();
  await page.waitForFunction(() => {
    const first = document.querySelector('#events li code');
    return first !== null && first.textContent === 'response.done';
  });
  const framesSent = await page.$eval('output[data-stat="framesSent"]', (el) =>
    Number((el as HTMLElement).dataset.value),
  );
  await until(() => stack!.sim.stats.framesIn === framesSent, 'every page frame to reach the simulator');
  t.equal(stack.sim.stats.framesIn, framesSent, 'every frame the page sent over wss:// reached the upstream');
  t.match(await page.textContent('#reply-said'), /You said something/, 'the turn was heard and answered');
  await page.click('#disconnect');
  await page.waitForFunction(() => document.body.dataset.state === 'closed');
  t.same(pageErrors, [], 'no script errors on the page');
});
