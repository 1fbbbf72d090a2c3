// A log-bucketed latency histogram (2% resolution, 1 us .. ~100 s) that is
// cheap to record into, small to send over IPC and exact to merge.
const RATIO = 1.02;
const INV_LOG = 1 / Math.log(RATIO);
export const BUCKETS = Math.ceil(Math.log(1e8) * INV_LOG) + 2;

export class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }

  /** Record a value in microseconds. */
  record(us) {
    const v = us < 1 ? 1 : us;
    let b = Math.floor(Math.log(v) * INV_LOG);
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b]++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  reset() {
    this.counts.fill(0);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }

  /** Sparse form for IPC/JSON: [[bucket, count], ...]. */
  toJSON() {
    const sparse = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] !== 0) sparse.push([i, this.counts[i]]);
    return { sparse, n: this.n, max: this.max, sum: this.sum };
  }

  static from(json) {
    const h = new Histogram();
    h.add(json);
    return h;
  }

  add(json) {
    for (const [i, c] of json.sparse) this.counts[i] += c;
    this.n += json.n;
    this.sum += json.sum;
    if (json.max > this.max) this.max = json.max;
  }

  /** Upper edge of the bucket holding quantile q (0..1), in microseconds. */
  quantile(q) {
    if (this.n === 0) return NaN;
    const want = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= want) return Math.min(Math.pow(RATIO, i + 1), this.max);
    }
    return this.max;
  }

  summary() {
    return {
      samples: this.n,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.max,
      mean: this.n === 0 ? NaN : this.sum / this.n,
    };
  }
}
