// The meter on frames as clients and the service write them: what it counts,
// what it ignores, and that how the JSON is written cannot hide audio.
import t from 'tap';
import { Meter, SESSION_PARSE_MAX_BYTES, type Metered } from '../../src/usage/meter';
import { ratesOf } from '../../src/usage/audio-format';
import { base64Bytes, FrameFields, scanObject } from '../../src/usage/frame-scan';
import {
  AudioDirection,
  emptyUsage,
  type ResponseTokens,
  type SessionUsage,
  type UsageSink,
} from '../../src/usage/usage-sink';

interface Fake extends Metered {
  readonly name: string;
}

function session(): Fake {
  return {
    name: 's',
    usage: emptyUsage(),
    audioInRate: 48_000,
    audioOutRate: 48_000,
    audioInRest: 0,
    audioOutRest: 0,
  };
}

/** A sink that records what it is told. */
class Recorder implements UsageSink<Fake> {
  audio: Array<[number, AudioDirection]> = [];
  started = 0;
  done: Array<[number, ResponseTokens]> = [];
  finished: Array<[SessionUsage, number]> = [];
  audioAdded(_s: Fake, ms: number, d: AudioDirection): void {
    this.audio.push([ms, d]);
  }
  responseStarted(): void {
    this.started++;
  }
  responseDone(_s: Fake, tokens: number, d: ResponseTokens): void {
    this.done.push([tokens, { ...d }]);
  }
  sessionFinished(_s: Fake, u: SessionUsage, ms: number): void {
    this.finished.push([{ ...u }, ms]);
  }
}

const client = (text: string): Uint8Array => new Uint8Array(Buffer.from(text));
const b64 = (bytes: number): string => Buffer.alloc(bytes, 7).toString('base64');

function setup(): { m: Meter<Fake>; sink: Recorder; s: Fake } {
  const sink = new Recorder();
  return { m: new Meter(sink), sink, s: session() };
}

t.test('appends count their decoded bytes at PCM16 24 kHz, carrying what is not a whole millisecond', async (t) => {
  const { m, sink, s } = setup();
  m.clientFrame(s, client(JSON.stringify({ type: 'input_audio_buffer.append', audio: b64(4800) })));
  t.equal(s.usage.audioInMs, 100);
  // 1000 bytes = 20.83 ms, three times: 62.5 ms, so 62 and half a millisecond kept.
  for (let i = 0; i < 3; i++)
    m.clientFrame(s, client(JSON.stringify({ type: 'input_audio_buffer.append', audio: b64(1000) })));
  t.equal(s.usage.audioInMs, 162);
  m.clientFrame(s, client(JSON.stringify({ type: 'input_audio_buffer.append', audio: b64(24) })));
  t.equal(s.usage.audioInMs, 163, 'the carried half plus half a millisecond make one');
  t.same(
    sink.audio.map(([, d]) => d),
    sink.audio.map(() => AudioDirection.In),
  );
  t.equal(
    sink.audio.reduce((a, [ms]) => a + ms, 0),
    163,
    'the sink is told exactly what the session counts',
  );
  m.clientFrame(s, client(JSON.stringify({ type: 'input_audio.turn.append', turn_id: 't', audio: b64(4800) })));
  t.equal(s.usage.audioInMs, 263, 'input_audio.turn.append carries audio too');
});

t.test('how a client writes its JSON does not change the count', async (t) => {
  const audio = b64(4800);
  const shapes = [
    `{"type":"input_audio_buffer.append","audio":"${audio}"}`,
    `{ "type" : "input_audio_buffer.append" ,\n "audio" : "${audio}" }`,
    `{"type": "input_audio_buffer.append", "audio": "${audio}"}`,
    `{"type":"input_audio_buffer.append","audio":"${audio}","event_id":"e1"}`,
    `{"event_id":"e1","audio":"${audio}","type":"input_audio_buffer.append"}`,
    `{"meta":{"type":"x","audio":"AAAA"},"type":"input_audio_buffer.append","audio":"${audio}"}`,
    `{"type":"input_audio_buffer.append","audio":"AAAA","audio":"${audio}"}`,
    `{"\\u0074ype":"input_audio_buffer.append","\\u0061udio":"${audio}"}`,
    `{"type":"input_audio_buffer\\u002eappend","audio":"${audio}"}`,
    // 0xff bytes are `////` in base64: every slash written escaped, as some encoders do.
    `{"type":"input_audio_buffer.append","audio":"${Buffer.alloc(4800, 0xff).toString('base64').replace(/\//g, '\\/')}"}`,
    `{"type":"input_audio_buffer.append","audio":"${Buffer.alloc(4800, 0xfb).toString('base64').replace(/\+/g, '\\u002B')}"}`,
  ];
  for (const text of shapes) {
    const { m, s } = setup();
    m.clientFrame(s, client(text));
    t.equal(s.usage.audioInMs, 100, text.slice(0, 70));
  }
});

