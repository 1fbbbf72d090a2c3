// An upstream message that spans reads, held until its last byte is in: the
// payload of a frame cut by a read boundary, and every fragment of a message
// sent in pieces. The memory grows with the bytes that actually arrived, one
// 64 KiB block at a time (assembly-pool.ts), never with the length a frame
// header announces: ws grew its buffers that way too, and an upstream that
// announces 16 MiB and then sends slowly must not pin 16 MiB the moment the
// header arrives. `held` is what this costs (whole blocks, plus the exact size
// of pieces too small for one); the parser reports it to the session, which
// charges it to the buffer budget beyond one read's worth (relay/accounting.ts,
// docs/decisions/0008-message-assembly.md).
//
// Only the slow path comes here: a frame that lies wholly inside one read and
// ends a message without fragments before it is sent as a view of the read
// buffer (frame-parser.ts) and never touches this.
import { BLOCK_BYTES, BLOCK_MIN_BYTES, giveBack, lend, takeBlock } from './assembly-pool';

const EMPTY = Buffer.alloc(0);

export class MessageAssembly {
  /** Where the message is, in order; every piece but the last is full. */
  private readonly pieces: Buffer[] = [];
  /** The last piece, and how much of it is filled. */
  private last: Buffer = EMPTY;
  private lastLen = 0;
  /** Payload bytes in the pieces. */
  length = 0;
  /** Bytes of memory the pieces take. */
  held = 0;

  /**
   * Copies src[start, end) onto the message. `frameLeft` is what the current
   * frame still has to send from `start` on (at least end - start): a piece
   * too small for a block is sized to it.
   */
  append(src: Buffer, start: number, end: number, frameLeft: number): void {
    while (start < end) {
      if (this.lastLen === this.last.length) this.grow(frameLeft);
      const n = Math.min(end - start, this.last.length - this.lastLen);
      src.copy(this.last, this.lastLen, start, start + n);
      this.lastLen += n;
      this.length += n;
      start += n;
      frameLeft -= n;
    }
  }

  private grow(frameLeft: number): void {
    const piece = frameLeft >= BLOCK_MIN_BYTES ? takeBlock() : Buffer.allocUnsafe(frameLeft);
    this.pieces.push(piece);
    this.last = piece;
    this.lastLen = 0;
    this.held += piece.length;
  }

  /**
   * The whole message; empties the assembly. A message in one block is a view
   * of it, good until this read's frames are sent (the block is lent, see
   * assembly-pool.ts); a longer one is copied into a buffer of its own, and
   * its blocks are free at once.
   */
  take(): Buffer {
    const pieces = this.pieces;
    let message: Buffer;
    if (pieces.length === 1) {
      const last = this.last;
      if (last.length === BLOCK_BYTES) {
        message = last.subarray(0, this.lastLen);
        lend(last);
      } else {
        // A piece sized to its frame is full: it is the message.
        message = last;
      }
    } else {
      message = pieces.length === 0 ? EMPTY : Buffer.concat(pieces, this.length);
      for (let i = 0; i < pieces.length; i++) if (pieces[i].length === BLOCK_BYTES) giveBack(pieces[i]);
    }
    this.reset();
    return message;
  }

  /** Forget the message (a close, an error, a session that ended): its blocks are free. */
  drop(): void {
    const pieces = this.pieces;
    for (let i = 0; i < pieces.length; i++) if (pieces[i].length === BLOCK_BYTES) giveBack(pieces[i]);
    this.reset();
  }

  private reset(): void {
    this.pieces.length = 0;
    this.last = EMPTY;
    this.lastLen = 0;
    this.length = 0;
    this.held = 0;
  }
}
