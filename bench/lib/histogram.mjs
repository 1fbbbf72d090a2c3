// The latency histogram of the shared load generator (src/loadtest/histogram.ts).
import { loadtestModule } from './dist.mjs';

export const { Histogram, BUCKETS } = loadtestModule('histogram');
