// What the generator sends: `input_audio_buffer.append` events whose audio is
// speech-like PCM16 (sweeping tones and noise, so compression and the
// simulator's audio path see realistic bytes), with a fixed-width sequence
// number and send time in the event_id, so the byte-identical echo of an
// append carries its own round trip.
import { buildFrame } from './raw-ws';

const SAMPLE_RATE = 24000;

export const APPEND_HEAD = '{"type":"input_audio_buffer.append","event_id":"e';
export const SEQ_W = 9;
export const TIME_W = 13;
export const SEQ_AT = APPEND_HEAD.length;
export const TIME_AT = SEQ_AT + SEQ_W + 1;

/** The simulator's switch to echo every frame back byte for byte (an unknown event elsewhere). */
export const ECHO_ON = Buffer.from('{"type":"simulator.echo_raw"}');

/** One append event ready to send: patch the digits, copy, write. */
export interface AppendTemplate {
  readonly frame: Buffer;
  readonly payloadOffset: number;
  readonly payloadLen: number;
}

/** PCM16 bytes of `ms` milliseconds at the realtime API's 24 kHz. */
export function pcmBytesFor(ms: number): number {
  return Math.round((SAMPLE_RATE * ms) / 1000) * 2;
}

/** `variants` different chunks of `pcmBytes` bytes of PCM16, base64. */
function audioChunks(pcmBytes: number, variants: number): string[] {
  const samples = Math.max(1, Math.floor(pcmBytes / 2));
  const out: string[] = [];
  let seed = 12345;
  for (let v = 0; v < variants; v++) {
    const pcm = Buffer.alloc(samples * 2);
    const f = 150 + v * 37;
    for (let i = 0; i < samples; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed / 0x7fffffff - 0.5) * 2000;
      const s = 6000 * Math.sin((2 * Math.PI * f * (i + v * samples)) / SAMPLE_RATE) + noise;
      pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s))), i * 2);
    }
    out.push(pcm.toString('base64'));
  }
  return out;
}

/** Eight append frames (same length, different audio) to rotate through. */
export function appendTemplates(pcmBytes: number): AppendTemplate[] {
  return audioChunks(pcmBytes, 8).map((b64) => {
    const payload = Buffer.from(
      APPEND_HEAD + '0'.repeat(SEQ_W) + 't' + '0'.repeat(TIME_W) + '","audio":"' + b64 + '"}',
    );
    const { frame, payloadOffset } = buildFrame(payload);
    return { frame, payloadOffset, payloadLen: payload.length };
  });
}
