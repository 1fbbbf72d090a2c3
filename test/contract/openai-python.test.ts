// The Python `openai` package (3.22.1, with `websockets`: the `realtime`
// extra), unchanged, through the real proxy to the simulator. Each case runs
// test/python/realtime_turn.py once, one whole turn as an app writes it:
// session.update, appends, commit, the audio back, response.done; the script
// prints one JSON line per server event (its type and the class the client
// parsed it into) and a closing line, or the exception the app would catch.
// The venv comes from test/python/setup-venv.sh (.ci/run calls it); without
// it every case skips with that message.
// The clients connect with wss:// (the Azure and beta ones always; the GA
// `OpenAI` follows the base URL's scheme), so a local TLS terminator
// (test/helpers/tls-terminator.ts) fronts the proxy and Python trusts its
// throwaway certificate through SSL_CERT_FILE: verification stays on. The
// terminator keeps the upgrade request as the client sent it; the simulator
// keeps what reached the upstream.
// The cases over TLS use the async clients: the sync ones (websockets'
// threaded implementation, one thread blocked reading the TLS socket while
// another writes the request) stall in the opening handshake over wss://
// about twice in 100 connections (no request bytes reach this TLS front)
// until their 10 s open_timeout, the async ones not once in 100. The sync
// client runs its whole turn over plain ws:// instead.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkSecretKept, startHarness, type Harness } from '../helpers/harness';
import { headerOf, startTlsTerminator, type TlsTerminator } from '../helpers/tls-terminator';
import { mintTicket } from '../../src/auth/mint-ticket';

const ROOT = resolve(__dirname, '..', '..');
const VENV = join(ROOT, '.cache', 'python-openai');
const PYTHON = join(VENV, 'bin', 'python');
const SCRIPT = join(ROOT, 'test', 'python', 'realtime_turn.py');

/** Why the cases skip: no venv, or one made from other pins (its stamp's second line is their sha256). */
function venvProblem(): string | false {
  const setup = 'run bash test/python/setup-venv.sh (needs python3 and python3-venv)';
  const stamp = join(VENV, '.pins');
  if (!existsSync(PYTHON) || !existsSync(stamp)) return `no Python venv for the openai client: ${setup}`;
  const pins = createHash('sha256')
    .update(readFileSync(join(ROOT, 'test', 'python', 'requirements.txt')))
    .digest('hex');
  if (readFileSync(stamp, 'utf8').split('\n')[1] !== pins)
    return `the Python venv has other pins than test/python/requirements.txt: ${setup}`;
  return false;
}
const pythonSkip = venvProblem();

/** The app's own OpenAI key: it must never reach the upstream, a log or a metric value. */
const CLIENT_KEY = 'sk-client-secret-do-not-forward-42';
const PLACEHOLDER = 'placeholder-not-a-key';
/** What the script sends: 10 appends of 100 ms at 24 kHz, PCM16. */
const AUDIO_BYTES = 10 * 4800;
const TICKET_SECRET = 'openai-python-ticket-secret-0123456789';

/** The class modules the client parses events into: the GA protocol's and the beta (preview) one's. */
const GA_TYPES = 'openai.types.realtime.';
const BETA_TYPES = 'openai.types.beta.realtime.';

interface Setup {
  h: Harness;
  tls: TlsTerminator;
  /** `https://127.0.0.1:<terminator port>` */
  origin: string;
  /** The environment the script runs in: SSL_CERT_FILE is the terminator's certificate. */
  env: NodeJS.ProcessEnv;
}

async function setup(t: Test, env: Record<string, string> = {}): Promise<Setup> {
  // The Python client sends no Origin header: a server-side caller needs ALLOW_NO_ORIGIN.
  const h = await startHarness(t, {
    ALLOW_NO_ORIGIN: 'true',
    ALLOWED_MODELS: 'gpt-realtime,gpt-realtime-mini',
    ...env,
  });
  const tls = await startTlsTerminator(t, h.proxy.port);
  const dir = mkdtempSync(join(tmpdir(), 'vlp-py-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.ca);
  return { h, tls, origin: tls.origin, env: pythonEnv(caFile) };
}

/** The test's own environment less anything that would steer the openai client (keys, base URLs, versions). */
function pythonEnv(caFile?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OPENAI_|AZURE_OPENAI_|SSL_CERT_|REQUESTS_CA_BUNDLE$|PYTHON)/.test(k)) env[k] = v;
  }
  env.PYTHONDONTWRITEBYTECODE = '1';
  if (caFile !== undefined) env.SSL_CERT_FILE = caFile;
  return env;
}

