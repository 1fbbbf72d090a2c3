// Buffers for putting back together an upstream frame cut by a read boundary.
// Over TLS every frame larger than a record (16 KiB) is cut, and over plain
// sockets most 64 KiB audio bursts are; one fresh buffer per such frame was
// garbage that V8 collects late (it waits for tens of MiB of external memory
// per thread), about 45 MiB of RSS beyond what the buffer budget can see in
// the 1000-stalled-readers run. So a frame that ends a message is assembled in
// a reused buffer: the outbox sends its payload (uWS copies it) before the read
// callback returns, and only then (reclaimAssemblies, called by the reader
// after the flush) is the buffer handed out again. Per thread, as module state.

/** A cut frame up to this size is assembled in a reused buffer; larger ones get their own. */
export const ASSEMBLY_BYTES = 128 * 1024;
/** Below this a fresh buffer is a slice of Buffer's pool anyway: not worth a slot. */
export const ASSEMBLY_MIN_BYTES = 4 * 1024;
/** Spare buffers kept between reads (2 MiB per thread at most). */
const MAX_SPARE = 16;

const spare: Buffer[] = [];
const lent: Buffer[] = [];

/** A buffer of ASSEMBLY_BYTES, to hold one frame until lend() hands it back. */
export function takeAssembly(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(ASSEMBLY_BYTES);
}

/** The frame held by `b` has been passed on; `b` is free once this read's frames are sent. */
export function lend(b: Buffer): void {
  if (lent.length < MAX_SPARE) lent.push(b);
}

/** After a read's frames went out (outbox afterRead): the buffers they were in are free again. */
export function reclaimAssemblies(): void {
  while (lent.length > 0) {
    const b = lent.pop()!;
    if (spare.length < MAX_SPARE) spare.push(b);
  }
}
