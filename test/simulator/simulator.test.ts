// The Voice Live simulator over real sockets (a `ws` client on 127.0.0.1).
// Handler timing that a real socket cannot make deterministic is in
// session.test.ts; the input audio buffer in audio.test.ts.
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { startSimulator } from '../../src/simulator/simulator';
import type { Simulator, SimulatorOptions } from '../../src/simulator/simulator';
import { makeTone, rms, TONE } from '../../src/simulator/audio';

type Json = Record<string, any>;
interface Frame {
  data: Buffer;
  isBinary: boolean;
}

const PATH = '/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime';
const KEY = { 'api-key': 'test-key' };

/** A ws client that queues every frame from the first one on. */
class Client {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | null = null;
  private done = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.frames.push({ data: data as Buffer, isBinary });
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.done = true;
        this.notify();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  async next(): Promise<Frame> {
    while (this.frames.length === 0) {
      if (this.done) throw new Error('socket closed while waiting for a frame');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.frames.shift() as Frame;
  }

  async event(): Promise<Json> {
    const f = await this.next();
    if (f.isBinary) throw new Error('expected a text frame');
    return JSON.parse(f.data.toString('utf8'));
  }

  /** Events up to and including the first of `type`. */
  async until(type: string): Promise<Json[]> {
    const out: Json[] = [];
    for (;;) {
      const e = await this.event();
      out.push(e);
      if (e.type === type) return out;
    }
  }

  send(event: Json | string): void {
    this.ws.send(typeof event === 'string' ? event : JSON.stringify(event));
  }
}

async function sim(t: Tap, opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator(opts);
  t.teardown(() => s.close());
  return s;
}

type Tap = Test;

async function open(t: Tap, s: Simulator, path = PATH, headers: Record<string, string> = KEY): Promise<Client> {
  const ws = new WebSocket(s.origin + path, { headers });
  t.teardown(() => ws.terminate());
  const c = new Client(ws);
  await once(ws, 'open');
  return c;
}

/** Opens a session and consumes session.created. */
async function session(t: Tap, s: Simulator): Promise<{ c: Client; created: Json }> {
  const c = await open(t, s);
  const created = await c.event();
  return { c, created };
}

/** An upgrade the simulator refuses: status and JSON body. */
function refused(
  s: Simulator,
  path = PATH,
  headers: Record<string, string> = KEY,
): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(s.origin + path, { headers });
    ws.on('open', () => reject(new Error('upgrade should have been refused')));
    ws.on('error', () => {}); // aborting the request below reports an error
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode as number, body: JSON.parse(body) });
      });
    });
  });
}

/** A condition with no event to await (server-side bookkeeping). */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 2));
}

function b64(buf: Buffer): string {
  return buf.toString('base64');
}

/** Checks one response's event sequence; returns its audio and transcript. */
function checkResponse(t: Tap, events: Json[]): { audio: Buffer; transcript: string; status: string } {
  const types = events.map((e) => e.type);
  t.same(types.slice(0, 3), ['response.created', 'response.output_item.added', 'response.content_part.added']);
  t.same(types.slice(-5), [
    'response.audio.done',
    'response.audio_transcript.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.done',
  ]);
  const middle = events.slice(3, -5);
  t.ok(middle.every((e) => e.type === 'response.audio.delta' || e.type === 'response.audio_transcript.delta'));
  const responseId = events[0].response.id;
  const itemId = events[1].item.id;
  t.ok(
    middle.every((e) => e.response_id === responseId && e.item_id === itemId),
    'deltas carry the ids',
  );
  const audio = Buffer.concat(
    middle.filter((e) => e.type === 'response.audio.delta').map((e) => Buffer.from(e.delta, 'base64')),
  );
  const transcript = middle
    .filter((e) => e.type === 'response.audio_transcript.delta')
    .map((e) => e.delta)
    .join('');
  const done = events[events.length - 1].response;
  t.equal(events[events.length - 4].transcript, transcript, 'audio_transcript.done carries the whole text');
  t.equal(done.id, responseId);
  t.equal(done.output[0].content[0].transcript, transcript);
  return { audio, transcript, status: done.status };
}

