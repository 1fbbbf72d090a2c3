// One upgrade request on its way through the pipeline: its reply, the user
// data the socket will carry, and what a later step needs from an earlier
// one. Every field is set in the constructor (one shape); the pipeline's
// module-level functions reach the request through this one object.
import type { CallerCredentials } from '../auth/caller-auth';
import type { AcquireRequest } from '../fleet/fleet-limiter';
import type { UpgradeReply } from '../http/upgrade-reply';
import type { ClientUserData } from '../relay/session';

/** Nothing to verify (CLIENT_AUTH=none). */
export const NO_CREDENTIALS: CallerCredentials = Object.freeze({ ticket: '', bearer: '', origin: '' });

export class Attempt {
  /** What CLIENT_AUTH verifies, copied from the request. */
  credentials: CallerCredentials = NO_CREDENTIALS;
  /** The verified ticket's replay key, claimed once across the fleet. */
  ticket: AcquireRequest['ticket'] = undefined;

  constructor(
    readonly reply: UpgradeReply<ClientUserData>,
    /** What the client holds (slot, subject, lease) is recorded here, for releaseSlots. */
    readonly ud: ClientUserData,
  ) {}
}
