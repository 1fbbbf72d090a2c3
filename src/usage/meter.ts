// Usage per session, counted on the relay's two hot paths (relay/relay.ts):
// every text frame relayed is read once, in place (no JSON.parse per frame, no
// allocation): the shapes that carry nearly all audio by a few byte reads and
// a memchr, anything else by frame-scan.ts's walk. What it finds is added to
// the session's SessionUsage and told to the one UsageSink. What is counted, and how exact it is:
// docs/cost-control.md; why bytes are read in place: docs/decisions/0012-usage-scan.md.
//
// Audio: `input_audio_buffer.append` and `input_audio.turn.append` from the
// browser (their `audio`), `response.audio.delta` and the GA
// `response.output_audio.delta` from the service (their `delta`): base64
// length -> bytes -> milliseconds at the session's rate for that direction.
// The rates start at PCM16 24 kHz and follow the browser's session.update and
// the service's session.created / session.updated (the later one wins; the
// service's says what it applied). Tokens: each response.done's `response.usage`.
// Binary frames are not Voice Live events and count nothing.
import { ratesOf, DEFAULT_BYTES_PER_SECOND, type AudioRates } from './audio-format';
import {
  base64Bytes,
  bytesAt,
  bytesEqual,
  escapedBase64Bytes,
  FrameFields,
  scanObject,
  searchQuote,
  TYPE_AT,
} from './frame-scan';
import { AudioDirection, type ResponseTokens, type SessionUsage, type UsageSink } from './usage-sink';

/** What the meter keeps on a session (relay/session.ts sets every field in its constructor). */
export interface Metered {
  readonly usage: SessionUsage;
  /** Audio bytes per second each way. */
  audioInRate: number;
  audioOutRate: number;
  /** Audio not yet a whole millisecond, in bytes x 1000 (so no audio is lost to rounding). */
  audioInRest: number;
  audioOutRest: number;
}

/** The meter's fields of a new session. */
export const METERED_START = Object.freeze({
  audioInRate: DEFAULT_BYTES_PER_SECOND,
  audioOutRate: DEFAULT_BYTES_PER_SECOND,
  audioInRest: 0,
  audioOutRest: 0,
});

/**
 * Frames larger than this are not parsed for their session object (a
 * session.update is a few KiB; the bound keeps one frame from costing a
 * parse of megabytes). The format stays as it was.
 */
export const SESSION_PARSE_MAX_BYTES = 256 * 1024;

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');
const APPEND = enc('input_audio_buffer.append');
const TURN_APPEND = enc('input_audio.turn.append');
const SESSION_UPDATE = enc('session.update');
const AUDIO_DELTA = enc('response.audio.delta');
const OUTPUT_AUDIO_DELTA = enc('response.output_audio.delta');
const RESPONSE_CREATED = enc('response.created');
const RESPONSE_DONE = enc('response.done');
const SESSION_CREATED = enc('session.created');
const SESSION_UPDATED = enc('session.updated');

// The shapes nearly every frame has, compared in place (after `{"type":"`):
// a browser's append with its audio last, and the service's audio delta.
/** Where the audio starts in `{"type":"input_audio_buffer.append","audio":"` (3 more with Python's spaces). */
const APPEND_AUDIO_AT = 45;
const AUDIO_DELTA_TYPE = enc('response.audio.delta"');
const OUTPUT_AUDIO_DELTA_TYPE = enc('response.output_audio.delta"');
const DELTA_KEY = enc('"delta":"');
/** The letter after `response.` in a type that begins there. */
const RESPONSE_KIND_AT = TYPE_AT + 9;

const R = 0x72; // 'r'
const S = 0x73; // 's'
const CLOSE_BRACE = 0x7d;
const I = 0x69; // 'i'

export class Meter<T extends Metered> {
  /** Reused for every frame: the walk allocates nothing. */
  private readonly fields = new FrameFields();
  /** The response.done being reported: handed to the sink, never kept. */
  private readonly tokens: ResponseTokens = {
    inputTokens: 0,
    outputTokens: 0,
    inputTextTokens: 0,
    inputAudioTokens: 0,
    outputTextTokens: 0,
    outputAudioTokens: 0,
    cachedTokens: 0,
  };
  private readonly rates: AudioRates = { input: 0, output: 0 };
  /** Where `"delta":"` was in the last audio delta from the service. */
  private deltaKeyAt = TYPE_AT;