function speech(ms: number): Buffer {
  return makeTone(300, ms / 1000, 0.5);
}

t.test('credential is required unless turned off', async (t) => {
  const s = await sim(t);
  const none = await refused(s, PATH, {});
  t.equal(none.status, 401);
  t.equal(none.body.error.code, '401');
  t.equal((await refused(s, PATH, { authorization: 'Basic abc' })).status, 401, 'Basic is not Bearer');
  t.equal((await refused(s, PATH, { authorization: 'Bearer ' })).status, 401, 'empty bearer');
  const bearer = await open(t, s, PATH, { authorization: 'Bearer x' });
  t.equal((await bearer.event()).type, 'session.created');
  const key = await open(t, s, PATH, { 'api-key': 'k' });
  t.equal((await key.event()).type, 'session.created');

  const open2 = await sim(t, { requireCredential: false });
  const anon = await open(t, open2, PATH, {});
  t.equal((await anon.event()).type, 'session.created');
});

t.test('session.created comes first and echoes the query', async (t) => {
  const s = await sim(t);
  const { c, created } = await session(t, s);
  t.equal(created.type, 'session.created');
  t.match(created.event_id, /^event_/);
  const ses = created.session;
  t.match(ses.id, /^sess_/);
  t.equal(ses.model, 'gpt-realtime');
  t.equal(ses.api_version, '2025-10-01');
  t.same(ses.modalities, ['text', 'audio']);
  t.equal(ses.input_audio_format, 'pcm16');
  t.equal(ses.output_audio_format, 'pcm16');
  t.ok(ses.voice, 'has a voice');
  t.notOk('agent' in ses, 'standard mode has no agent');
  t.equal(s.stats.sessions, 1);
  t.equal(s.stats.active, 1);
  c.ws.close();
  await c.closed;
  await waitFor(() => s.stats.active === 0);
  t.equal(s.stats.sessions, 1);
});

t.test('agent mode parameters', async (t) => {
  const s = await sim(t);
  const c = await open(
    t,
    s,
    '/voice-live/realtime?api-version=2025-10-01&agent-id=asst_1&agent-project-name=proj&agent-version=3&conversation-id=conv_9',
  );
  const { session: ses } = await c.event();
  t.same(ses.agent, { id: 'asst_1', name: null, version: '3', project_name: 'proj', conversation_id: 'conv_9' });
  t.equal(ses.model, null);
  const byName = await open(t, s, '/voice-live/realtime?agent-name=helper&agent-project-name=proj');
  t.equal((await byName.event()).session.agent.name, 'helper');
  const r = await refused(s, '/voice-live/realtime?agent-id=asst_1');
  t.equal(r.status, 400);
  t.equal(r.body.error.code, 'missing_agent_project_name');
  t.equal((await refused(s, '/voice-live/realtime?agent-name=a&agent-project-name=')).status, 400);
});

t.test('other paths are 404 JSON', async (t) => {
  const s = await sim(t);
  const http = s.origin.replace('ws://', 'http://');
  const res = await fetch(http + '/nope');
  t.equal(res.status, 404);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.same(await res.json(), { error: { code: 'not_found', message: 'Not found' } });
  const plain = await fetch(http + '/voice-live/realtime');
  t.equal(plain.status, 404, 'the socket path without an upgrade');
  t.equal(s.upgrades.length, 0, 'plain HTTP is not an upgrade attempt');
  const ws = await refused(s, '/elsewhere?x=1');
  t.equal(ws.status, 404);
  t.equal(s.upgrades.length, 1);
  t.equal(s.upgrades[0].url, '/elsewhere?x=1');
});

