// The subject's cap (MAX_SESSIONS_PER_SUBJECT), right after the caller step
// that verified the subject. With REDIS_URL the fleet counts subjects across
// replicas instead, and this counter admits everyone (one count, not two).
import type { SubjectLimit } from '../auth/subject-limit';
import { Errors } from '../errors';
import { refusal, type Refusal } from './refusal';

/**
 * One more session for a verified subject, or a refusal. On null the subject
 * holds a slot: the caller records it (ClientUserData.subject) so that
 * releaseSlots gives it back exactly once.
 */
export function subjectStep(subjects: SubjectLimit, subject: string): Refusal | null {
  if (subjects.tryAcquire(subject)) return null;
  return refusal('subject', Errors.SUBJECT_AT_CAPACITY, 'subject_capacity', { subject });
}