interface TurnArgs {
  client: 'OpenAI' | 'AsyncOpenAI' | 'AzureOpenAI' | 'AsyncAzureOpenAI';
  options: Record<string, unknown>;
  api: 'ga' | 'beta';
  model: string;
  connect?: Record<string, unknown>;
  /** Read events until session.created before sending anything. */
  wait_created?: boolean;
}

interface Seen {
  event: string;
  class: string;
  /** An error event's code. */
  code?: string;
}

interface Outcome {
  events: Seen[];
  done?: { updated: boolean; audio_bytes: number; transcript: string; status: string };
  exception?: {
    class: string;
    message: string;
    status?: number;
    body?: string;
    retry_after?: string;
    code?: number;
    reason?: string;
  };
}

/** Runs one turn in Python; rejects (with its stderr) when the script itself fails. */
function runTurn(args: TurnArgs, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [SCRIPT, JSON.stringify(args)],
      { env, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`realtime_turn.py failed: ${err.message}\n${stderr}`));
          return;
        }
        const out: Outcome = { events: [] };
        for (const line of stdout.split('\n')) {
          if (line === '') continue;
          const o = JSON.parse(line) as Record<string, unknown>;
          if ('event' in o) out.events.push(o as unknown as Seen);
          else if ('done' in o) out.done = o.done as Outcome['done'];
          else if ('exception' in o) out.exception = o.exception as Outcome['exception'];
        }
        if (out.done === undefined && out.exception === undefined)
          reject(new Error(`realtime_turn.py printed no outcome\n${stdout}\n${stderr}`));
        else resolve(out);
      },
    );
  });
}

/** The class the client parsed the first event named `type` into. */
function classOf(r: Outcome, type: string): string | undefined {
  return r.events.find((e) => e.event === type)?.class;
}

/** A whole turn: session.updated, all the audio back, the transcript, response.done completed. */
function checkTurn(t: Test, r: Outcome, audio: string): void {
  t.equal(r.exception, undefined, 'no exception');
  t.same(r.done, {
    updated: true,
    audio_bytes: AUDIO_BYTES,
    transcript: r.done?.transcript ?? '',
    status: 'completed',
  });
  t.match(r.done?.transcript, /seconds long/);
  t.ok(
    r.events.some((e) => e.event === audio),
    `the audio came as ${audio}`,
  );
  t.equal(r.events.at(-1)?.event, 'response.done');
}

/** The request line the client sent, e.g. `GET /v1/realtime?model=x HTTP/1.1`. */
function requestLine(tls: TlsTerminator, i = 0): string {
  return tls.heads[i].request.split('\r\n')[0];
}

function upstreamQuery(h: Harness): string[][] {
  return [...new URLSearchParams(h.sim.upgrades[0].query).entries()];
}

t.test(
  'AsyncOpenAI(base_url=<proxy>/v1): /v1/realtime, Bearer sk-... dropped, GA names typed',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, origin, env } = await setup(t);
    const r = await runTurn(
      {
        client: 'AsyncOpenAI',
        options: { api_key: CLIENT_KEY, base_url: `${origin}/v1` },
        api: 'ga',
        model: 'gpt-realtime-mini',
      },
      env,
    );
    checkTurn(t, r, 'response.output_audio.delta');
    t.equal(classOf(r, 'response.output_audio.delta'), `${GA_TYPES}response_audio_delta_event.ResponseAudioDeltaEvent`);
    t.equal(classOf(r, 'response.done'), `${GA_TYPES}response_done_event.ResponseDoneEvent`);
    t.equal(requestLine(tls), 'GET /v1/realtime?model=gpt-realtime-mini HTTP/1.1');
    t.equal(headerOf(tls.heads[0].request, 'authorization'), `Bearer ${CLIENT_KEY}`, 'the client sent its key');
    t.equal(headerOf(tls.heads[0].request, 'origin'), undefined, 'the client sends no Origin');
    t.match(headerOf(tls.heads[0].request, 'sec-websocket-extensions'), /permessage-deflate/, 'offered');
    t.equal(headerOf(tls.heads[0].response, 'sec-websocket-extensions'), undefined, 'declined: no compression');
    t.equal(headerOf(tls.heads[0].request, 'x-stainless-lang'), 'python');
    t.equal(h.sim.upgrades[0].headers['x-stainless-lang'], undefined, "the client's own headers stay here");
    t.equal(h.sim.upgrades[0].headers['user-agent'], undefined);
    t.same(upstreamQuery(h), [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime-mini'],
    ]);
    checkSecretKept(t, h, CLIENT_KEY);
    t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 1, 'counted');
  },
);

