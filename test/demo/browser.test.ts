// The demo page in a real headless Chromium: fake microphone (a 300 Hz tone)
// -> AudioWorklet -> PCM16 24 kHz -> proxy -> simulator -> echo -> gapless
// playback, with the page's own counters checked against the simulator's.
// DEMO_SCREENSHOT=docs/demo-screenshot.png refreshes the README's image (taken
// on localhost:8080, the URL `npm run demo` prints, so port 8080 must be free).
/// <reference lib="dom" />
import t from 'tap';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/chromium-page';
import { until } from '../helpers/wait';
import { writeFakeMic } from './fake-mic';
import { startDemoStack, type DemoStack } from './stack';

/** The page's figure `key` as a number (its <output data-stat=key data-value=...>). */
function stat(page: Page, key: string): Promise<number> {
  return page.$eval(`output[data-stat="${key}"]`, (el) => Number((el as HTMLElement).dataset.value ?? 'NaN'));
}

function waitStat(page: Page, key: string, min: number): Promise<unknown> {
  return page.waitForFunction(
    ([k, m]) => {
      const el = document.querySelector(`output[data-stat="${k}"]`) as HTMLElement | null;
      return el !== null && Number(el.dataset.value) >= Number(m);
    },
    [key, String(min)] as const,
  );
}

/** The error line once it shows, or once it contains `part` (it changes as events and the close arrive). */
function errorText(page: Page, part = ''): Promise<string> {
  return page
    .waitForFunction((part) => {
      const el = document.getElementById('error');
      const text = el === null || el.hidden ? '' : (el.textContent ?? '');
      return text !== '' && text.includes(part) ? text : null;
    }, part)
    .then((h) => h.jsonValue() as Promise<string>);
}

