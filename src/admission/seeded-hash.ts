// A keyed 128-bit hash for the tables shared between worker threads.
// The key is 32 random bytes drawn at each process start and kept in the
// shared buffer, so every worker hashes alike. HMAC-SHA256 truncated to 128
// bits: the tables store the whole 128-bit tag and compare all of it, so two
// clients can only meet in one entry by finding an HMAC collision, and a
// client that somehow learned the key still cannot make another client's
// entry its own (a full set evicts, it never merges). It costs about a
// microsecond per call, paid per HTTP request or upgrade, never per frame.
import { createHmac, randomFillSync } from 'node:crypto';

export const HASH_KEY_BYTES = 32;

/** Fresh random key bytes, written into `into` (a view on the shared buffer). */
export function newHashKey(into: Uint8Array): void {
  randomFillSync(into);
}

/**
 * Writes the 128-bit tag of `text` under `key` into out[0..3]. out[3] has its
 * low bit set, so a tag is never all zero (all zero marks an empty slot).
 */
export function keyedTag(key: Uint8Array, text: string, out: Int32Array): void {
  const d = createHmac('sha256', key).update(text).digest();
  out[0] = d.readInt32LE(0);
  out[1] = d.readInt32LE(4);
  out[2] = d.readInt32LE(8);
  out[3] = d.readInt32LE(12) | 1;
}