t.test(
  'AsyncAzureOpenAI(azure_endpoint=<proxy>, api_version="v1"), GA realtime: /openai/realtime, api-key dropped, GA names typed',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, origin, env } = await setup(t);
    const r = await runTurn(
      {
        client: 'AsyncAzureOpenAI',
        options: { azure_endpoint: origin, api_key: PLACEHOLDER, api_version: 'v1' },
        api: 'ga',
        model: 'gpt-realtime',
      },
      env,
    );
    checkTurn(t, r, 'response.output_audio.delta');
    t.equal(classOf(r, 'response.output_audio.delta'), `${GA_TYPES}response_audio_delta_event.ResponseAudioDeltaEvent`);
    t.equal(requestLine(tls), 'GET /openai/realtime?api-version=v1&deployment=gpt-realtime HTTP/1.1');
    t.equal(headerOf(tls.heads[0].request, 'api-key'), PLACEHOLDER, 'the client sent its key');
    t.same(upstreamQuery(h), [
      ['api-version', 'v1'],
      ['model', 'gpt-realtime'],
    ]);
    checkSecretKept(t, h, PLACEHOLDER);
    t.equal(h.proxy.metrics.clientCredentialsDroppedApiKey, 1, 'counted');
  },
);

t.test(
  'AsyncAzureOpenAI(api_version="2025-04-01-preview"), GA realtime: preview names arrive, the GA classes do not fit them',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, origin, env } = await setup(t);
    const r = await runTurn(
      {
        client: 'AsyncAzureOpenAI',
        options: { azure_endpoint: origin, api_key: PLACEHOLDER, api_version: '2025-04-01-preview' },
        api: 'ga',
        model: 'gpt-realtime-mini',
      },
      env,
    );
    // The turn completes (response.done is the same in both protocols), but the GA client
    // parses response.audio.delta into a class of another event: read `event.type` and the raw fields.
    checkTurn(t, r, 'response.audio.delta');
    t.notMatch(classOf(r, 'response.audio.delta'), /ResponseAudioDeltaEvent/);
    t.equal(
      requestLine(tls),
      'GET /openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime-mini HTTP/1.1',
    );
    t.same(
      upstreamQuery(h),
      [
        ['api-version', '2026-07-15'],
        ['model', 'gpt-realtime-mini'],
      ],
      'the Azure OpenAI api-version mapped to API_VERSION, deployment sent as model',
    );
    checkSecretKept(t, h, PLACEHOLDER);
  },
);

t.test(
  'AsyncAzureOpenAI(api_version="2025-04-01-preview"), beta realtime: /openai/realtime, preview names typed',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, origin, env } = await setup(t);
    const r = await runTurn(
      {
        client: 'AsyncAzureOpenAI',
        options: { azure_endpoint: origin, api_key: PLACEHOLDER, api_version: '2025-04-01-preview' },
        api: 'beta',
        model: 'gpt-realtime-mini',
      },
      env,
    );
    checkTurn(t, r, 'response.audio.delta');
    t.equal(classOf(r, 'response.audio.delta'), `${BETA_TYPES}response_audio_delta_event.ResponseAudioDeltaEvent`);
    t.equal(classOf(r, 'response.done'), `${BETA_TYPES}response_done_event.ResponseDoneEvent`);
    t.equal(
      requestLine(tls),
      'GET /openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime-mini HTTP/1.1',
    );
    t.equal(headerOf(tls.heads[0].request, 'openai-beta'), 'realtime=v1');
    t.equal(h.sim.upgrades[0].headers['openai-beta'], undefined, 'OpenAI-Beta is not forwarded');
    t.same(upstreamQuery(h), [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime-mini'],
    ]);
    checkSecretKept(t, h, PLACEHOLDER);
  },
);

