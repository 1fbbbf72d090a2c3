// Server -> client WebSocket frames (RFC 6455 5), parsed straight out of
// whatever buffer a socket read filled. It replaces ws's Receiver on the
// upstream leg only (upstream-reader.ts says why), and accepts and refuses
// exactly what that Receiver does with the options the proxy gave it: no
// permessage-deflate, skipUTF8Validation, maxPayload = UPSTREAM_MAX_PAYLOAD,
// maxFragments 16384. The error messages and close codes are ws's own.
//
// A payload that lies wholly inside one read is handed to the sink as a view
// of the read buffer, not a copy: the sink must be done with it before the
// read callback returns (the relay's outbox sends it before then). Only a frame
// cut by a read boundary is copied, into a buffer of its own exact size.

import { ASSEMBLY_BYTES, ASSEMBLY_MIN_BYTES, lend, takeAssembly } from './assembly-pool';

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
  /** The payload of a frame cut by a read boundary, filled up to `partialLen`. */
  private partial: Buffer = EMPTY;
  private partialLen = 0;
  /** The reused buffer `partial` is a view of (assembly-pool.ts), or null. */
  private assembly: Buffer | null = null;
  /** Opcode of the message being reassembled from fragments, 0 when none. */
  private fragmented = 0;
  private fragments: Buffer[] = [];
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
        if (pos < 0) return;
      } else if (this.state === PAYLOAD) {
        pos = this.readPayload(buf, pos, end);
      } else {
        return;
      }
    }
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
    // permessage-deflate is never negotiated upstream (upstream-socket.ts), so RSV1 is always an error.
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
    this.frame(EMPTY, true);
    return this.state === DONE ? -1 : pos;
  }

  private readPayload(buf: Buffer, pos: number, end: number): number {
    const missing = this.payloadLength - this.partialLen;
    if (this.partialLen === 0 && end - pos >= missing) {
      // The common case: the whole payload is in this read.
      this.state = HEADER;
      this.frame(buf.subarray(pos, pos + missing), false);
      return pos + missing;
    }
    if (this.partialLen === 0) this.startPartial();
    const n = Math.min(missing, end - pos);
    buf.copy(this.partial, this.partialLen, pos, pos + n);
    this.partialLen += n;
    if (this.partialLen === this.payloadLength) {
      const data = this.partial;
      const assembly = this.assembly;
      this.partial = EMPTY;
      this.partialLen = 0;
      this.assembly = null;
      this.state = HEADER;
      this.frame(data, true);
      if (assembly !== null) lend(assembly);
    }
    return pos + n;
  }

  /**
   * Where a cut frame is put together. A final data frame's payload is never
   * kept once frame() returns (it is sent, as a view, before the read callback
   * returns, or copied by Buffer.concat), so it may use a reused buffer; a
   * non-final fragment is kept until its message ends, so it gets its own.
   */
  private startPartial(): void {
    const size = this.payloadLength;
    if (this.fin && this.opcode < 0x08 && size >= ASSEMBLY_MIN_BYTES && size <= ASSEMBLY_BYTES) {
      this.assembly = takeAssembly();
      this.partial = this.assembly.subarray(0, size);
    } else {
      this.partial = Buffer.allocUnsafe(size);
    }
  }

  /** A complete frame's payload; `owned` when it is not a view of the read buffer. */
  private frame(data: Buffer, owned: boolean): void {
    const opcode = this.opcode;
    if (opcode > 0x07) {
      this.control(opcode, data);
      return;
    }
    if (++this.numFragments > MAX_FRAGMENTS) {
      this.fail(1008, 'Too many message fragments', 'WS_ERR_TOO_MANY_BUFFERED_PARTS');
      return;
    }
    if (!this.fin) {
      // A fragment outlives this read: copy it unless it already is a copy.
      if (data.length > 0) this.fragments.push(owned ? data : Buffer.from(data));
      return;
    }
    let message = data;
    if (this.fragments.length > 0) {
      if (data.length > 0) this.fragments.push(data);
      message = Buffer.concat(this.fragments, this.totalPayloadLength);
      this.fragments = [];
    }
    this.totalPayloadLength = 0;
    this.numFragments = 0;
    this.fragmented = 0;
    this.sink.onMessage(message, opcode === 0x02);
  }

  private control(opcode: number, view: Buffer): void {
    // Control payloads are small and leave this parser's hands (ws answers pings with them): copy.
    const data = view.length === 0 ? EMPTY : Buffer.from(view);
    if (opcode === 0x09) {
      this.sink.onPing(data);
    } else if (opcode === 0x0a) {
      this.sink.onPong(data);
    } else if (data.length === 0) {
      this.state = DONE;
      this.sink.onClose(1005, EMPTY);
    } else {
      const code = data.readUInt16BE(0);
      if (!isValidStatusCode(code)) {
        this.fail(1002, `Invalid WebSocket frame: invalid status code ${code}`, 'WS_ERR_INVALID_CLOSE_CODE');
        return;
      }
      this.state = DONE;
      this.sink.onClose(code, data.subarray(2));
    }
  }

  private fail(closeCode: number, message: string, code: string): false {
    this.state = DONE;
    this.fragments = [];
    this.partial = EMPTY;
    this.assembly = null;
    this.sink.onProtocolError(closeCode, message, code);
    return false;
  }
}

/** Bytes in a server frame's header, from its second byte. */
function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return len < 126 ? 2 : len === 126 ? 4 : 10;
}
