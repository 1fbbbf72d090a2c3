// Audio bytes per second for the formats a Voice Live session can use, read
// from a session object (a session.update's `session`, or the service's
// session.created / session.updated). Both shapes are read:
//
// - preview/2025-10-01: `input_audio_format` (`pcm16`, `g711_ulaw`,
//   `g711_alaw`) with `input_audio_sampling_rate` (8000, 16000 or 24000, for
//   pcm16), and `output_audio_format` (`pcm16` at 24 kHz, `pcm16_8000hz`,
//   `pcm16_16000hz` (older SDKs spell them with a dash), `g711_ulaw`,
//   `g711_alaw`);
// - GA: `audio.input.format` / `audio.output.format` = `{ type, rate }` with
//   type `audio/pcm` (rate 16000 or 24000), `audio/pcmu` or `audio/pcma` (8 kHz).
//
// PCM16 is two bytes a sample, G.711 one; both are mono.

/** PCM16 mono at 24 kHz: Voice Live's default both ways. */
export const DEFAULT_BYTES_PER_SECOND = 48_000;
/** G.711 (mu-law or A-law): 8 kHz, one byte a sample. */
const G711_BYTES_PER_SECOND = 8_000;

/** What a session object says about each direction: bytes per second, 0 where it says nothing. */
export interface AudioRates {
  input: number;
  output: number;
}

function pcmRate(rate: unknown): number {
  return rate === 8000 || rate === 16000 || rate === 24000 ? rate * 2 : 0;
}

/** A legacy format name, with the input's sampling rate for pcm16 (0 = not given). */
function legacyRate(format: unknown, samplingRate: unknown): number {
  switch (format) {
    case 'pcm16':
      return pcmRate(samplingRate) || DEFAULT_BYTES_PER_SECOND;
    case 'pcm16_8000hz':
    case 'pcm16-8000hz':
      return 16_000;
    case 'pcm16_16000hz':
    case 'pcm16-16000hz':
      return 32_000;
    case 'g711_ulaw':
    case 'g711_alaw':
      return G711_BYTES_PER_SECOND;
    default:
      return 0;
  }
}

/** A GA `{ type, rate }` format object. */
function gaRate(format: unknown): number {
  if (format === null || typeof format !== 'object') return 0;
  const f = format as { type?: unknown; rate?: unknown };
  if (f.type === 'audio/pcmu' || f.type === 'audio/pcma') return G711_BYTES_PER_SECOND;
  if (f.type === 'audio/pcm') return pcmRate(f.rate) || DEFAULT_BYTES_PER_SECOND;
  return 0;
}

function field(o: unknown, key: string): unknown {
  return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * The rates a session object sets. A field it leaves out is 0 (the session
 * keeps its current rate): session.update changes only the fields present.
 * A sampling rate alone (no format) applies to the pcm16 input.
 */
export function ratesOf(session: unknown, out: AudioRates): AudioRates {
  out.input = 0;
  out.output = 0;
  if (session === null || typeof session !== 'object') return out;
  const inFormat = field(session, 'input_audio_format');
  const inSampling = field(session, 'input_audio_sampling_rate');
  if (inFormat !== undefined) out.input = legacyRate(inFormat, inSampling);
  else if (inSampling !== undefined) out.input = pcmRate(inSampling);
  const outFormat = field(session, 'output_audio_format');
  if (outFormat !== undefined) out.output = legacyRate(outFormat, undefined);
  const audio = field(session, 'audio');
  const gaIn = gaRate(field(field(audio, 'input'), 'format'));
  const gaOut = gaRate(field(field(audio, 'output'), 'format'));
  if (gaIn !== 0) out.input = gaIn;
  if (gaOut !== 0) out.output = gaOut;
  return out;
}
