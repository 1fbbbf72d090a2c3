// Gapless playback of response.audio.delta: each chunk becomes an AudioBuffer
// started exactly where the previous one ends, on the AudioContext's clock.
// Starting each chunk "now" instead would click and drift with network jitter.

/** Voice Live's default output format: pcm16 mono at 24 kHz. */
export const OUTPUT_RATE = 24000;
/** Head start for the first chunk of a burst, so the second one is there in time. */
const LEAD_SECONDS = 0.06;

export class Player {
  constructor(ctx) {
    this.ctx = ctx;
    this.out = ctx.createGain();
    this.out.connect(ctx.destination);
    this.sources = new Set();
    /** Context time at which the next chunk starts; 0 = nothing scheduled. */
    this.next = 0;
    this.chunksScheduled = 0;
    this.secondsScheduled = 0;
    /** Chunks of one response that arrived after the previous one had finished. */
    this.gaps = 0;
    this.onidle = null;
  }

  /** Schedule little-endian PCM16 samples; `continues` = not the first chunk of a response. */
  enqueue(samples, continues) {
    const n = samples.length;
    if (n === 0) return;
    const buffer = this.ctx.createBuffer(1, n, OUTPUT_RATE);
    const ch = buffer.getChannelData(0);
    for (let i = 0; i < n; i++) ch[i] = samples[i] / 32768;
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.out);
    const now = this.ctx.currentTime;
    if (this.next < now) {
      if (continues && this.next !== 0) this.gaps++;
      this.next = now + LEAD_SECONDS;
    }
    src.start(this.next);
    this.next += buffer.duration;
    this.sources.add(src);
    src.onended = () => {
      this.sources.delete(src);
      if (this.sources.size === 0 && this.onidle !== null) this.onidle();
    };
    this.chunksScheduled++;
    this.secondsScheduled += buffer.duration;
  }

  get playing() {
    return this.sources.size > 0;
  }

  /** Seconds of audio scheduled but not yet played. */
  queuedSeconds() {
    return this.next > this.ctx.currentTime ? this.next - this.ctx.currentTime : 0;
  }

  /** Barge-in: drop everything scheduled. */
  stop() {
    for (const src of this.sources) {
      src.onended = null;
      src.stop();
    }
    this.sources.clear();
    this.next = 0;
  }
}

/** base64 -> Int16Array (every browser runs on little-endian hardware, as PCM16 is). */
export function decodePcm16(b64) {
  const bin = atob(b64);
  const n = bin.length >> 1;
  const bytes = new Uint8Array(n * 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Int16Array(bytes.buffer);
}