t.test(
  'AsyncOpenAI(base_url=<proxy>/voice-live): Bearer sk-... dropped; API_VERSION, so preview names',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, origin, env } = await setup(t);
    const r = await runTurn(
      {
        client: 'AsyncOpenAI',
        options: { api_key: CLIENT_KEY, base_url: `${origin}/voice-live` },
        api: 'ga',
        model: 'gpt-realtime',
      },
      env,
    );
    checkTurn(t, r, 'response.audio.delta');
    t.equal(requestLine(tls), 'GET /voice-live/realtime?model=gpt-realtime HTTP/1.1');
    t.same(upstreamQuery(h), [
      ['api-version', '2026-07-15'],
      ['model', 'gpt-realtime'],
    ]);
    checkSecretKept(t, h, CLIENT_KEY);
    t.equal(h.proxy.metrics.clientCredentialsDroppedBearer, 1);
  },
);

t.test(
  "AsyncOpenAI(websocket_base_url=wss://<proxy>/openai/v1) with the user's JWT: forwarded as Bearer, GA names",
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, env } = await setup(t);
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVuYWktdXNlciJ9.c2lnbmF0dXJl';
    const r = await runTurn(
      {
        client: 'AsyncOpenAI',
        options: { api_key: jwt, websocket_base_url: `wss://127.0.0.1:${tls.port}/openai/v1` },
        api: 'ga',
        model: 'gpt-realtime',
      },
      env,
    );
    checkTurn(t, r, 'response.output_audio.delta');
    t.equal(classOf(r, 'response.output_audio.delta'), `${GA_TYPES}response_audio_delta_event.ResponseAudioDeltaEvent`);
    t.equal(requestLine(tls), 'GET /openai/v1/realtime?model=gpt-realtime HTTP/1.1');
    const up = h.sim.upgrades[0];
    t.equal(up.headers.authorization, `Bearer ${jwt}`);
    t.equal(up.headers['api-key'], undefined);
    t.equal(new URLSearchParams(up.query).get('api-version'), 'v1');
    t.notMatch(h.logs.join('\n'), jwt);
  },
);

t.test(
  'the sync OpenAI(base_url=http://<proxy>/v1): the GA client follows the scheme, so plain ws:// works',
  { skip: pythonSkip },
  async (t) => {
    const h = await startHarness(t, { ALLOW_NO_ORIGIN: 'true', ALLOWED_MODELS: 'gpt-realtime' });
    const r = await runTurn(
      {
        client: 'OpenAI',
        options: { api_key: CLIENT_KEY, base_url: `http://127.0.0.1:${h.proxy.port}/v1` },
        api: 'ga',
        model: 'gpt-realtime',
      },
      pythonEnv(),
    );
    checkTurn(t, r, 'response.output_audio.delta');
    t.equal(h.sim.upgrades[0].path, '/voice-live/realtime');
    checkSecretKept(t, h, CLIENT_KEY);
  },
);

