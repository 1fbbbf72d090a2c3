// Which close codes can cross from one leg to the other (RFC 6455 7.4.1-2),
// both ways. 1005 and 1006 are reported locally but must never be sent in a
// close frame.
import { CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_NO_STATUS, MAX_CLOSE_REASON_BYTES } from '../constants';
import { Errors, type ProxyError } from '../errors';

/** Reasons uWS gives its close handler when it fails a connection itself. */
const UWS_FAILURES: ReadonlyMap<string, ProxyError> = new Map([
  ['Received invalid UTF-8', Errors.INVALID_UTF8],
  ['Received too big message', Errors.MESSAGE_TOO_BIG],
]);

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

/**
 * The browser leg closed with `code` and `reason`: the protocol error behind
 * it when uWS failed the connection itself (it sends no close frame then, RFC
 * 6455 7.1.7, so its close handler sees 1006 and one of its own reasons).
 */
export function uwsFailure(code: number, reason: string): ProxyError | undefined {
  return code === CLOSE_ABNORMAL ? UWS_FAILURES.get(reason) : undefined;
}

/**
 * Code to send the browser when the upstream closed with `upstreamCode` (a
 * close frame came: 1006, no close frame, is the relay's UPSTREAM_LOST).
 * 0 means "close without a status": the upstream sent none, so neither do we.
 */
export function clientCodeFor(upstreamCode: number): number {
  return upstreamCode === CLOSE_NO_STATUS ? 0 : upstreamCode;
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
