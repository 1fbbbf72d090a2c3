// Which close codes can cross from one leg to the other (RFC 6455 7.4.1-2).
// 1005 and 1006 are reported locally but must never be sent in a close frame.
import { CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_NO_STATUS, MAX_CLOSE_REASON_BYTES } from '../constants';

/** A code that may legally be put in a close frame. */
export function isSendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Code to send upstream when the browser leg closed with `code`.
 * 0 means "close without a status" (the peer then sees 1005, as the browser sent).
 */
export function upstreamCodeFor(clientCode: number): number {
  if (clientCode === CLOSE_NO_STATUS) return 0;
  // The browser vanished without a close frame: tell Azure it went away.
  if (clientCode === CLOSE_ABNORMAL) return CLOSE_GOING_AWAY;
  return isSendableCode(clientCode) ? clientCode : CLOSE_GOING_AWAY;
}

/** Trim a reason to what a close frame can carry, without splitting a UTF-8 sequence. */
export function clampReason(reason: string): string {
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3) return reason;
  const buf = Buffer.from(reason);
  if (buf.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString();
}