t.test('what is not an audio event counts nothing', async (t) => {
  const { m, sink, s } = setup();
  const audio = b64(4800);
  for (const text of [
    `{"type":"input_audio_buffer.commit","audio":"${audio}"}`,
    `{"type":"conversation.item.create","item":{"type":"message","audio":"${audio}"}}`,
    `not json "audio":"${audio}"`,
    `["input_audio_buffer.append","${audio}"]`,
    `{"type":"input_audio_buffer.append","audio":"${audio}"`,
    `{"type":"input_audio_buffer.append"}`,
    '',
  ])
    m.clientFrame(s, client(text));
  m.upstreamFrame(s, Buffer.from(`{"type":"response.audio_transcript.delta","delta":"${audio}"}`));
  t.same(s.usage, emptyUsage());
  t.same(sink.audio, []);
});

t.test('service audio deltas, both names, count as output', async (t) => {
  const { m, sink, s } = setup();
  m.upstreamFrame(
    s,
    Buffer.from(
      `{"type":"response.audio.delta","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"${b64(9600)}"}`,
    ),
  );
  m.upstreamFrame(s, Buffer.from(JSON.stringify({ type: 'response.output_audio.delta', delta: b64(4800) })));
  t.equal(s.usage.audioOutMs, 300);
  t.equal(s.usage.audioInMs, 0);
  t.same(sink.audio, [
    [200, AudioDirection.Out],
    [100, AudioDirection.Out],
  ]);
});

t.test('service deltas whose ids change length: the delta is found wherever it moved', async (t) => {
  const { m, s } = setup();
  const delta = (id: string): Buffer =>
    Buffer.from(
      JSON.stringify({
        type: 'response.audio.delta',
        response_id: id,
        item_id: 'i',
        output_index: 0,
        delta: b64(4800),
      }),
    );
  for (const id of ['resp_1', 'resp_1', 'resp_12345678', 'resp_12345678', 'r', 'resp_1']) m.upstreamFrame(s, delta(id));
  t.equal(s.usage.audioOutMs, 600, 'six 100 ms deltas, as their layouts came and went');
});

t.test('response.done: its usage, once per response; null usage counts the response only', async (t) => {
  const { m, sink, s } = setup();
  m.upstreamFrame(s, Buffer.from(JSON.stringify({ type: 'response.created', response: { usage: null } })));
  t.equal(sink.started, 1);
  const usage = {
    total_tokens: 60,
    input_tokens: 25,
    output_tokens: 35,
    input_token_details: {
      cached_tokens: 4,
      text_tokens: 5,
      audio_tokens: 20,
      cached_tokens_details: { text_tokens: 1, audio_tokens: 3 },
    },
    output_token_details: { text_tokens: 10, audio_tokens: 25 },
  };
  const transcript = 'he said "usage": {"input_tokens": 999} and left';
  m.upstreamFrame(
    s,
    Buffer.from(
      JSON.stringify({
        type: 'response.done',
        event_id: 'e',
        response: { id: 'r', status: 'completed', output: [{ content: [{ transcript }] }], usage },
      }),
    ),
  );
  m.upstreamFrame(s, Buffer.from(JSON.stringify({ type: 'response.done', response: { id: 'r2', usage: null } })));
  t.same(s.usage, {
    ...emptyUsage(),
    inputTokens: 25,
    outputTokens: 35,
    inputTextTokens: 5,
    inputAudioTokens: 20,
    cachedTokens: 4,
    outputTextTokens: 10,
    outputAudioTokens: 25,
    responses: 2,
  });
  t.equal(sink.done.length, 2);
  t.equal(sink.done[0][0], 60);
  t.same(sink.done[1], [
    0,
    {
      inputTokens: 0,
      outputTokens: 0,
      inputTextTokens: 0,
      inputAudioTokens: 0,
      outputTextTokens: 0,
      outputAudioTokens: 0,
      cachedTokens: 0,
    },
  ]);
});

