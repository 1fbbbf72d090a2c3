// AudioWorklet (audio rendering thread): microphone samples at the context's
// rate in, PCM16 mono at 24 kHz out, posted to the page in fixed chunks with
// their level. Voice Live's default input format is pcm16 at 24 kHz, so the
// page never has to convert anything on the main thread.
const TARGET_RATE = 24000;

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const chunkMs = (options.processorOptions && options.processorOptions.chunkMs) || 50;
    // Input samples per output sample (2 at 48 kHz, 1 at 24 kHz).
    this.step = sampleRate / TARGET_RATE;
    // A one-pole low-pass at ~10.8 kHz before decimating keeps most of the
    // aliasing out; speech has little energy up there anyway.
    this.alpha = this.step > 1 ? 1 - Math.exp((-2 * Math.PI * 0.45 * TARGET_RATE) / sampleRate) : 1;
    this.lp = 0;
    this.prev = 0;
    // Position of the next output sample, in input samples from the start of
    // the current block; -1 is the previous block's last sample.
    this.t = 0;
    this.filtered = new Float32Array(128);
    this.chunkSamples = Math.round((TARGET_RATE * chunkMs) / 1000);
    this.chunk = new Int16Array(this.chunkSamples);
    this.fill = 0;
    this.sumSquares = 0;
    this.peak = 0;
  }

  process(inputs) {
    const input = inputs[0];
    // No channel yet (the microphone stream has not started): keep running.
    if (input.length === 0) return true;
    const x = input[0];
    const n = x.length;
    if (this.filtered.length < n) this.filtered = new Float32Array(n);
    const y = this.filtered;
    let lp = this.lp;
    for (let i = 0; i < n; i++) {
      lp += this.alpha * (x[i] - lp);
      y[i] = lp;
    }
    this.lp = lp;
    let t = this.t;
    while (t <= n - 1) {
      const i = Math.floor(t);
      const f = t - i;
      const a = i < 0 ? this.prev : y[i];
      const b = i + 1 < n ? y[i + 1] : a;
      this.emit(a + (b - a) * f);
      t += this.step;
    }
    this.t = t - n;
    this.prev = y[n - 1];
    return true;
  }

  emit(s) {
    const v = s > 1 ? 1 : s < -1 ? -1 : s;
    this.chunk[this.fill++] = v < 0 ? v * 0x8000 : v * 0x7fff;
    this.sumSquares += v * v;
    const a = v < 0 ? -v : v;
    if (a > this.peak) this.peak = a;
    if (this.fill < this.chunkSamples) return;
    const pcm = this.chunk.buffer;
    this.port.postMessage({ pcm, rms: Math.sqrt(this.sumSquares / this.fill), peak: this.peak }, [pcm]);
    // The buffer was transferred, which detaches it (its view's length is now
    // 0): a new one per chunk, 20 a second.
    this.chunk = new Int16Array(this.chunkSamples);
    this.fill = 0;
    this.sumSquares = 0;
    this.peak = 0;
  }
}

registerProcessor('pcm16-capture', Pcm16Capture);
