// Browser -> upstream frames, framed here and written straight to the
// upstream's TCP socket instead of through ws's WebSocket.send/Sender, whose
// per-send options object, toBuffer, Sender.frame and masked copy were the
// largest JS cost on this leg in the profiles; this does one allocation (from
// Buffer's pool for audio-sized frames) and one copy.
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
/**
 * The current frame's key, for the native mask (which reads a 4-byte buffer):
 * refilled per frame rather than a subarray of the pool per frame, which cost
 * a typed-array allocation on every browser frame. Read synchronously, so one
 * per thread is enough.
 */
const key = Buffer.alloc(4);

function nextKey(): void {
  if (keyOffset === KEY_POOL_SIZE) {
    // A fresh pool each time, as ws does: never hand out a key twice.
    keyPool = randomFillSync(Buffer.allocUnsafe(KEY_POOL_SIZE));
    keyOffset = 0;
  }
  key[0] = keyPool[keyOffset];
  key[1] = keyPool[keyOffset + 1];
  key[2] = keyPool[keyOffset + 2];
  key[3] = keyPool[keyOffset + 3];
  keyOffset += 4;
}

/** Writes one complete, masked WebSocket data frame carrying `payload`. */
export function writeFrame(socket: Socket, payload: Uint8Array, isBinary: boolean): void {
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
  nextKey();
  frame[head - 4] = key[0];
  frame[head - 3] = key[1];
  frame[head - 2] = key[2];
  frame[head - 1] = key[3];
  // bufferutil is typed for Buffer but reads any Uint8Array (napi_get_buffer_info).
  if (len >= NATIVE_MASK_MIN) nativeMask(payload as Buffer, key, frame, head, len);
  else for (let i = 0; i < len; i++) frame[head + i] = payload[i] ^ key[i & 3];
  socket.write(frame);
}
