// A log-bucketed latency histogram (2% resolution, 1 us .. ~100 s) that is
// cheap to record into, small to post between threads and exact to merge.
const RATIO = 1.02;
const INV_LOG = 1 / Math.log(RATIO);
export const BUCKETS = Math.ceil(Math.log(1e8) * INV_LOG) + 2;

/** The sparse form a histogram travels in: [[bucket, count], ...]. */
export interface HistogramJson {
  readonly sparse: ReadonlyArray<readonly [number, number]>;
  readonly n: number;
  readonly max: number;
  readonly sum: number;
}

/** Quantiles in the unit recorded (microseconds). */
export interface HistogramSummary {
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  n = 0;
  max = 0;
  sum = 0;

  /** Record a value in microseconds. */
  record(us: number): void {
    const v = us < 1 ? 1 : us;
    let b = Math.floor(Math.log(v) * INV_LOG);
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b]++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }

  toJSON(): HistogramJson {
    const sparse: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] !== 0) sparse.push([i, this.counts[i]]);
    return { sparse, n: this.n, max: this.max, sum: this.sum };
  }

  static from(json: HistogramJson): Histogram {
    const h = new Histogram();
    h.add(json);
    return h;
  }

  add(json: HistogramJson): void {
    for (const [i, c] of json.sparse) this.counts[i] += c;
    this.n += json.n;
    this.sum += json.sum;
    if (json.max > this.max) this.max = json.max;
  }

  /** Upper edge of the bucket holding quantile q (0..1), in microseconds; NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const want = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= want) return Math.min(Math.pow(RATIO, i + 1), this.max);
    }
    return this.max;
  }

  summary(): HistogramSummary {
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
