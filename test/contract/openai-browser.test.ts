// The `openai` package's browser realtime client (OpenAIRealtimeWebSocket,
// openai 7.60.0) in headless Chromium, unchanged, through the proxy to the
// simulator. It is built as an app would build it: an OpenAI client with
// `baseURL: https://<proxy>/v1`, an apiKey and `dangerouslyAllowBrowser`,
// so it opens wss://<proxy>/v1/realtime?model=... offering the subprotocols
// `realtime`, `openai-insecure-api-key.<key>`, `openai-organization.<org>`
// and `openai-project.<project>`. The client refuses any scheme but wss://,
// so a TLS terminator (test/helpers/tls-terminator.ts) sits in front of the
// proxy; Chromium trusts its throwaway certificate by its SPKI pin (rather
// than ignoring every certificate error). The terminator keeps the upgrade
// request and the proxy's answer, the simulator keeps the upstream request,
// and the harness keeps the proxy's logs: the key must be in the first and in
// none of the others. A bare browser WebSocket offering the key first shows
// the 101 never echoes it, whatever the order.
/// <reference lib="dom" />
import t from 'tap';
import type { Page } from 'playwright-core';
import { startHarness, TEST_KEY } from '../helpers/harness';
import { bundleForBrowser, chromiumSkip, servePage } from '../helpers/chromium-page';
import { headerOf, startTlsTerminator } from '../helpers/tls-terminator';
import { mintTicket } from '../../src/auth/mint-ticket';

const KEY = 'sk-browser-secret-0123456789abcdefABCDEF';
const ORG = 'org-browser0123';
const PROJECT = 'proj_browser0123';
const CREDENTIAL_PROTOCOL = /openai-insecure-api-key|openai-organization|openai-project/i;
const TICKET_SECRET = 'openai-browser-ticket-secret-0123456789';
const APPENDS = 10;
const CHUNK_BYTES = 4800;

interface Turn {
  url: string;
  protocol: string;
  created: boolean;
  updated: boolean;
  audioBytes: number;
  transcript: string;
  status: string;
  errors: string[];
  closeCode: number;
}

/** Runs in the page: one whole turn, written as the openai docs write it for the browser. */
function runTurn(page: Page, baseURL: string): Promise<Turn> {
  return page.evaluate(
    async ([baseURL, key, org, project, appends, chunkBytes]) => {
      type Lib = typeof import('openai') & typeof import('openai/realtime/websocket');
      const { OpenAI, OpenAIRealtimeWebSocket } = (window as unknown as { OpenAIBrowser: Lib }).OpenAIBrowser;
      const client = new OpenAI({ apiKey: key, baseURL, organization: org, project, dangerouslyAllowBrowser: true });
      const rt = new OpenAIRealtimeWebSocket({ model: 'gpt-realtime', dangerouslyAllowBrowser: true }, client);
      const out = {
        url: rt.url.toString(),
        protocol: '',
        created: false,
        updated: false,
        audioBytes: 0,
        transcript: '',
        status: '',
        errors: [] as string[],
        closeCode: 0,
      };
      rt.on('error', (e) => out.errors.push(e.message));
      const socket = rt.socket as WebSocket;
      const closed = new Promise<void>((resolve) => {
        socket.addEventListener('close', (e) => {
          out.closeCode = e.code;
          resolve();
        });
      });
      const created = new Promise<void>((resolve) => {
        rt.on('session.created', () => {
          out.created = true;
          resolve();
        });
      });
      const updated = new Promise<void>((resolve) => {
        rt.on('session.updated', () => {
          out.updated = true;
          resolve();
        });
      });
      const done = new Promise<void>((resolve) => {
        rt.on('response.output_audio.delta', (e) => {
          out.audioBytes += atob(e.delta).length;
        });
        rt.on('response.output_audio_transcript.done', (e) => {
          out.transcript = e.transcript;
        });
        rt.on('response.done', (e) => {
          out.status = String(e.response.status);
          resolve();
        });
      });
      // A refusal closes the socket: stop waiting instead of hanging.
      const orClosed = (p: Promise<void>): Promise<void> => Promise.race([p, closed]);
      await orClosed(new Promise<void>((resolve) => socket.addEventListener('open', () => resolve())));
      out.protocol = socket.protocol;
      await orClosed(created);
      rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
      await orClosed(updated);
      const chunk = new Uint8Array(chunkBytes);
      const view = new DataView(chunk.buffer);
      for (let i = 0; i < chunk.length; i += 2) view.setInt16(i, ((i >> 6) & 1) === 0 ? 6000 : -6000, true);
      let bin = '';
      for (const b of chunk) bin += String.fromCharCode(b);
      const audio = btoa(bin);
      for (let i = 0; i < appends; i++) rt.send({ type: 'input_audio_buffer.append', audio });
      rt.send({ type: 'input_audio_buffer.commit' });
      await orClosed(done);
      rt.close();
      await closed;
      return out;
    },
    [baseURL, KEY, ORG, PROJECT, APPENDS, CHUNK_BYTES] as const,
  );
}

