// The caller's daily quotas (QUOTA_AUDIO_MINUTES_PER_DAY, QUOTA_TOKENS_PER_DAY),
// the last step: the caller is known by then (its verified subject, else its
// address). Without REDIS_URL it is decided here at once; with it, one read
// of the fleet's day totals (usage/quotas.ts), Redis away following
// FLEET_ON_REDIS_DOWN as the fleet step does.
import { Errors } from '../errors';
import { refusal, withRetryAfter, type Refusal } from './refusal';

const QUOTA_EXHAUSTED = Object.freeze(
  refusal('quota', Errors.QUOTA_EXHAUSTED, 'quota', Object.freeze({ outcome: 'quota' })),
);
const UNAVAILABLE = Object.freeze(
  refusal('quota', Errors.FLEET_UNAVAILABLE, 'fleet_unavailable', Object.freeze({ outcome: 'unavailable' })),
);

/**
 * `wait`: seconds until the caller is under every quota (0: now), or -1 when
 * the fleet cannot say (FLEET_ON_REDIS_DOWN=closed). Null admits.
 */
export function quotaStep(wait: number, caller: string): Refusal | null {
  if (wait === 0) return null;
  if (wait < 0) return UNAVAILABLE;
  // Retry-After: when enough of the rolling day has freed up.
  const r = withRetryAfter(QUOTA_EXHAUSTED, wait);
  return { ...r, detail: { outcome: 'quota', caller } };
}
