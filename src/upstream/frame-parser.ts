// Server -> client WebSocket frames (RFC 6455 5), parsed straight out of
// whatever buffer a socket read filled. It replaces ws's Receiver on the
// upstream leg only (reader.ts; docs/decisions/0001-own-upstream-frame-parser.md), and accepts and refuses
// exactly what that Receiver does with the options the proxy gave it: no
// permessage-deflate, skipUTF8Validation, maxPayload = UPSTREAM_MAX_PAYLOAD,
// maxFragments 16384. The error messages and close codes are ws's own.
//
// A message that is one frame lying wholly inside one read is handed to the
// sink as a view of the read buffer, not a copy: the sink must be done with it
// before the read callback returns (the relay's outbox sends it before then).
// Only a message that spans reads (a frame cut by a read boundary, or
// fragments) is copied, into blocks that grow with the bytes received
// (message-assembly.ts); what they hold is reported through onHeld.

import { MessageAssembly } from './message-assembly';

/** What a parsed stream produces; every method is called synchronously from push(). */
export interface FrameSink {
  /** A complete data message; `data` may be a view of the read buffer (see above). */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** `data` is a copy (at most 125 bytes). */
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** A close frame: 1005 when it had no status; `reason` is a copy. Nothing is parsed after it. */
  onClose(code: number, reason: Buffer): void;
  /** A protocol error: `closeCode` goes in the close frame we answer with. Nothing is parsed after it. */
  onProtocolError(closeCode: number, message: string, code: string): void;
  /**
   * The bytes of memory held for a message not yet complete changed (at most
   * once per push(), at its end; never for a message that fits in one read).
   */
  onHeld(bytes: number): void;
}

/** ws's default for a client: a message made of more frames than this is refused (1008). */
export const MAX_FRAGMENTS = 16 * 1024;

const EMPTY = Buffer.alloc(0);
const HEADER = 0;
const PAYLOAD = 1;
const DONE = 2;

/** Close codes a peer may send (RFC 6455 7.4.1; ws's isValidStatusCode). */
function isValidStatusCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  );
}