interface Refusal {
  opened: boolean;
  errors: Array<{ message: string; code: string }>;
  closeCode: number;
  closeReason: string;
}

/** Runs in the page: opens the client as in runTurn and reports what the app sees until the socket closes. */
function refusal(page: Page, baseURL: string, model: string): Promise<Refusal> {
  return page.evaluate(
    async ([baseURL, key, model]) => {
      type Lib = typeof import('openai') & typeof import('openai/realtime/websocket');
      const { OpenAI, OpenAIRealtimeWebSocket } = (window as unknown as { OpenAIBrowser: Lib }).OpenAIBrowser;
      const client = new OpenAI({ apiKey: key, baseURL, dangerouslyAllowBrowser: true });
      const rt = new OpenAIRealtimeWebSocket({ model, dangerouslyAllowBrowser: true }, client);
      const out = {
        opened: false,
        errors: [] as Array<{ message: string; code: string }>,
        closeCode: 0,
        closeReason: '',
      };
      rt.on('error', (e) => out.errors.push({ message: e.message, code: String(e.error?.code ?? '') }));
      const socket = rt.socket as WebSocket;
      socket.addEventListener('open', () => {
        out.opened = true;
      });
      await new Promise<void>((resolve) => {
        socket.addEventListener('close', (e) => {
          out.closeCode = e.code;
          out.closeReason = e.reason;
          resolve();
        });
      });
      return out;
    },
    [baseURL, KEY, model] as const,
  );
}

/** Runs in the page: opens the client, waits for session.created (or a close), closes; what it saw. */
function session(page: Page, baseURL: string): Promise<{ created: boolean; closeCode: number }> {
  return page.evaluate(
    async ([baseURL, key]) => {
      type Lib = typeof import('openai') & typeof import('openai/realtime/websocket');
      const { OpenAI, OpenAIRealtimeWebSocket } = (window as unknown as { OpenAIBrowser: Lib }).OpenAIBrowser;
      const client = new OpenAI({ apiKey: key, baseURL, dangerouslyAllowBrowser: true });
      const rt = new OpenAIRealtimeWebSocket({ model: 'gpt-realtime', dangerouslyAllowBrowser: true }, client);
      rt.on('error', () => undefined);
      const socket = rt.socket as WebSocket;
      let created = false;
      const closed = new Promise<number>((resolve) => socket.addEventListener('close', (e) => resolve(e.code)));
      await Promise.race([
        new Promise<void>((resolve) =>
          rt.on('session.created', () => {
            created = true;
            resolve();
          }),
        ),
        closed,
      ]);
      if (created) rt.close();
      return { created, closeCode: await closed };
    },
    [baseURL, KEY] as const,
  );
}

