// What an admitted connection holds, given back exactly once whichever way it
// ends: the client left during an async decision, a late refusal, or close.
import type { ProxyContext } from '../proxy-context';
import type { ClientUserData } from '../relay/session';

/** Give back the capacity slot, the subject's slot and the fleet lease, each exactly once. */
export function releaseSlots(px: ProxyContext, ud: ClientUserData): void {
  if (ud.hasSlot) {
    ud.hasSlot = false;
    px.gate.release(ud.ipKey);
  }
  if (ud.subject !== '') {
    px.subjects.release(ud.subject);
    ud.subject = '';
  }
  if (ud.lease !== null) {
    px.fleet?.release(ud.lease);
    ud.lease = null;
  }
}