  constructor(readonly sink: UsageSink<T>) {}

  /** A text frame from the browser, sent (or just sent from the pending queue) to the service. */
  clientFrame(s: T, b: Uint8Array): void {
    // The common case without a walk: `{"type":"input_audio_buffer.append","audio":"<base64>"}`.
    // Byte reads in JavaScript cost tens of instructions each (typed-array
    // checks), so the shape is recognised by the bytes that tell it from every
    // other event, not compared whole; the first quote after the audio being
    // the frame's last but one byte proves those are its only two fields
    // (a native memchr: base64 has no quotes). Anything else takes the walk.
    const at = appendAudioAt(b);
    if (at !== -1) {
      const end = b.length - 2;
      if (b[end + 1] === CLOSE_BRACE && searchQuote(b, at, b.length) === end) {
        this.addAudio(s, audioBytes(b, at, end), AudioDirection.In);
        return;
      }
    }
    const f = this.fields;
    if (!scanObject(b, 0, b.length, f)) return;
    if (f.escaped) return this.clientParsed(s, b);
    const t = f.typeStart;
    if (t === -1) return;
    const first = b[t];
    if (first === I) {
      if (f.audioStart !== -1 && (bytesEqual(b, t, f.typeEnd, APPEND) || bytesEqual(b, t, f.typeEnd, TURN_APPEND)))
        this.addAudio(s, audioBytes(b, f.audioStart, f.audioEnd), AudioDirection.In);
    } else if (first === S) {
      if (f.sessionStart !== -1 && bytesEqual(b, t, f.typeEnd, SESSION_UPDATE))
        this.sessionObject(s, b, f.sessionStart, f.sessionEnd);
    }
  }

  /** A text frame from the service, passed to the browser. */
  upstreamFrame(s: T, b: Buffer): void {
    // The service writes `type` first, so most of its frames are decided by a
    // few bytes (`response.` + one letter) without a walk.
    if (b.length > RESPONSE_KIND_AT && b[0] === 0x7b && b[2] === 0x74 && b[6] === 0x22 && b[8] === 0x22) {
      const first = b[TYPE_AT];
      if (first === R) {
        const kind = b[RESPONSE_KIND_AT];
        if (
          kind === 0x61 /* a */
            ? bytesAt(b, TYPE_AT, AUDIO_DELTA_TYPE)
            : kind === 0x6f /* o */ && bytesAt(b, TYPE_AT, OUTPUT_AUDIO_DELTA_TYPE)
        ) {
          this.serviceAudio(s, b);
          return;
        }
        // response.done and response.created go on to the walk; every other response.* is done here.
        if (kind !== 0x64 /* d */ && kind !== 0x63 /* c */) return;
      } else if (first !== S) {
        return;
      }
    }
    const f = this.fields;
    if (!scanObject(b, 0, b.length, f)) return;
    const t = f.typeStart;
    if (t === -1 || f.escaped) return; // the service writes plain keys
    const first = b[t];
    if (first === R) {
      const e = f.typeEnd;
      if (f.deltaStart !== -1 && (bytesEqual(b, t, e, AUDIO_DELTA) || bytesEqual(b, t, e, OUTPUT_AUDIO_DELTA))) {
        this.addAudio(s, audioBytes(b, f.deltaStart, f.deltaEnd), AudioDirection.Out);
      } else if (bytesEqual(b, t, e, RESPONSE_DONE)) {
        this.responseDone(s, b, f.responseStart, f.responseEnd);
      } else if (bytesEqual(b, t, e, RESPONSE_CREATED)) {
        this.sink.responseStarted(s);
      }
    } else if (first === S) {
      const e = f.typeEnd;
      if (f.sessionStart !== -1 && (bytesEqual(b, t, e, SESSION_UPDATED) || bytesEqual(b, t, e, SESSION_CREATED)))
        this.sessionObject(s, b, f.sessionStart, f.sessionEnd);
    }
  }

