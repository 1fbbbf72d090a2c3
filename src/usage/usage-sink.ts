// The seam between metering (what a session used: usage/meter*, fed from the
// relay's two hot paths) and what is done with it (quotas, fleet-wide day
// totals, the caller's own view). The meter adds to a session's
// SessionUsage and tells one UsageSink; the sink never reads frames.

/** What one session has used so far. Integers only: added to per frame. */
export interface SessionUsage {
  /** Audio the browser sent (input_audio_buffer.append), in milliseconds. */
  audioInMs: number;
  /** Audio the service sent back (audio deltas), in milliseconds. */
  audioOutMs: number;
  /** From each response.done's `usage`. */
  inputTokens: number;
  outputTokens: number;
  inputTextTokens: number;
  inputAudioTokens: number;
  outputTextTokens: number;
  outputAudioTokens: number;
  cachedTokens: number;
  /** response.done events seen. */
  responses: number;
}

/** A SessionUsage with every count at zero. */
export function emptyUsage(): SessionUsage {
  return {
    audioInMs: 0,
    audioOutMs: 0,
    inputTokens: 0,
    outputTokens: 0,
    inputTextTokens: 0,
    inputAudioTokens: 0,
    outputTextTokens: 0,
    outputAudioTokens: 0,
    cachedTokens: 0,
    responses: 0,
  };
}

/** Which way audio went: from the browser (input) or from the service (output). */
export const enum AudioDirection {
  In = 0,
  Out = 1,
}

/** One response.done's token counts (the SessionUsage token fields); valid only during the call. */
export type ResponseTokens = Pick<
  SessionUsage,
  | 'inputTokens'
  | 'outputTokens'
  | 'inputTextTokens'
  | 'inputAudioTokens'
  | 'outputTextTokens'
  | 'outputAudioTokens'
  | 'cachedTokens'
>;

/**
 * Told by the meter whenever a session's usage grows. S is the relay's
 * Session. Called on the relay's hot paths: implementations add numbers and
 * compare against limits; they do not allocate, log or await per call.
 */
export interface UsageSink<S> {
  /** `audioMs` more audio was relayed for `s`, in `direction` (a sink that sums both ways may ignore it). */
  audioAdded(s: S, audioMs: number, direction: AudioDirection): void;
  /** A response.created passed to the browser: a response is in progress. */
  responseStarted(s: S): void;
  /**
   * A response.done passed to the browser, carrying `tokens` (input + output, 0
   * when it had no usage); `detail` splits them (a scratch object the meter
   * reuses: read it during the call, never keep it).
   */
  responseDone(s: S, tokens: number, detail: ResponseTokens): void;
  /** The session finished (both legs closed): its final usage and wall time (open to finish), once. */
  sessionFinished(s: S, usage: SessionUsage, durationMs: number): void;
}