t.test('session.update merges and answers session.updated', async (t) => {
  const s = await sim(t);
  const { c, created } = await session(t, s);
  c.send(
    '{"type":"session.update","session":{"instructions":"be brief","voice":{"name":"en-US-Andrew","type":"azure-standard"},"id":"hack","model":"evil","__proto__":{"polluted":true}}}',
  );
  const updated = await c.event();
  t.equal(updated.type, 'session.updated');
  t.equal(updated.session.instructions, 'be brief');
  t.same(updated.session.voice, { name: 'en-US-Andrew', type: 'azure-standard' });
  t.equal(updated.session.id, created.session.id, 'id is fixed');
  t.equal(updated.session.model, 'gpt-realtime', 'model is fixed');
  t.notOk('polluted' in updated.session);
  t.equal(updated.session.output_audio_format, 'pcm16', 'other fields kept');
  c.send({ type: 'session.update', event_id: 'c1' });
  const err = await c.event();
  t.equal(err.type, 'error');
  t.same(err.error, {
    type: 'invalid_request_error',
    code: 'missing_required_parameter',
    message: "Missing required parameter: 'session'.",
    param: 'session',
    event_id: 'c1',
  });
});

t.test('append + commit echoes non-silent audio', async (t) => {
  const s = await sim(t);
  const { c } = await session(t, s);
  const pcm = speech(500); // 24 000 bytes: five 4800-byte chunks
  c.send({ type: 'input_audio_buffer.append', audio: b64(pcm.subarray(0, 10_001)) });
  c.send({ type: 'input_audio_buffer.append', audio: b64(pcm.subarray(10_001)) });
  c.send({ type: 'input_audio_buffer.commit' });
  const committed = await c.event();
  t.equal(committed.type, 'input_audio_buffer.committed');
  t.equal(committed.previous_item_id, null);
  const item = await c.event();
  t.equal(item.type, 'conversation.item.created');
  t.equal(item.item.id, committed.item_id);
  t.equal(item.item.role, 'user');
  const transcription = await c.event();
  t.equal(transcription.type, 'conversation.item.input_audio_transcription.completed');
  t.equal(transcription.item_id, committed.item_id);
  t.equal(transcription.transcript, '(0.5 seconds of speech)');
  const events = await c.until('response.done');
  const r = checkResponse(t, events);
  t.equal(r.status, 'completed');
  t.ok(r.audio.equals(pcm), 'the audio is the input, byte for byte');
  t.equal(r.transcript, 'You said something 0.5 seconds long; here it is back.');
  t.equal(events.filter((e) => e.type === 'response.audio.delta').length, 5);
  t.ok(events[events.length - 1].response.usage.total_tokens > 0);

  // The buffer was consumed: the next commit links to the previous item.
  c.send({ type: 'input_audio_buffer.commit' });
  const second = await c.event();
  t.equal(second.previous_item_id, committed.item_id);
  const rest = await c.until('response.done');
  t.equal(checkResponse(t, rest.slice(2)).transcript, 'I heard silence, so here is a tone.', 'empty buffer -> tone');
});

t.test('silence gets the tone', async (t) => {
  const s = await sim(t, { audioChunkBytes: 9600 });
  const { c } = await session(t, s);
  const quiet = Buffer.alloc(9600);
  for (let i = 0; i < quiet.length; i += 2) quiet.writeInt16LE((i % 7) - 3, i); // a few LSBs of noise
  c.send({ type: 'input_audio_buffer.append', audio: b64(quiet) });
  c.send({ type: 'input_audio_buffer.commit' });
  const events = await c.until('response.done');
  t.equal(events[2].transcript, '(silence)');
  const r = checkResponse(t, events.slice(3));
  t.ok(r.audio.equals(TONE), 'the 1 s tone');
  t.equal(r.audio.length, 48_000);
  t.ok(rms(r.audio) > 5000, 'and it is loud enough to hear');
  t.equal(events.filter((e) => e.type === 'response.audio.delta').length, 5, 'audioChunkBytes honoured');
  t.equal(r.transcript, 'I heard silence, so here is a tone.');
});

