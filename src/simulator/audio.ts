// PCM16 mono 24 kHz helpers for the simulator: a capped input buffer, a
// silence test and the reply tone. Voice Live's default audio format is
// `pcm16` at 24 kHz, so one second is 48 000 bytes.

export const SAMPLE_RATE = 24_000;
export const BYTES_PER_SECOND = SAMPLE_RATE * 2;
/** 30 s of input is kept per session; older audio is dropped first. */
export const INPUT_CAP_BYTES = 30 * BYTES_PER_SECOND;
/**
 * RMS (in 16-bit sample units) under which input counts as silence: about
 * -50 dBFS, above the noise floor of a quiet microphone, well below speech.
 */
export const SILENCE_RMS = 100;

/**
 * Input audio kept as the chunks it arrived in: appends are O(1) and a
 * session that never commits costs nothing up front (a 1.44 MB ring per
 * session would cost gigabytes in the benchmark).
 */
export class InputAudio {
  chunks: Buffer[] = [];
  bytes = 0;

  constructor(readonly cap: number = INPUT_CAP_BYTES) {}

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.cap) {
      this.chunks = [chunk.subarray(chunk.length - this.cap)];
      this.bytes = this.cap;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    let excess = this.bytes - this.cap;
    while (excess > 0) {
      const head = this.chunks[0];
      if (head.length <= excess) {
        this.chunks.shift();
        this.bytes -= head.length;
        excess -= head.length;
      } else {
        this.chunks[0] = head.subarray(excess);
        this.bytes -= excess;
        excess = 0;
      }
    }
  }

  /** Everything buffered as one even-length buffer; empties the buffer. */
  take(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes);
    this.clear();
    // A trailing odd byte is half a sample: drop it so the echo stays aligned.
    return all.subarray(0, all.length & ~1);
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}

/** Root mean square of little-endian int16 samples. */
export function rms(pcm: Buffer): number {
  const samples = pcm.length >> 1;
  if (samples === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    const v = pcm.readInt16LE(i << 1);
    sum += v * v;
  }
  return Math.sqrt(sum / samples);
}

export function isSilent(pcm: Buffer): boolean {
  return rms(pcm) < SILENCE_RMS;
}

/** Seconds of audio in a PCM16 24 kHz buffer, one decimal. */
export function seconds(pcm: Buffer): number {
  return Math.round((pcm.length / BYTES_PER_SECOND) * 10) / 10;
}

/**
 * 1 s of 440 Hz (concert A) at about -10 dBFS with 10 ms fades so it starts
 * and stops without a click: loud and plain enough that a person hears "that
 * is the test tone". Built once; every session shares it read-only.
 */
export const TONE: Buffer = makeTone(440, 1, 0.3);

export function makeTone(hz: number, durationS: number, amplitude: number): Buffer {
  const n = Math.round(SAMPLE_RATE * durationS);
  const fade = Math.round(SAMPLE_RATE * 0.01);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const edge = Math.min(1, i / fade, (n - 1 - i) / fade);
    const v = Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE) * amplitude * edge;
    out.writeInt16LE(Math.round(v * 32767), i << 1);
  }
  return out;
}