export class FrameParser {
  private state = HEADER;
  /** Header bytes carried over from the previous read (at most 10: no mask on server frames). */
  private readonly head = Buffer.allocUnsafe(10); // a slice of Buffer's pool: no ArrayBuffer per session
  private headLen = 0;
  private fin = false;
  private opcode = 0;
  private payloadLength = 0;
  /** Payload bytes of the current frame received in earlier reads (or earlier in this one). */
  private partialLen = 0;
  /** A control frame's payload cut by a read boundary (at most 125 bytes). */
  private control: Buffer = EMPTY;
  /** Opcode of the message being reassembled from fragments, 0 when none. */
  private fragmented = 0;
  /** The data message that spans reads or fragments, as received so far. */
  private readonly message = new MessageAssembly();
  /** message.held as last told to the sink. */
  private reported = 0;
  /** drop() was called: data payloads are parsed past, not kept. */
  private dropping = false;
  private totalPayloadLength = 0;
  private numFragments = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxPayload: number,
  ) {}

  /** Parses buf[0, end); may call the sink any number of times. */
  push(buf: Buffer, end: number): void {
    let pos = 0;
    while (pos < end) {
      if (this.state === HEADER) {
        pos = this.readHeader(buf, pos, end);
        if (pos < 0) break;
      } else if (this.state === PAYLOAD) {
        pos = this.readPayload(buf, pos, end);
      } else {
        break;
      }
    }
    // Once per read, and only when a message spans reads: the session charges the budget.
    if (this.message.held !== this.reported) {
      this.reported = this.message.held;
      this.sink.onHeld(this.reported);
    }
  }

  /**
   * The session is over (or its browser gone): free what the unfinished
   * message holds, and keep no data from here on; frames are still parsed,
   * so control frames and the close handshake go on. The caller stops
   * charging for it: onHeld is not called.
   */
  drop(): void {
    this.dropping = true;
    this.message.drop();
    this.reported = 0;
  }

  /** Returns where the payload starts, or `end` while the header is incomplete, or -1 on error. */
  private readHeader(buf: Buffer, pos: number, end: number): number {
    if (this.headLen === 0 && end - pos >= 2) {
      const size = headerSize(buf[pos + 1]);
      if (end - pos >= size) {
        // The common case: the whole header is in this read.
        if (!this.checkStart(buf[pos], buf[pos + 1]) || !this.readLength(buf, pos)) return -1;
        return this.startPayload(pos + size);
      }
    }
    // The header is cut by a read boundary: gather it in `head`, judging its
    // first two bytes as soon as they are here (as ws does).
    if (this.headLen < 2) {
      const n = Math.min(2 - this.headLen, end - pos);
      buf.copy(this.head, this.headLen, pos, pos + n);
      this.headLen += n;
      pos += n;
      if (this.headLen < 2) return pos;
      if (!this.checkStart(this.head[0], this.head[1])) return -1;
    }
    const size = headerSize(this.head[1]);
    const n = Math.min(size - this.headLen, end - pos);
    buf.copy(this.head, this.headLen, pos, pos + n);
    this.headLen += n;
    pos += n;
    if (this.headLen < size) return pos;
    this.headLen = 0;
    if (!this.readLength(this.head, 0)) return -1;
    return this.startPayload(pos);
  }

  /** Judges a header's first two bytes; false after reporting an error. */
  private checkStart(b0: number, b1: number): boolean {
    if ((b0 & 0x30) !== 0)
      return this.fail(1002, 'Invalid WebSocket frame: RSV2 and RSV3 must be clear', 'WS_ERR_UNEXPECTED_RSV_2_3');
    // permessage-deflate is never negotiated upstream (socket.ts), so RSV1 is always an error.
    if ((b0 & 0x40) !== 0)
      return this.fail(1002, 'Invalid WebSocket frame: RSV1 must be clear', 'WS_ERR_UNEXPECTED_RSV_1');
    const fin = (b0 & 0x80) !== 0;
    let opcode = b0 & 0x0f;
    const length = b1 & 0x7f;
    if (opcode === 0x00) {
      if (this.fragmented === 0)
        return this.fail(1002, 'Invalid WebSocket frame: invalid opcode 0', 'WS_ERR_INVALID_OPCODE');
      opcode = this.fragmented;
    } else if (opcode === 0x01 || opcode === 0x02) {
      if (this.fragmented !== 0) {
        return this.fail(1002, `Invalid WebSocket frame: invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
      }
    } else if (opcode > 0x07 && opcode < 0x0b) {
      if (!fin) return this.fail(1002, 'Invalid WebSocket frame: FIN must be set', 'WS_ERR_EXPECTED_FIN');
      if (length > 0x7d || (opcode === 0x08 && length === 1)) {
        return this.fail(
          1002,
          `Invalid WebSocket frame: invalid payload length ${length}`,
          'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
        );
      }
    } else {
      return this.fail(1002, `Invalid WebSocket frame: invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
    }
    if (!fin && this.fragmented === 0) this.fragmented = opcode;
    if ((b1 & 0x80) !== 0)
      return this.fail(1002, 'Invalid WebSocket frame: MASK must be clear', 'WS_ERR_UNEXPECTED_MASK');
    this.fin = fin;
    this.opcode = opcode;
    return true;
  }

  /** Reads the payload length of a complete header at src[at]; false after reporting an error. */
  private readLength(src: Buffer, at: number): boolean {
    let length = src[at + 1] & 0x7f;
    if (length === 126) {
      length = src.readUInt16BE(at + 2);
    } else if (length === 127) {
      const high = src.readUInt32BE(at + 2);
      if (high > 2 ** 21 - 1) {
        return this.fail(
          1009,
          'Unsupported WebSocket frame: payload length > 2^53 - 1',
          'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
        );
      }
      length = high * 2 ** 32 + src.readUInt32BE(at + 6);
    }
    if (length > 0 && this.opcode < 0x08) {
      this.totalPayloadLength += length;
      if (this.totalPayloadLength > this.maxPayload && this.maxPayload > 0) {
        return this.fail(1009, 'Max payload size exceeded', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
      }
    }
    this.payloadLength = length;
    return true;
  }

  private startPayload(pos: number): number {
    this.partialLen = 0;
    if (this.payloadLength > 0) {
      this.state = PAYLOAD;
      return pos;
    }
    // Nothing to wait for: a read ending here would never reach readPayload.
    if (this.opcode > 0x07) this.controlFrame(this.opcode, EMPTY);
    else this.dataFrame(EMPTY);
    return this.state === DONE ? -1 : pos;
  }

  private readPayload(buf: Buffer, pos: number, end: number): number {
    const missing = this.payloadLength - this.partialLen;
    if (this.partialLen === 0 && end - pos >= missing) {
      // The common case: the whole payload is in this read.
      this.state = HEADER;
      const view = buf.subarray(pos, pos + missing);
      if (this.opcode > 0x07) this.controlFrame(this.opcode, view);
      else this.dataFrame(view);
      return pos + missing;
    }
    // A frame cut by a read boundary: keep what came, as it comes.
    const n = Math.min(missing, end - pos);
    if (this.opcode > 0x07) {
      if (this.partialLen === 0) this.control = Buffer.allocUnsafe(this.payloadLength);
      buf.copy(this.control, this.partialLen, pos, pos + n);
    } else if (!this.dropping) {
      this.message.append(buf, pos, pos + n, missing);
    }
    this.partialLen += n;
    if (this.partialLen === this.payloadLength) {
      this.partialLen = 0;
      this.state = HEADER;
      if (this.opcode > 0x07) {
        const data = this.control;
        this.control = EMPTY;
        this.controlFrame(this.opcode, data);
      } else {
        // Its payload is in `message` already.
        this.dataFrame(null);
      }
    }
    return pos + n;
  }

  /**
   * A complete data frame. `view`: its payload as a view of the read buffer,
   * or null when it was cut and is in `message` already.
   */
  private dataFrame(view: Buffer | null): void {
    if (++this.numFragments > MAX_FRAGMENTS) {
      this.fail(1008, 'Too many message fragments', 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
      return;
    }
    const message = this.message;
    if (view !== null && !this.dropping) {
      if (this.fin && message.length === 0) {
        // The common case: one frame, one read, no copy.
        this.endMessage(view);
        return;
      }
      // A fragment outlives this read: copy it.
      if (view.length > 0) message.append(view, 0, view.length, view.length);
    }
    if (this.fin) this.endMessage(message.take());
  }

  private endMessage(data: Buffer): void {
    this.totalPayloadLength = 0;
    this.numFragments = 0;
    this.fragmented = 0;
    if (!this.dropping) this.sink.onMessage(data, this.opcode === 0x02);
  }

  private controlFrame(opcode: number, view: Buffer): void {
    // Control payloads are small and leave this parser's hands (ws answers pings with them): copy.
    const data = view.length === 0 ? EMPTY : Buffer.from(view);
    if (opcode === 0x09) {
      this.sink.onPing(data);
    } else if (opcode === 0x0a) {
      this.sink.onPong(data);
    } else if (data.length === 0) {
      this.close();
      this.sink.onClose(1005, EMPTY);
    } else {
      const code = data.readUInt16BE(0);
      if (!isValidStatusCode(code)) {
        this.fail(1002, `Invalid WebSocket frame: invalid status code ${code}`, 'WS_ERR_INVALID_CLOSE_CODE');
        return;
      }
      this.close();
      this.sink.onClose(code, data.subarray(2));
    }
  }

  /** Nothing is parsed after a close frame or an error: an unfinished message is dropped (push() reports it). */
  private close(): void {
    this.state = DONE;
    this.message.drop();
    this.control = EMPTY;
  }

  private fail(closeCode: number, message: string, code: string): false {
    this.close();
    this.sink.onProtocolError(closeCode, message, code);
    return false;
  }
}

/** Bytes in a server frame's header, from its second byte. */
function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return len < 126 ? 2 : len === 126 ? 4 : 10;
}
