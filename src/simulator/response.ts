// Long output as jobs the session pump steps through, so a 30 s echo or a
// 100 MB burst is produced only as fast as the peer reads it.
import { seconds } from './audio';
import { event, newId, PREVIEW_EVENTS } from './events';
import type { EventNames, Json } from './events';
import { send, sendText } from './session';
import type { Job, SimSession } from './session';

const PHASE_START = 0;
const PHASE_AUDIO = 1;
const PHASE_END = 2;

/**
 * One assistant turn: response.created, output_item.added,
 * content_part.added, interleaved audio_transcript.delta / audio.delta,
 * then audio.done, audio_transcript.done, content_part.done,
 * output_item.done, response.done (the order the service uses), under the
 * names of the session's protocol (events.ts EventNames).
 */
export class ResponseJob implements Job {
  readonly id: string;
  readonly itemId: string;
  phase: number;
  offset: number;
  word: number;
  cancelled: boolean;
  readonly words: string[];
  /** `","response_id":...,"delta":"` built per response. */
  readonly deltaIds: string;
  /** `{"type":"response.audio.delta","event_id":"` (or the GA name) built per response. */
  readonly deltaHead: string;

  constructor(
    readonly audio: Buffer,
    readonly transcript: string,
    readonly inputSeconds: number,
    readonly names: EventNames = PREVIEW_EVENTS,
  ) {
    this.id = newId('resp');
    this.itemId = newId('item');
    this.phase = PHASE_START;
    this.offset = 0;
    this.word = 0;
    this.cancelled = false;
    // Word-sized deltas with their leading space, as the service streams them.
    this.words = transcript.split(/(?=\s)/);
    this.deltaIds =
      '","response_id":"' + this.id + '","item_id":"' + this.itemId + '","output_index":0,"content_index":0,"delta":"';
    this.deltaHead = '{"type":"' + names.audioDelta + '","event_id":"';
  }

  step(s: SimSession): boolean {
    if (this.phase === PHASE_START) {
      this.start(s);
      return false;
    }
    if (this.phase === PHASE_AUDIO && !this.cancelled) {
      this.chunk(s);
      return false;
    }
    this.end(s);
    return true;
  }

  started(): boolean {
    return this.phase !== PHASE_START;
  }

  /** Stop after the chunk in flight; response.done says `cancelled`. */
  cancel(): void {
    this.cancelled = true;
  }

  private ids(): Json {
    return { response_id: this.id, item_id: this.itemId, output_index: 0, content_index: 0 };
  }

  private response(status: string, output: Json[]): Json {
    return {
      object: 'realtime.response',
      id: this.id,
      status,
      status_details: status === 'cancelled' ? { type: 'cancelled', reason: 'client_cancelled' } : null,
      output,
      usage: status === 'in_progress' ? null : this.usage(),
    };
  }

  private item(status: string): Json {
    const content = status === 'in_progress' ? [] : [{ type: this.names.audioPart, transcript: this.transcript }];
    return { id: this.itemId, object: 'realtime.item', type: 'message', status, role: 'assistant', content };
  }

  private usage(): Json {
    // Roughly 10 audio tokens per second each way, of what was sent (a
    // cancelled response stops early); only the shape matters.
    // The details objects are part of the 2026-07-15 shape: the SDK reads them
    // unconditionally and fails on a response.done without them.
    const input = Math.ceil(this.inputSeconds * 10);
    const audioOut = Math.ceil(seconds(this.audio.subarray(0, this.offset)) * 10);
    const textOut = this.word;
    return {
      total_tokens: input + audioOut + textOut,
      input_tokens: input,
      output_tokens: audioOut + textOut,
      input_token_details: {
        cached_tokens: 0,
        text_tokens: 0,
        audio_tokens: input,
        image_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      },
      output_token_details: { text_tokens: textOut, audio_tokens: audioOut, reasoning_tokens: 0 },
    };
  }

  private start(s: SimSession): void {
    sendText(s, event('response.created', { response: this.response('in_progress', []) }));
    sendText(
      s,
      event('response.output_item.added', { response_id: this.id, output_index: 0, item: this.item('in_progress') }),
    );
    sendText(
      s,
      event('response.content_part.added', {
        response_id: this.id,
        item_id: this.itemId,
        output_index: 0,
        content_index: 0,
        part: { type: this.names.audioPart, transcript: '' },
      }),
    );
    this.phase = PHASE_AUDIO; // never empty: silence gets the tone
  }

  private chunk(s: SimSession): void {
    if (this.word < this.words.length) this.transcriptDelta(s, this.words[this.word++]);
    const end = Math.min(this.offset + s.env.audioChunkBytes, this.audio.length);
    const b64 = this.audio.toString('base64', this.offset, end);
    // Every piece is ASCII, so string length is the byte length.
    const frame = this.deltaHead + newId('event') + this.deltaIds + b64 + '"}';
    send(s, frame, false, frame.length);
    this.offset = end;
    if (end === this.audio.length) this.phase = PHASE_END;
  }

  private transcriptDelta(s: SimSession, delta: string): void {
    sendText(s, event(this.names.transcriptDelta, { ...this.ids(), delta }));
  }

  private end(s: SimSession): void {
    const status = this.cancelled ? 'cancelled' : 'completed';
    if (!this.cancelled) {
      while (this.word < this.words.length) this.transcriptDelta(s, this.words[this.word++]);
    }
    const ids = this.ids();
    sendText(s, event(this.names.audioDone, ids));
    sendText(s, event(this.names.transcriptDone, { ...ids, transcript: this.transcript }));
    sendText(
      s,
      event('response.content_part.done', {
        ...ids,
        part: { type: this.names.audioPart, transcript: this.transcript },
      }),
    );
    sendText(s, event('response.output_item.done', { response_id: this.id, output_index: 0, item: this.item(status) }));
    sendText(s, event('response.done', { response: this.response(status, [this.item(status)]) }));
  }
}

// One shared pattern buffer, grown to the largest frame asked for: the bytes
// count up (i mod 256) so a relay test can spot a reordered or torn frame.
let pattern = Buffer.alloc(0);

function patternOf(size: number): Buffer {
  if (pattern.length < size) {
    pattern = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) pattern[i] = i & 0xff;
  }
  return pattern.subarray(0, size);
}

/** simulator.burst: `total` bytes in binary frames of `frameBytes`, then a done event. */
export class BurstJob implements Job {
  sent: number;
  frames: number;

  constructor(
    readonly total: number,
    readonly frameBytes: number,
  ) {
    this.sent = 0;
    this.frames = 0;
  }

  step(s: SimSession): boolean {
    if (this.sent < this.total) {
      const size = Math.min(this.frameBytes, this.total - this.sent);
      send(s, patternOf(size), true, size);
      this.sent += size;
      this.frames++;
      return false;
    }
    sendText(s, event('simulator.burst.done', { bytes: this.sent, frames: this.frames }));
    return true;
  }
}
