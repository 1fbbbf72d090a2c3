// The subject's cap (MAX_SESSIONS_PER_SUBJECT), right after the caller step
// that verified the subject. This replica's count is kept with REDIS_URL too
// (docs/contract.md §6): it is the local limit that holds whenever the fleet's
// decision is unavailable, and the fleet step then holds it across replicas.
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
