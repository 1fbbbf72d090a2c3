// Blocks for putting back together an upstream message that spans reads: a
// frame cut by a read boundary, or a message sent in fragments
// (message-assembly.ts). Over TLS every frame larger than a record (16 KiB) is
// cut, and over plain sockets most 64 KiB audio bursts are; one fresh buffer
// per such frame was garbage that V8 collects late (it waits for tens of MiB
// of external memory per thread), RSS the buffer budget could not see
// (docs/decisions/0008-message-assembly.md). So blocks are reused: a
// message that fits in one block is sent as a view of it (the outbox sends
// it, and uWS copies it, before the read callback returns), and only then
// (reclaimAssemblies, called by the reader after the flush) is the block
// handed out again. Per thread, as module state.

/** One block: the read buffer's size, so one read never needs more than two. */
export const BLOCK_BYTES = 64 * 1024;
/** A piece smaller than this is a slice of Buffer's pool anyway: not worth a block. */
export const BLOCK_MIN_BYTES = 4 * 1024;
/** Spare blocks kept between reads (2 MiB per thread at most). */
const MAX_SPARE = 32;

const spare: Buffer[] = [];
const lent: Buffer[] = [];

/** A block of BLOCK_BYTES, to hold part of one message until lend() or giveBack(). */
export function takeBlock(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
}

/** A message is being sent as a view of `b`: `b` is free once this read's frames are sent. */
export function lend(b: Buffer): void {
  if (lent.length < MAX_SPARE) lent.push(b);
}

/** Nothing refers to what `b` holds any more (it was copied out, or dropped): free now. */
export function giveBack(b: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(b);
}

/** After a read's frames went out (outbox afterRead): the blocks they were in are free again. */
export function reclaimAssemblies(): void {
  while (lent.length > 0) {
    const b = lent.pop()!;
    if (spare.length < MAX_SPARE) spare.push(b);
  }
}
