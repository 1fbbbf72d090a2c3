// Simulator handlers on a fake socket: here the test decides when the socket
// is "full", which a real loopback socket does not let it do reliably
// (backpressure, cancel mid-stream, queue limits, nothing after close).
import t from 'tap';
import type { WebSocket as UwsSocket } from 'uWebSockets.js';
import { makeTone } from '../../src/simulator/audio';
import { onMessage } from '../../src/simulator/handlers';
import { HIGH_WATER_BYTES, MAX_QUEUED_JOBS, pump, send, SimSession } from '../../src/simulator/session';
import type { SimulatorStats, UserData } from '../../src/simulator/session';

type Json = Record<string, any>;
interface Frame {
  data: Buffer;
  isBinary: boolean;
}

function b64(buf: Buffer): string {
  return buf.toString('base64');
}

function speech(ms: number): Buffer {
  return makeTone(300, ms / 1000, 0.5);
}

function fakeSession(apiVersion: string | null = null): {
  s: SimSession;
  sent: Frame[];
  stats: SimulatorStats;
  full: { at: number };
} {
  const stats: SimulatorStats = { sessions: 0, active: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  const s = new SimSession({ stats, audioChunkBytes: 4800 }, { apiVersion, model: 'm', agent: null });
  const sent: Frame[] = [];
  const full = { at: Infinity }; // the socket reports full once this many frames were sent
  const ws = {
    send(data: string | ArrayBuffer | Buffer, isBinary: boolean) {
      sent.push({ data: Buffer.from(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer)), isBinary });
      return 1;
    },
    getBufferedAmount: () => (sent.length >= full.at ? HIGH_WATER_BYTES : 0),
    cork(fn: () => void) {
      fn();
      return ws;
    },
  };
  s.ws = ws as unknown as UwsSocket<UserData>;
  return { s, sent, stats, full };
}

function deliver(s: SimSession, event: Json): void {
  const buf = Buffer.from(JSON.stringify(event));
  onMessage(s, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, false);
}

function types(frames: Frame[]): string[] {
  return frames.map((f) => JSON.parse(f.data.toString()).type);
}

t.test('backpressure pauses a response and drain resumes it', async (t) => {
  const { s, sent, full } = fakeSession();
  full.at = 0;
  deliver(s, { type: 'input_audio_buffer.append', audio: b64(speech(1000)) });
  deliver(s, { type: 'response.create' });
  t.equal(sent.length, 0, 'nothing while full');
  full.at = 5;
  pump(s);
  t.equal(sent.length, 5, 'stops at the high-water mark');
  full.at = Infinity;
  pump(s);
  t.equal(types(sent).pop(), 'response.done');
  t.equal(s.jobs.length, 0);
});

t.test('response.cancel mid-stream and queue limits', async (t) => {
  const { s, sent, full } = fakeSession();
  deliver(s, { type: 'input_audio_buffer.append', audio: b64(speech(1000)) });
  full.at = 6; // response.created, item, part, then a transcript + audio delta and one more
  deliver(s, { type: 'response.create' });
  for (let i = 0; i < MAX_QUEUED_JOBS; i++) deliver(s, { type: 'response.create' });
  const over = sent.length;
  deliver(s, { type: 'response.create', event_id: 'e9' });
  t.equal(sent.length, over + 1);
  t.match(JSON.parse(sent[over].data.toString()).error, {
    code: 'conversation_already_has_active_response',
    event_id: 'e9',
  });
  deliver(s, { type: 'simulator.burst', bytes: 1, event_id: 'e10' });
  t.equal(JSON.parse(sent[sent.length - 1].data.toString()).error.code, 'conversation_already_has_active_response');

  deliver(s, { type: 'response.cancel' });
  t.equal(s.jobs.length, 1, 'queued responses dropped, the streaming one kept');
  full.at = Infinity;
  const mark = sent.length;
  pump(s);
  const tail = sent.slice(mark).map((f) => JSON.parse(f.data.toString()));
  t.same(
    tail.map((e) => e.type),
    [
      'response.audio.done',
      'response.audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ],
  );
  t.equal(tail[4].response.status, 'cancelled');
  t.equal(tail[3].item.status, 'cancelled');
});

t.test('nothing is sent after close', async (t) => {
  const { s, sent, stats } = fakeSession();
  s.closed = true;
  send(s, 'x', false, 1);
  deliver(s, { type: 'nope' });
  pump(s);
  t.equal(sent.length, 0);
  t.equal(stats.framesOut, 0);
  t.equal(stats.framesIn, 1);
  s.ws = null;
  s.closed = false;
  deliver(s, { type: 'simulator.close', code: 4000 }); // no socket yet: ignored
  t.equal(sent.length, 0);
});

t.test('event names follow the api-version: preview names on dated versions, GA names on v1', async (t) => {
  const turn = (v: string | null): string[] => {
    const { s, sent } = fakeSession(v);
    deliver(s, { type: 'input_audio_buffer.append', audio: b64(speech(300)) });
    deliver(s, { type: 'input_audio_buffer.commit' });
    return [...new Set(types(sent))];
  };
  const preview = [
    'input_audio_buffer.committed',
    'conversation.item.created',
    'conversation.item.input_audio_transcription.completed',
    'response.created',
    'response.output_item.added',
    'response.content_part.added',
    'response.audio_transcript.delta',
    'response.audio.delta',
    'response.audio.done',
    'response.audio_transcript.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.done',
  ];
  t.same(turn(null), preview);
  t.same(turn('2026-07-15'), preview);
  t.same(turn('v1'), [
    'input_audio_buffer.committed',
    'conversation.item.added',
    'conversation.item.done',
    'conversation.item.input_audio_transcription.completed',
    'response.created',
    'response.output_item.added',
    'response.content_part.added',
    'response.output_audio_transcript.delta',
    'response.output_audio.delta',
    'response.output_audio.done',
    'response.output_audio_transcript.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.done',
  ]);
  const { s, sent } = fakeSession('v1');
  deliver(s, { type: 'input_audio_buffer.append', audio: b64(speech(300)) });
  deliver(s, { type: 'input_audio_buffer.commit' });
  const done = sent.map((f) => JSON.parse(f.data.toString())).find((e) => e.type === 'response.done');
  t.equal(done.response.output[0].content[0].type, 'output_audio', 'the GA content part type');
});