t.test('response.create, clear, and other conversation events', async (t) => {
  const s = await sim(t);
  const { c } = await session(t, s);
  const pcm = speech(200);
  c.send({ type: 'input_audio_buffer.append', audio: b64(pcm) });
  c.send({ type: 'response.create' });
  const r = checkResponse(t, await c.until('response.done'));
  t.ok(r.audio.equals(pcm), 'response.create uses what is buffered');

  c.send({ type: 'input_audio_buffer.append', audio: b64(pcm) });
  c.send({ type: 'input_audio_buffer.clear' });
  t.equal((await c.event()).type, 'input_audio_buffer.cleared');
  c.send({ type: 'response.create' });
  t.equal(checkResponse(t, await c.until('response.done')).transcript, 'I heard silence, so here is a tone.');

  c.send({ type: 'input_audio_buffer.append', event_id: 'a1' });
  t.equal((await c.event()).error.param, 'audio');

  c.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
  });
  const created = await c.event();
  t.equal(created.type, 'conversation.item.created');
  t.match(created.item.id, /^item_/);
  t.equal(created.item.content[0].text, 'hi');
  c.send({ type: 'conversation.item.create', item: { id: 'mine', type: 'message' } });
  const mine = await c.event();
  t.equal(mine.item.id, 'mine');
  t.equal(mine.previous_item_id, created.item.id);
  c.send({ type: 'conversation.item.create' });
  t.equal((await c.event()).error.param, 'item');
  c.send({ type: 'conversation.item.truncate', item_id: 'mine', content_index: 0, audio_end_ms: 100 });
  t.same(Object.assign(await c.event(), { event_id: 'x' }), {
    type: 'conversation.item.truncated',
    event_id: 'x',
    item_id: 'mine',
    content_index: 0,
    audio_end_ms: 100,
  });
  c.send({ type: 'conversation.item.delete', item_id: 'mine' });
  t.equal((await c.event()).type, 'conversation.item.deleted');
  c.send({ type: 'response.cancel', event_id: 'k' });
  const notActive = await c.event();
  t.equal(notActive.error.code, 'response_cancel_not_active');
  t.equal(notActive.error.event_id, 'k');
});

t.test('errors: invalid JSON, no type, unknown events; binary is ignored', async (t) => {
  const s = await sim(t);
  const { c } = await session(t, s);
  c.send('{not json');
  const bad = await c.event();
  t.equal(bad.type, 'error');
  t.equal(bad.error.code, 'invalid_json');
  t.equal(bad.error.type, 'invalid_request_error');
  c.send('[1,2]');
  t.equal((await c.event()).error.code, 'missing_required_parameter');
  c.send({ type: 7 });
  t.equal((await c.event()).error.code, 'missing_required_parameter');
  c.ws.send(Buffer.from([1, 2, 3]));
  c.send({ type: 'no.such.event', event_id: 'evt_client_1' });
  const unknown = await c.event();
  t.equal(unknown.error.code, 'unknown_event', 'the binary frame produced nothing before this');
  t.equal(unknown.error.event_id, 'evt_client_1');
  t.match(unknown.error.message, /no\.such\.event/);
  t.equal(s.stats.framesIn, 5);
  t.equal(s.stats.framesOut, 5, 'session.created + 4 errors');
  t.ok(s.stats.bytesIn > 0 && s.stats.bytesOut > s.stats.bytesIn);
});

t.test('handshakeDelayMs delays the 101, and an abort while waiting is harmless', async (t) => {
  const s = await sim(t, { handshakeDelayMs: 150 });
  // A client that hangs up during the delay: the timer must not touch it.
  const raw = netConnect(s.port, '127.0.0.1');
  await once(raw, 'connect');
  raw.end(upgradeRequest('/voice-live/realtime?model=m', 'api-key: k'));
  await waitFor(() => s.upgrades.length === 1);
  raw.destroy();

  const started = Date.now();
  const c = await open(t, s);
  t.ok(Date.now() - started >= 140, `opened after ${Date.now() - started} ms`);
  t.equal((await c.event()).type, 'session.created');
  t.equal(s.stats.sessions, 1, 'the aborted upgrade never became a session');

  // A refusal is delayed too.
  const before = Date.now();
  t.equal((await refused(s, PATH, {})).status, 401);
  t.ok(Date.now() - before >= 140);
});