t.test('demo page in headless Chromium', { skip: chromiumSkip }, async (t) => {
  const mic = writeFakeMic();
  const stacks: DemoStack[] = [];
  t.teardown(async () => {
    for (const s of stacks) await s.close();
    rmSync(mic.dir, { recursive: true, force: true });
  });
  // Closed in teardown before the stacks (teardowns run last registered first).
  const b = await launchChromium(t, { fakeMic: mic.file });

  t.test('talk through the proxy and hear the echo', async (t) => {
    const screenshot = process.env.DEMO_SCREENSHOT ?? '';
    const stack = await startDemoStack({}, screenshot === '' ? {} : { port: 8080, pageHost: 'localhost' });
    stacks.push(stack);
    const context = await b.newContext({ viewport: { width: 1100, height: 800 } });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });

    await page.goto(stack.pageUrl);
    t.equal(
      await page.inputValue('#proxy-url'),
      `ws://${new URL(stack.pageUrl).host}/ws`,
      'proxy URL defaults to this host',
    );
    await page.click('#connect');
    // session.created -> session.update -> session.updated: the session round trip.
    await waitStat(page, 'rttSession', 0);
    await page.waitForFunction(() => document.body.dataset.state === 'open');
    await page.waitForFunction(() => document.getElementById('mic-status')?.textContent?.startsWith('Microphone:'));

    // Push to talk for one loop of the fake mic (2 s: 40 chunks of 50 ms), then release: commit.
    await page.hover('#talk');
    await page.mouse.down();
    await waitStat(page, 'framesSent', 41);
    await page.mouse.up();
    await waitStat(page, 'commits', 1);
    await waitStat(page, 'audioChunksScheduled', 1);
    await page.waitForFunction(() => {
      const first = document.querySelector('#events li code');
      return first !== null && first.textContent === 'response.done';
    });

    const framesSent = await stat(page, 'framesSent');
    await until(() => stack.sim.stats.framesIn === framesSent, 'every page frame to reach the simulator');
    t.equal(stack.sim.stats.framesIn, framesSent, 'frames reached the simulator unchanged in number');
    await page.waitForFunction(
      (n) => Number((document.querySelector('output[data-stat="framesReceived"]') as HTMLElement).dataset.value) === n,
      stack.sim.stats.framesOut,
    );
    t.equal(await stat(page, 'framesReceived'), stack.sim.stats.framesOut, 'every simulator frame reached the page');

    const sent = await stat(page, 'audioSecondsSent');
    const received = await stat(page, 'audioSecondsReceived');
    t.ok(sent >= 2, `two seconds of audio sent (${sent} s)`);
    t.ok(Math.abs(received - sent) < 0.01, `the echo is as long as the input (${received} s vs ${sent} s)`);
    t.ok((await stat(page, 'audioChunksScheduled')) >= 10, 'the echo is scheduled chunk by chunk');
    t.equal(await stat(page, 'playbackGaps'), 0, 'playback is gapless');
    t.ok((await stat(page, 'rttAudio')) > 0, 'commit -> first audio is measured');
    t.match(await page.textContent('#reply-said'), /You said something/, 'the simulator heard the tone, not silence');
    // The AudioContext clock runs: everything scheduled plays out.
    await page.waitForFunction(
      () => (document.querySelector('output[data-stat="playbackQueuedMs"]') as HTMLElement).dataset.value === '0',
    );

    // The page's own headers and asset types, as the browser received them.
    const res = await page.request.get(new URL('pcm-worklet.js', stack.pageUrl).href);
    t.match(res.headers()['content-type'], /^text\/javascript/);
    t.match(res.headers()['content-security-policy'], /script-src 'self'/);

    if (screenshot !== '') await page.screenshot({ path: screenshot });

    await page.click('#disconnect');
    await page.waitForFunction(() => document.body.dataset.state === 'closed');
    t.equal(await page.isHidden('#error'), true, 'a user disconnect is not an error');

    // After the upgrade, a request error arrives as an `error` event and close 1008.
    await page.check('input[name=mode][value=agent]');
    await page.fill('#agent-id', 'asst_demo');
    await page.fill('#project-name', 'demo-project');
    await page.click('#connect');
    // The error event shows first; the close, which follows it, rewrites the line.
    const err = await errorText(page, 'close code');
    t.match(err, /close code 1008/, 'close code shown');
    t.match(err, /agent_token_required/, 'error event code shown');
    t.same(pageErrors, [], 'no script errors on the page');
  });

  t.test('hands-free: speech is sent, silence commits the turn', async (t) => {
    const stack = await startDemoStack();
    stacks.push(stack);
    const context = await b.newContext();
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto(stack.pageUrl);
    await page.check('#hands-free');
    await page.click('#connect');
    // The fake mic loops 1 s of tone and 1 s of silence: no button is touched.
    await waitStat(page, 'commits', 1);
    await waitStat(page, 'audioChunksScheduled', 1);
    await page.waitForFunction(() =>
      /You said something/.test(document.getElementById('reply-said')?.textContent ?? ''),
    );
    const sent = await stat(page, 'audioSecondsSent');
    t.ok(sent > 0.9 && sent < 2.5, `the tone plus pre-roll and the silence before the commit (${sent} s)`);
    t.ok(stack.sim.stats.framesIn > 0, 'frames reached the simulator');
  });

  t.test('origin not allowed: a readable refusal on the page', async (t) => {
    const stack = await startDemoStack({ ALLOWED_ORIGINS: 'http://localhost:3000' });
    stacks.push(stack);
    const context = await b.newContext();
    t.teardown(() => context.close());
    const page = await context.newPage();
    await page.goto(stack.pageUrl);
    await page.click('#connect');
    const err = await errorText(page);
    t.match(err, /Connection refused by the proxy \(origin not allowed, rate limited, or at capacity\)/);
    t.match(err, /check the proxy logs/);
    t.match(err, /1006/);
    t.equal(await page.getAttribute('body', 'data-state'), 'error');
    t.equal(stack.proxy.metrics.upgradesOrigin, 1, 'the proxy refused it for its origin');
    t.equal(stack.sim.stats.sessions, 0, 'the upstream was never contacted');
  });
});