  /**
   * An audio delta: `"delta":"` cannot occur inside a JSON string (its quotes
   * would be escaped) and the service's delta events hold no nested object,
   * so the first one is the field; its end is found natively.
   */
  private serviceAudio(s: T, b: Buffer): void {
    // The service writes its delta events alike (ids of one length), so the key is
    // looked for where the last one had it before it is searched for.
    let k = this.deltaKeyAt;
    if (!bytesAt(b, k, DELTA_KEY)) {
      k = b.indexOf(DELTA_KEY, TYPE_AT);
      if (k === -1) return;
      this.deltaKeyAt = k;
    }
    const start = k + DELTA_KEY.length;
    const end = searchQuote(b, start, b.length);
    if (end !== -1) this.addAudio(s, audioBytes(b, start, end), AudioDirection.Out);
  }

  /** Both legs closed: the session's usage is final. */
  finish(s: T, durationMs: number): void {
    this.sink.sessionFinished(s, s.usage, durationMs);
  }

  private addAudio(s: T, bytes: number, direction: AudioDirection): void {
    if (bytes <= 0) return;
    // Milliseconds = bytes * 1000 / rate, carried exactly: what does not make
    // a whole millisecond waits in the rest for the next chunk.
    let ms: number;
    if (direction === AudioDirection.In) {
      const total = s.audioInRest + bytes * 1000;
      ms = Math.floor(total / s.audioInRate);
      s.audioInRest = total - ms * s.audioInRate;
      s.usage.audioInMs += ms;
    } else {
      const total = s.audioOutRest + bytes * 1000;
      ms = Math.floor(total / s.audioOutRate);
      s.audioOutRest = total - ms * s.audioOutRate;
      s.usage.audioOutMs += ms;
    }
    if (ms > 0) this.sink.audioAdded(s, ms, direction);
  }

  /**
   * response.done: once per response, so its `usage` object (a few hundred
   * bytes at the end of the frame) is worth a JSON.parse of just that slice.
   */
  private responseDone(s: T, b: Buffer, start: number, end: number): void {
    const d = this.tokens;
    d.inputTokens = 0;
    d.outputTokens = 0;
    d.inputTextTokens = 0;
    d.inputAudioTokens = 0;
    d.outputTextTokens = 0;
    d.outputAudioTokens = 0;
    d.cachedTokens = 0;
    // The response object's own fields: `usage` is one of them (null while in progress).
    const inner = this.fields;
    if (start !== -1 && scanObject(b, start, end, inner) && inner.usageStart !== -1 && b[inner.usageStart] === 0x7b)
      readTokens(b, inner.usageStart, inner.usageEnd, d);
    const u = s.usage;
    u.responses++;
    u.inputTokens += d.inputTokens;
    u.outputTokens += d.outputTokens;
    u.inputTextTokens += d.inputTextTokens;
    u.inputAudioTokens += d.inputAudioTokens;
    u.outputTextTokens += d.outputTextTokens;
    u.outputAudioTokens += d.outputAudioTokens;
    u.cachedTokens += d.cachedTokens;
    this.sink.responseDone(s, d.inputTokens + d.outputTokens, d);
  }

  /**
   * A session object (session.update from the browser, session.created /
   * updated from the service): a few per session, so a JSON.parse of that
   * slice, bounded by SESSION_PARSE_MAX_BYTES.
   */
  private sessionObject(s: T, b: Uint8Array, start: number, end: number): void {
    if (end - start > SESSION_PARSE_MAX_BYTES) return;
    let session: unknown;
    try {
      session = JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8'));
    } catch {
      return;
    }
    this.applyRates(s, session);
  }

  private applyRates(s: T, session: unknown): void {
    const r = ratesOf(session, this.rates);
    if (r.input !== 0 && r.input !== s.audioInRate) {
      s.audioInRate = r.input;
      s.audioInRest = 0;
    }
    if (r.output !== 0 && r.output !== s.audioOutRate) {
      s.audioOutRate = r.output;
      s.audioOutRest = 0;
    }
  }