t.test('formats: session.update from the browser, session.updated from the service', async (t) => {
  const { m, s } = setup();
  m.clientFrame(s, client('{"type": "session.update", "session": {"input_audio_format": "g711_ulaw"}}'));
  m.clientFrame(s, client(JSON.stringify({ type: 'input_audio_buffer.append', audio: b64(8000) })));
  t.equal(s.usage.audioInMs, 1000, 'G.711 is 8000 bytes a second');
  m.upstreamFrame(
    s,
    Buffer.from(
      JSON.stringify({
        type: 'session.updated',
        session: { instructions: 'x'.repeat(5000), input_audio_format: 'pcm16', output_audio_format: 'g711_alaw' },
      }),
    ),
  );
  t.equal(s.audioInRate, 48_000, "the service's word wins");
  t.equal(s.audioOutRate, 8_000);
  m.clientFrame(
    s,
    client(
      JSON.stringify({
        type: 'session.update',
        session: { audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
      }),
    ),
  );
  t.equal(s.audioInRate, 32_000, 'the GA shape');
  const big = JSON.stringify({
    type: 'session.update',
    session: { instructions: 'x'.repeat(SESSION_PARSE_MAX_BYTES), input_audio_format: 'g711_ulaw' },
  });
  m.clientFrame(s, client(big));
  t.equal(s.audioInRate, 32_000, 'a session object over the bound is not read');
});

t.test('ratesOf reads both shapes and leaves out what it does not say', async (t) => {
  const r = { input: 0, output: 0 };
  t.same(ratesOf({ input_audio_format: 'pcm16', input_audio_sampling_rate: 16000 }, r), { input: 32_000, output: 0 });
  t.same(ratesOf({ input_audio_sampling_rate: 8000 }, r), { input: 16_000, output: 0 });
  t.same(ratesOf({ output_audio_format: 'pcm16_16000hz' }, r), { input: 0, output: 32_000 });
  t.same(ratesOf({ output_audio_format: 'pcm16-8000hz' }, r), { input: 0, output: 16_000 });
  t.same(ratesOf({ input_audio_format: 'g711_alaw', output_audio_format: 'pcm16' }, r), {
    input: 8000,
    output: 48_000,
  });
  t.same(
    ratesOf(
      { audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcm', rate: 24000 } } } },
      r,
    ),
    {
      input: 8000,
      output: 48_000,
    },
  );
  t.same(ratesOf({ voice: 'alloy' }, r), { input: 0, output: 0 });
  t.same(ratesOf(null, r), { input: 0, output: 0 });
  t.same(ratesOf({ input_audio_format: 'opus' }, r), { input: 0, output: 0 }, 'an unknown format changes nothing');
});

t.test('base64 sizes, padding included', async (t) => {
  for (const n of [0, 1, 2, 3, 4, 5, 4799, 4800]) {
    const text = Buffer.alloc(n, 1).toString('base64');
    const b = Buffer.from(text);
    t.equal(base64Bytes(b, 0, b.length), n, `${n} bytes`);
  }
  const unpadded = Buffer.from(Buffer.alloc(5, 1).toString('base64').replace(/=+$/, ''));
  t.equal(base64Bytes(unpadded, 0, unpadded.length), 5, 'without padding');
});

t.test('the walk records the top-level fields and rejects what is not an object', async (t) => {
  const f = new FrameFields();
  const b = Buffer.from('{"type":"a","x":[1,{"type":"b"}],"n":-1.5e3,"ok":true,"session":{"k":"}"}}');
  t.ok(scanObject(b, 0, b.length, f));
  t.equal(b.toString('latin1', f.typeStart, f.typeEnd), 'a');
  t.equal(b.toString('latin1', f.sessionStart, f.sessionEnd), '{"k":"}"}');
  for (const bad of ['', '[]', '{"a" 1}', '{"a":1,}', '{"a":"x\\"}', '{"a":1']) {
    const x = Buffer.from(bad);
    t.notOk(scanObject(x, 0, x.length, f), JSON.stringify(bad));
  }
  const empty = Buffer.from(' { } ');
  t.ok(scanObject(empty, 0, empty.length, f));
  t.equal(f.typeStart, -1);
});

t.test('finish tells the sink the final usage and the wall time, once per call', async (t) => {
  const { m, sink, s } = setup();
  m.clientFrame(s, client(JSON.stringify({ type: 'input_audio_buffer.append', audio: b64(48_000) })));
  m.finish(s, 1234);
  t.same(sink.finished, [[{ ...emptyUsage(), audioInMs: 1000 }, 1234]]);
});