t.test('close() while an upgrade is delayed and sessions are open', async (t) => {
  const s = await startSimulator({ handshakeDelayMs: 60_000 });
  const live = await startSimulator();
  const c = await open(t, live);
  await c.event();
  const pending = new WebSocket(s.origin + PATH, { headers: KEY });
  const pendingClosed = new Promise((resolve) => {
    pending.on('error', resolve);
    pending.on('close', resolve);
  });
  await waitFor(() => s.upgrades.length === 1);
  await s.close();
  await s.close(); // twice is fine
  await pendingClosed;
  await live.close();
  const { code } = await c.closed;
  t.equal(code, 1006, 'sockets are dropped');
  t.equal(live.stats.active, 0);
});

t.test('rejectStatus answers every upgrade with that status', async (t) => {
  for (const status of [401, 403, 500, 418]) {
    const s = await sim(t, { rejectStatus: status });
    const r = await refused(s);
    t.equal(r.status, status);
    t.equal(r.body.error.code, String(status));
    t.equal(s.stats.sessions, 0);
  }
});

t.test('raw echo is byte-exact for text and binary', async (t) => {
  const s = await sim(t);
  const { c } = await session(t, s);
  c.send({ type: 'simulator.echo_raw' });
  const text = 'héllo 🎙️ wörld — 日本語';
  c.ws.send(text);
  const echoedText = await c.next();
  t.equal(echoedText.isBinary, false);
  t.ok(echoedText.data.equals(Buffer.from(text, 'utf8')));
  const bin = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x7b, 0x22]);
  c.ws.send(bin);
  const echoedBin = await c.next();
  t.equal(echoedBin.isBinary, true);
  t.ok(echoedBin.data.equals(bin));
  c.ws.send('');
  t.equal((await c.next()).data.length, 0, 'empty frame');
  c.ws.send('{"type":"session.update"}');
  t.equal((await c.next()).data.toString(), '{"type":"session.update"}', 'events are not interpreted');
  c.ws.send('{"type":"simulator.echo_raw"}'); // controls still work: this one turns echo off
  c.send({ type: 'nope' });
  t.equal((await c.event()).error.code, 'unknown_event', 'parsed again');
});

t.test('simulator.close passes code and reason', async (t) => {
  const s = await sim(t);
  const a = (await session(t, s)).c;
  a.send({ type: 'simulator.close', code: 4321, reason: 'bye' });
  t.same(await a.closed, { code: 4321, reason: 'bye' });

  const b = (await session(t, s)).c;
  b.send({ type: 'simulator.close' });
  t.equal((await b.closed).code, 1005, 'no code -> close frame without status');

  const d = (await session(t, s)).c;
  d.send({ type: 'simulator.close', abrupt: true });
  t.equal((await d.closed).code, 1006, 'abrupt -> no close frame');

  const e = (await session(t, s)).c;
  e.send({ type: 'simulator.close', code: 4000, reason: 'é'.repeat(100) });
  t.same(await e.closed, { code: 4000, reason: 'é'.repeat(61) }, 'reason cut to 123 bytes on a character boundary');

  const g = (await session(t, s)).c;
  g.send({ type: 'simulator.close', code: 1000 });
  t.same(await g.closed, { code: 1000, reason: '' });

  const f = (await session(t, s)).c;
  f.send({ type: 'simulator.echo_raw' });
  f.ws.send('{"type":"simulator.close","code":4999,"reason":"from echo mode"}');
  t.same(await f.closed, { code: 4999, reason: 'from echo mode' });
  await waitFor(() => s.stats.active === 0);
});

