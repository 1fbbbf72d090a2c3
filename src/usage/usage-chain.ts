// Two sinks told in turn, for the meter's one sink (create-sink.ts): the
// /metrics totals first, then the quotas. Each call is two calls, nothing else.
import type { AudioDirection, ResponseTokens, SessionUsage, UsageSink } from './usage-sink';

export class UsageChain<S> implements UsageSink<S> {
  constructor(
    private readonly first: UsageSink<S>,
    private readonly second: UsageSink<S>,
  ) {}

  audioAdded(s: S, audioMs: number, direction: AudioDirection): void {
    this.first.audioAdded(s, audioMs, direction);
    this.second.audioAdded(s, audioMs, direction);
  }

  responseStarted(s: S): void {
    this.first.responseStarted(s);
    this.second.responseStarted(s);
  }

  responseDone(s: S, tokens: number, detail: ResponseTokens): void {
    this.first.responseDone(s, tokens, detail);
    this.second.responseDone(s, tokens, detail);
  }

  sessionFinished(s: S, usage: SessionUsage, durationMs: number): void {
    this.first.sessionFinished(s, usage, durationMs);
    this.second.sessionFinished(s, usage, durationMs);
  }
}