  /** A browser frame whose keys or type are escaped: read the way the service reads it. */
  private clientParsed(s: T, b: Uint8Array): void {
    if (b.length > SESSION_PARSE_MAX_BYTES * 64) return;
    let msg: unknown;
    try {
      msg = JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
    } catch {
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    const m = msg as { type?: unknown; audio?: unknown; session?: unknown };
    if ((m.type === 'input_audio_buffer.append' || m.type === 'input_audio.turn.append') && typeof m.audio === 'string')
      this.addAudio(s, base64Length(m.audio), AudioDirection.In);
    else if (m.type === 'session.update') this.applyRates(s, m.session);
  }
}

/**
 * Where the audio starts when `b` begins `{"type":"input_audio_buffer.append","audio":"`
 * (JSON.stringify and most encoders) or `{"type": "input_audio_buffer.append", "audio": "`
 * (Python's json.dumps), else -1. Read at the bytes that set an append apart
 * from every other client event (`commit` and `clear` differ at the `a` of
 * `.append` and at the type's closing quote, `input_audio.turn.*` at the `b`).
 */
function appendAudioAt(b: Uint8Array): number {
  if (b.length <= APPEND_AUDIO_AT + 4 || b[0] !== 0x7b || b[2] !== 0x74 || b[6] !== 0x22) return -1;
  if (
    b[8] === 0x22 &&
    b[9] === 0x69 && // i of input_audio_buffer
    b[21] === 0x62 && // b of buffer
    b[28] === 0x61 && // a of .append
    b[34] === 0x22 && // the type's closing quote
    b[35] === 0x2c && // ,
    b[37] === 0x61 && // a of "audio"
    b[42] === 0x22 &&
    b[44] === 0x22
  )
    return APPEND_AUDIO_AT;
  if (
    b[7] === 0x3a &&
    b[8] === 0x20 &&
    b[9] === 0x22 &&
    b[10] === 0x69 &&
    b[22] === 0x62 &&
    b[29] === 0x61 &&
    b[35] === 0x22 &&
    b[36] === 0x2c &&
    b[37] === 0x20 &&
    b[39] === 0x61 &&
    b[44] === 0x22 &&
    b[45] === 0x3a &&
    b[47] === 0x22
  )
    return APPEND_AUDIO_AT + 3;
  return -1;
}

/** Decoded bytes of the base64 string content `b[start, end)`, escapes read when there are any. */
function audioBytes(b: Uint8Array, start: number, end: number): number {
  return hasEscape(b, start, end) ? escapedBase64Bytes(b, start, end) : base64Bytes(b, start, end);
}

const indexOfByte = Buffer.prototype.indexOf as unknown as (this: Uint8Array, value: number, from: number) => number;

function hasEscape(b: Uint8Array, start: number, end: number): boolean {
  const i = indexOfByte.call(b, 0x5c, start);
  return i !== -1 && i < end;
}

function base64Length(text: string): number {
  const n = text.length;
  let pad = 0;
  if (text.charCodeAt(n - 1) === 0x3d) pad = text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  return Math.floor((n * 3) / 4) - pad;
}

interface UsageJson {
  input_tokens?: unknown;
  output_tokens?: unknown;
  input_token_details?: { text_tokens?: unknown; audio_tokens?: unknown; cached_tokens?: unknown } | null;
  output_token_details?: { text_tokens?: unknown; audio_tokens?: unknown } | null;
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 0;
}

function readTokens(b: Buffer, start: number, end: number, d: ResponseTokens): void {
  let u: UsageJson;
  try {
    u = JSON.parse(b.toString('utf8', start, end)) as UsageJson;
  } catch {
    return;
  }
  if (u === null || typeof u !== 'object') return;
  d.inputTokens = count(u.input_tokens);
  d.outputTokens = count(u.output_tokens);
  const inDetails = u.input_token_details;
  if (inDetails !== null && typeof inDetails === 'object') {
    d.inputTextTokens = count(inDetails.text_tokens);
    d.inputAudioTokens = count(inDetails.audio_tokens);
    d.cachedTokens = count(inDetails.cached_tokens);
  }
  const outDetails = u.output_token_details;
  if (outDetails !== null && typeof outDetails === 'object') {
    d.outputTextTokens = count(outDetails.text_tokens);
    d.outputAudioTokens = count(outDetails.audio_tokens);
  }
}