t.test('simulator.burst delivers exactly N bytes', async (t) => {
  const s = await sim(t);
  const { c } = await session(t, s);
  c.send({ type: 'simulator.burst', bytes: 100_000, frameBytes: 30_000 });
  const sizes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const f = await c.next();
    t.equal(f.isBinary, true);
    sizes.push(f.data.length);
    t.equal(f.data[0], 0);
    t.equal(f.data[257], 1, 'counting pattern');
  }
  t.same(sizes, [30_000, 30_000, 30_000, 10_000]);
  const done = await c.event();
  t.equal(done.type, 'simulator.burst.done');
  t.equal(done.bytes, 100_000);
  t.equal(done.frames, 4);

  // Far more than socket buffers hold: only the drain handler can finish it.
  const total = 48 * 1024 * 1024 + 7;
  c.send({ type: 'simulator.burst', bytes: total });
  let got = 0;
  let frames = 0;
  for (;;) {
    const f = await c.next();
    if (!f.isBinary) {
      const end = JSON.parse(f.data.toString());
      t.equal(end.bytes, total);
      t.equal(end.frames, frames);
      break;
    }
    got += f.data.length;
    frames++;
  }
  t.equal(got, total, 'every byte arrived');
  t.equal(frames, Math.ceil(total / 65536), 'default 64 KiB frames');

  c.send({ type: 'simulator.burst', bytes: 0 });
  t.same((await c.event()).frames, 0);
  c.send({ type: 'simulator.burst', bytes: -1, event_id: 'b' });
  t.equal((await c.event()).error.code, 'invalid_value');
  c.send({ type: 'simulator.burst', bytes: 10, frameBytes: 0 });
  t.equal((await c.event()).error.code, 'invalid_value');
});

t.test('upgrades are recorded with lowercased headers, last 1000 kept', async (t) => {
  const s = await sim(t);
  const c = await open(t, s, PATH + '&extra=%26x', { 'api-key': 'k', 'X-Ms-Client-Request-Id': 'req-1' });
  await c.event();
  const rec = s.upgrades[0];
  t.equal(rec.url, PATH + '&extra=%26x');
  t.equal(rec.query, 'api-version=2025-10-01&model=gpt-realtime&extra=%26x');
  t.equal(rec.headers['x-ms-client-request-id'], 'req-1');
  t.equal(rec.headers['api-key'], 'k');
  t.equal(rec.headers.upgrade, 'websocket');

  // One socket, pipelined: a repeated header, then enough to pass the cap.
  const raw = netConnect(s.port, '127.0.0.1');
  await once(raw, 'connect');
  let requests = upgradeRequest('/dup', 'x-dup: a\r\nx-dup: b');
  for (let i = 0; i < 999; i++) requests += upgradeRequest(`/n${i}`, '');
  raw.write(requests);
  await responses(raw, 1000);
  raw.destroy();
  t.equal(s.upgrades.length, 1000);
  t.equal(s.upgrades[0].url, '/dup', 'the oldest (the first session) was dropped');
  t.equal(s.upgrades[0].headers['x-dup'], 'a, b');
  t.equal(s.upgrades[999].url, '/n998');
});

function upgradeRequest(path: string, extra: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    (extra === '' ? '' : extra + '\r\n') +
    '\r\n'
  );
}

async function responses(raw: Socket, n: number): Promise<void> {
  let text = '';
  raw.setEncoding('latin1');
  for await (const chunk of raw) {
    text += chunk as string;
    if (text.split('HTTP/1.1 404').length - 1 >= n) return;
  }
}

t.test('maxPayloadLength, options validation, IPv6, listen failure', async (t) => {
  const s = await sim(t, { maxPayloadLength: 1024 });
  const { c } = await session(t, s);
  c.ws.send(Buffer.alloc(2048));
  // uWS drops a peer that sends more than maxPayloadLength (1006 or 1009 depending on timing).
  t.ok([1006, 1009].includes((await c.closed).code));
  await waitFor(() => s.stats.active === 0);

  await t.rejects(startSimulator({ audioChunkBytes: 0 }), RangeError);
  await t.rejects(startSimulator({ maxPayloadLength: 1.5 }), RangeError);
  await t.rejects(startSimulator({ host: '256.0.0.1' }), /cannot listen/);

  const v6 = await sim(t, { host: '::1' });
  t.match(v6.origin, /^ws:\/\/\[::1\]:\d+$/);
  const c6 = await open(t, v6);
  t.equal((await c6.event()).type, 'session.created');
});