/** Runs in the page: a bare browser WebSocket offering the key FIRST; the protocol the page was given, and the close. */
function keyFirst(page: Page, url: string): Promise<{ protocol: string; closeCode: number }> {
  return page.evaluate(
    async ([url, key]) => {
      const ws = new WebSocket(url, [`openai-insecure-api-key.${key}`, 'realtime']);
      const protocol = await new Promise<string>((resolve, reject) => {
        ws.addEventListener('open', () => resolve(ws.protocol));
        ws.addEventListener('close', (e) => reject(new Error(`closed ${e.code} before open`)));
      });
      const closeCode = await new Promise<number>((resolve) => {
        ws.addEventListener('close', (e) => resolve(e.code));
        ws.close(1000);
      });
      return { protocol, closeCode };
    },
    [url, KEY] as const,
  );
}

t.test('openai browser client in headless Chromium, over TLS to the proxy', { skip: chromiumSkip }, async (t) => {
  const lib = await bundleForBrowser(
    "export { OpenAI } from 'openai'; export { OpenAIRealtimeWebSocket } from 'openai/realtime/websocket';",
    'OpenAIBrowser',
  );
  const served = await servePage(t, lib);
  const h = await startHarness(t, { ALLOWED_ORIGINS: served.origin, ALLOWED_MODELS: 'gpt-realtime' });
  const tls = await startTlsTerminator(t, h.proxy.port);
  // A proxy that allows another origin only, behind its own terminator.
  const other = await startHarness(t, { ALLOWED_ORIGINS: 'https://app.example.com' });
  const otherTls = await startTlsTerminator(t, other.proxy.port);
  // A proxy with CLIENT_AUTH=ticket.
  const ticketed = await startHarness(t, {
    ALLOWED_ORIGINS: served.origin,
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: TICKET_SECRET,
  });
  const ticketedTls = await startTlsTerminator(t, ticketed.proxy.port);
  const page = await served.open({ trust: [tls.ca, otherTls.ca, ticketedTls.ca] });

  t.test('a full turn: the key offered as a subprotocol goes nowhere', async (t) => {
    const r = await runTurn(page, `${tls.origin}/v1`);
    t.equal(r.url, `wss://127.0.0.1:${tls.port}/v1/realtime?model=gpt-realtime`, 'the URL the client built');
    t.same(r.errors, []);
    t.equal(r.created, true, 'session.created');
    t.equal(r.updated, true, 'session.updated');
    t.equal(r.audioBytes, APPENDS * CHUNK_BYTES, 'the whole echo came back through the typed GA audio listener');
    t.match(r.transcript, /seconds long/);
    t.equal(r.status, 'completed');
    t.equal(r.closeCode, 1000);

    t.equal(tls.heads.length, 1, 'one connection');
    const { request, response } = tls.heads[0];
    const offered = headerOf(request, 'sec-websocket-protocol') ?? '';
    t.match(offered, `openai-insecure-api-key.${KEY}`, 'the client offered its key as a subprotocol');
    t.match(offered, `openai-organization.${ORG}`);
    t.match(offered, `openai-project.${PROJECT}`);
    t.match(response, /^HTTP\/1\.1 101 /);
    t.equal(headerOf(response, 'sec-websocket-protocol'), 'realtime', 'the 101 echoes realtime');
    t.notMatch(response, CREDENTIAL_PROTOCOL, 'no credential subprotocol in the 101');
    t.notMatch(response, KEY);
    t.equal(r.protocol, 'realtime', 'the page sees realtime as the socket protocol');

    t.equal(h.sim.upgrades.length, 1);
    const up = h.sim.upgrades[0];
    t.equal(up.path, '/voice-live/realtime');
    t.same(
      [...new URL(up.url, 'ws://x').searchParams.entries()],
      [
        ['api-version', 'v1'],
        ['model', 'gpt-realtime'],
      ],
      'the GA protocol version, as the /v1 path implies',
    );
    t.equal(up.headers['api-key'], TEST_KEY, "the proxy's own credential went upstream");
    t.equal(up.headers.authorization, undefined);
    t.equal(up.headers['sec-websocket-protocol'], undefined, 'no subprotocol forwarded');
    const upstream = JSON.stringify(up);
    for (const secret of [KEY, ORG, PROJECT]) t.notMatch(upstream, secret, `${secret} not sent upstream`);
    t.notMatch(upstream, CREDENTIAL_PROTOCOL);
    t.equal(h.proxy.metrics.clientCredentialsDroppedSubprotocol, 1, 'the offered key was counted as dropped');
    t.same((await h.logLine('client credential dropped')).dropped, ['subprotocol'], 'and logged by kind');
    const logs = h.logs.join('\n');
    t.notMatch(logs, KEY, 'the key is not in the logs');
    t.notMatch(logs, 'openai-insecure-api-key.', 'nor the protocol carrying it');
  });

  t.test('a model outside ALLOWED_MODELS: the error listener has the code, then close 1008', async (t) => {
    const r = await refusal(page, `${tls.origin}/v1`, 'gpt-4o-realtime-preview');
    t.equal(r.opened, true, 'the socket opened: a request error comes after the upgrade');
    t.equal(r.errors.length, 1);
    t.equal(r.errors[0].code, 'model_not_allowed');
    t.match(r.errors[0].message, /^Model not allowed code=model_not_allowed /);
    t.equal(r.closeCode, 1008);
    t.equal(r.closeReason, 'Model not allowed');
    t.notMatch(h.logs.join('\n'), KEY);
  });

  t.test('an origin the proxy does not allow: an error without detail, then 1006', async (t) => {
    const r = await refusal(page, `${otherTls.origin}/v1`, 'gpt-realtime');
    t.equal(r.opened, false);
    t.same(r.errors, [{ message: 'unknown error', code: '' }], 'the browser hides the 403 from the page');
    t.equal(r.closeCode, 1006);
    t.equal(other.proxy.metrics.upgradesOrigin, 1);
    t.match(otherTls.heads[0].response, /^HTTP\/1\.1 403 /);
    t.notMatch(otherTls.heads[0].response, KEY);
    t.notMatch(other.logs.join('\n'), KEY);
  });

  t.test('a bare browser WebSocket offering the key first: the 101 still echoes realtime', async (t) => {
    const before = tls.heads.length;
    const r = await keyFirst(page, `wss://127.0.0.1:${tls.port}/v1/realtime?model=gpt-realtime`);
    t.equal(r.protocol, 'realtime');
    t.equal(r.closeCode, 1000);
    const { request, response } = tls.heads[before];
    t.match(
      headerOf(request, 'sec-websocket-protocol') ?? '',
      new RegExp(`^openai-insecure-api-key\\.${KEY}, realtime$`),
    );
    t.equal(headerOf(response, 'sec-websocket-protocol'), 'realtime');
    t.notMatch(response, KEY);
    t.notMatch(JSON.stringify(h.sim.upgrades), KEY);
    t.notMatch(h.logs.join('\n'), KEY);
  });

  t.test('CLIENT_AUTH: a ticket in the base URL query is the caller proof, never forwarded', async (t) => {
    const refused = await session(page, `${ticketedTls.origin}/v1`);
    t.same(refused, { created: false, closeCode: 1006 }, 'without a ticket: refused before the upgrade');
    t.equal(ticketed.proxy.metrics.authMissing, 1);
    const ticket = await mintTicket({ sub: 'browser-user', secret: TICKET_SECRET, origin: served.origin });
    const r = await session(page, `${ticketedTls.origin}/v1?ticket=${ticket}`);
    t.same(r, { created: true, closeCode: 1000 });
    t.match(ticketedTls.heads[1].request, `GET /v1/realtime?ticket=${ticket}&model=gpt-realtime `);
    t.equal(ticketed.sim.upgrades.length, 1);
    t.notMatch(JSON.stringify(ticketed.sim.upgrades[0]), ticket, 'the ticket is not sent upstream');
    t.notMatch(JSON.stringify(ticketed.sim.upgrades[0]), KEY);
    t.notMatch(ticketed.logs.join('\n'), KEY);
  });
});