t.test(
  'refused before the upgrade: InvalidStatus, 403 for no Origin without ALLOW_NO_ORIGIN, then 429 with Retry-After',
  { skip: pythonSkip },
  async (t) => {
    // One upgrade per window: the first is refused for its missing Origin, the second is rate-limited.
    const { h, env, origin } = await setup(t, { ALLOW_NO_ORIGIN: 'false', UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1' });
    const args: TurnArgs = {
      client: 'AsyncOpenAI',
      options: { api_key: CLIENT_KEY, base_url: `${origin}/v1` },
      api: 'ga',
      model: 'gpt-realtime',
    };
    const r = await runTurn(args, env);
    t.same(r.events, [], 'no event');
    t.match(r.exception, {
      class: 'websockets.exceptions.InvalidStatus',
      message: 'server rejected WebSocket connection: HTTP 403',
      status: 403,
    });
    t.match(JSON.parse(r.exception?.body ?? '{}'), { error: { code: 'origin_not_allowed' } });
    const limited = await runTurn(args, env);
    t.match(limited.exception, { class: 'websockets.exceptions.InvalidStatus', status: 429 });
    t.match(limited.exception?.retry_after, /^[1-9]\d*$/, 'Retry-After, whole seconds');
    t.match(JSON.parse(limited.exception?.body ?? '{}'), { error: { code: 'rate_limited' } });
    t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
  },
);

t.test(
  'refused after the upgrade: an error event with the code, then ConnectionClosedError 1008 with the reason',
  { skip: pythonSkip },
  async (t) => {
    const { h, env, origin } = await setup(t);
    const refusedModel: TurnArgs = {
      client: 'AsyncOpenAI',
      options: { api_key: CLIENT_KEY, base_url: `${origin}/v1` },
      api: 'ga',
      model: 'gpt-4o-realtime-preview',
      // Reading first, as an app that waits for session.created does, so the error event is read.
      wait_created: true,
    };
    const closed1008 = (reason: string) => ({
      class: 'websockets.exceptions.ConnectionClosedError',
      message: `received 1008 (policy violation) ${reason}; then sent 1008 (policy violation) ${reason}`,
      code: 1008,
      reason,
    });
    const r = await runTurn(refusedModel, env);
    t.same(r.events, [
      { event: 'error', class: `${GA_TYPES}realtime_error_event.RealtimeErrorEvent`, code: 'model_not_allowed' },
    ]);
    t.same(r.exception, closed1008('Model not allowed'));

    // An app that sends session.update first: the same exception, from the send or from the
    // next read (the error event may stay unread), so the close reason is what it can rely on.
    const sendFirst = await runTurn({ ...refusedModel, wait_created: false }, env);
    t.same(sendFirst.exception, closed1008('Model not allowed'));
    t.ok(sendFirst.events.every((e) => e.event === 'error'));

    // A dated api-version that is neither a Voice Live one nor an Azure OpenAI preview one.
    const dated = await runTurn(
      {
        client: 'AsyncAzureOpenAI',
        options: { azure_endpoint: origin, api_key: PLACEHOLDER, api_version: '2025-08-28' },
        api: 'ga',
        model: 'gpt-realtime',
        wait_created: true,
      },
      env,
    );
    t.same(dated.events, [
      { event: 'error', class: `${GA_TYPES}realtime_error_event.RealtimeErrorEvent`, code: 'unsupported_api_version' },
    ]);
    t.same(dated.exception, closed1008('Unsupported apiVersion'));
    t.equal(h.sim.upgrades.length, 0, 'the upstream was never contacted');
  },
);

t.test(
  'CLIENT_AUTH=ticket: the ticket in extra_query is the caller proof, never forwarded; without one, 401',
  { skip: pythonSkip },
  async (t) => {
    const { h, tls, env, origin } = await setup(t, { CLIENT_AUTH: 'ticket', TICKET_SECRET });
    const args: TurnArgs = {
      client: 'AsyncOpenAI',
      options: { api_key: PLACEHOLDER, base_url: `${origin}/v1` },
      api: 'ga',
      model: 'gpt-realtime',
    };
    const refused = await runTurn(args, env);
    t.equal(refused.exception?.class, 'websockets.exceptions.InvalidStatus');
    t.equal(refused.exception?.status, 401);
    const ticket = await mintTicket({ sub: 'python-backend', secret: TICKET_SECRET });
    const r = await runTurn({ ...args, connect: { extra_query: { ticket } } }, env);
    checkTurn(t, r, 'response.output_audio.delta');
    t.equal(requestLine(tls, 1), `GET /v1/realtime?model=gpt-realtime&ticket=${ticket} HTTP/1.1`);
    t.equal(h.sim.upgrades.length, 1);
    t.notMatch(JSON.stringify(h.sim.upgrades[0]), ticket, 'the ticket is not sent upstream');
    t.notMatch(h.logs.join('\n'), ticket);
  },
);
