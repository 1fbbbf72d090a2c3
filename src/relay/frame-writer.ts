// Browser -> upstream frames, framed here and written straight to the
// upstream's TCP socket instead of through ws's WebSocket.send/Sender. The
// profile at 1000 sessions showed the per-send options object, toBuffer,
// Sender.frame and the masked copy as the largest JS cost on this leg; this
// does one allocation (from Buffer's pool for audio-sized frames) and one copy.
//
// Ordering with ws's own writes (pings, close) is kept: ws writes synchronously
// to the same socket (no permessage-deflate, so its Sender never queues), and
// the caller checks the socket is OPEN, so no data frame follows a close frame.
//
// Masking (RFC 6455 5.3): a client must mask every frame with an unpredictable
// key, and the payload here is chosen by an untrusted browser. That holds over
// wss:// too: a TLS-inspecting egress proxy sees the plaintext, and a zero key
// would hand it attacker-chosen bytes verbatim. Keys come from a pool of
// random bytes refilled 2048 frames at a time, as ws does; the masked copy
// replaces the plain copy, so the cost is the XOR (measured: bench/instructions.mjs).
import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import { mask as nativeMask } from 'bufferutil';

const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;
const KEY_POOL_SIZE = 8 * 1024;
/** Below this a JS loop beats the native call's overhead (ws uses the same cut-off). */
const NATIVE_MASK_MIN = 48;

let keyPool = Buffer.alloc(0);
let keyOffset = KEY_POOL_SIZE;

function nextKey(): Buffer {
  if (keyOffset === KEY_POOL_SIZE) {
    // A fresh pool each time: frames still queued in the socket keep their keys.
    keyPool = randomFillSync(Buffer.allocUnsafe(KEY_POOL_SIZE));
    keyOffset = 0;
  }
  const key = keyPool.subarray(keyOffset, keyOffset + 4);
  keyOffset += 4;
  return key;
}

/** Writes one complete, masked WebSocket data frame carrying `payload`. */
export function writeFrame(socket: Socket, payload: Buffer, isBinary: boolean): void {
  const len = payload.length;
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = isBinary ? FIN_BINARY : FIN_TEXT;
  if (len < 126) {
    frame[1] = MASK_BIT | len;
  } else if (len < 65536) {
    frame[1] = MASK_BIT | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = MASK_BIT | 127;
    frame.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  const key = nextKey();
  key.copy(frame, head - 4);
  if (len >= NATIVE_MASK_MIN) nativeMask(payload, key, frame, head, len);
  else for (let i = 0; i < len; i++) frame[head + i] = payload[i] ^ key[i & 3];
  socket.write(frame);
}
