// A deliberately small WebSocket client for load generation. The `ws` client
// costs a few microseconds per frame in masking, event emission and buffer
// juggling; thousands of sessions at 25 frames/s would make the generator,
// not the proxy, the thing being measured. This one writes pre-built,
// pre-masked frames (only the bytes that change per frame are patched and
// masked) and parses server frames straight out of the socket's chunks.
//
// Masking: RFC 6455 wants a random key per frame; a random key per generator
// thread is as good for a load test (the key's purpose is to defeat cache
// poisoning by in-browser attackers) and lets the payload be masked once.
import net from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

/** One random masking key for this thread (see above). */
export const MASK = randomBytes(4);

/** What a session gets told; one object per session, so no closure is made per frame. */
export interface RawHandlers {
  onOpen(sock: RawSocket): void;
  onFrame(op: number, buf: Buffer, start: number, end: number, now: number): void;
  /** `why`: `http <status>` for a refused upgrade, `close` for a close frame, else an error code. */
  onClose(code: number, why: string): void;
}

export interface RawSocketOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly localAddress?: string;
  /** wss:// : false accepts any certificate (self-signed test certificates). */
  readonly rejectUnauthorized?: boolean;
  /** wss:// : PEM certificates to trust instead of the system store. */
  readonly ca?: string | Buffer;
}

/** A complete masked client frame for `payload`, plus where the payload starts (for patchDigits). */
export function buildFrame(payload: Buffer, opcode = OP_TEXT): { frame: Buffer; payloadOffset: number } {
  const len = payload.length;
  const hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const buf = Buffer.allocUnsafe(hdr + len);
  buf[0] = 0x80 | opcode;
  if (len < 126) {
    buf[1] = 0x80 | len;
  } else if (len < 65536) {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 0x80 | 127;
    buf.writeUInt32BE(0, 2);
    buf.writeUInt32BE(len, 6);
  }
  MASK.copy(buf, hdr - 4);
  for (let i = 0; i < len; i++) buf[hdr + i] = payload[i] ^ MASK[i & 3];
  return { frame: buf, payloadOffset: hdr };
}

/** Write `value` as `width` ASCII digits, masked, at payload offset `p`. */
export function patchDigits(frame: Buffer, payloadOffset: number, p: number, value: number, width: number): void {
  // Right to left, fixed width, zero padded: no string allocation per frame.
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    const d = v % 10;
    v = (v - d) / 10;
    const at = p + i;
    frame[payloadOffset + at] = (48 + d) ^ MASK[at & 3];
  }
}

/** Parse `width` ASCII digits from an unmasked server payload. */
export function readDigits(buf: Buffer, at: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 10 + (buf[at + i] - 48);
  return v;
}

/** The socket carries its RawSocket, so the module-level listeners below need no closure. */
type Carrier = net.Socket & { raw: RawSocket };

export class RawSocket {
  open = false;
  closed = false;
  private closeCode = 0;
  private rest: Buffer | null = null; // partial frame bytes carried to the next chunk
  private frag: Buffer[] | null = null; // continuation: accumulated payload chunks
  private fragOp = 0;
  handshake = true;
  private headerBuf: Buffer | null = null;
  private readonly expectAccept: string;
  readonly req: string;
  private readonly sock: Carrier;

  constructor(
    url: string,
    opts: RawSocketOptions,
    private readonly h: RawHandlers,
  ) {
    const u = new URL(url);
    const secure = u.protocol === 'wss:' || u.protocol === 'https:';
    const port = Number(u.port || (secure ? 443 : 80));
    const key = randomBytes(16).toString('base64');
    this.expectAccept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    const hostHeader = u.port ? `${u.hostname}:${u.port}` : u.hostname;
    let req =
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) req += `${k}: ${v}\r\n`;
    this.req = req + '\r\n';
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const base = { host, port, noDelay: true, localAddress: opts.localAddress };
    const sock = (
      secure
        ? tls.connect({
            ...base,
            servername: net.isIP(host) ? undefined : host,
            rejectUnauthorized: opts.rejectUnauthorized !== false,
            ca: opts.ca,
          })
        : net.connect(base)
    ) as Carrier;
    sock.setNoDelay(true);
    sock.raw = this;
    this.sock = sock;
    sock.once(secure ? 'secureConnect' : 'connect', onConnect);
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onSockClose);
  }

  send(frame: Buffer): boolean {
    if (!this.open || this.closed) return false;
    this.sock.write(frame);
    return true;
  }

  /** Nothing waits in the socket's queue: the buffer last given to send() is no longer held. */
  drained(): boolean {
    return this.sock.writableLength === 0;
  }

  /** Send a close frame and end; the server's close frame or FIN finishes it. */
  close(code = 1000): void {
    if (this.closed) return;
    if (this.open) {
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code, 0);
      this.sock.write(buildFrame(payload, OP_CLOSE).frame);
      this.sock.end();
    } else {
      this.sock.destroy();
    }
  }

  destroy(): void {
    this.sock.destroy();
  }

  handshakeData(chunk: Buffer): void {
    const buf = this.headerBuf === null ? chunk : Buffer.concat([this.headerBuf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buf.length > 16384) this.fail(0, 'handshake too large');
      else this.headerBuf = buf;
      return;
    }
    this.headerBuf = null;
    const head = buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    if (status !== 101) {
      this.fail(0, `http ${status}`);
      return;
    }
    const m = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head);
    if (m === null || m[1] !== this.expectAccept) {
      this.fail(0, 'bad accept');
      return;
    }
    this.handshake = false;
    this.open = true;
    this.h.onOpen(this);
    if (end + 4 < buf.length) this.frames(buf.subarray(end + 4));
  }

  frames(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const now = performance.now();
    let i = 0;
    const n = buf.length;
    while (i + 2 <= n) {
      const b0 = buf[i];
      const b1 = buf[i + 1];
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (i + 4 > n) break;
        len = buf.readUInt16BE(i + 2);
        hdr = 4;
      } else if (len === 127) {
        if (i + 10 > n) break;
        len = buf.readUInt32BE(i + 2) * 4294967296 + buf.readUInt32BE(i + 6);
        hdr = 10;
      }
      if (b1 & 0x80) hdr += 4; // servers must not mask; tolerate it anyway
      if (i + hdr + len > n) break;
      const start = i + hdr;
      const end = start + len;
      if (b1 & 0x80) {
        for (let k = 0; k < len; k++) buf[start + k] ^= buf[start - 4 + (k & 3)];
      }
      this.frame(b0, buf, start, end, now);
      if (this.closed) return;
      i = end;
    }
    if (i < n) this.rest = i === 0 ? buf : buf.subarray(i);
  }

  private frame(b0: number, buf: Buffer, start: number, end: number, now: number): void {
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if (op >= 8) {
      if (op === OP_PING) {
        this.sock.write(buildFrame(buf.subarray(start, end), OP_PONG).frame);
      } else if (op === OP_CLOSE) {
        const code = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
        this.closeCode = code;
        if (this.open) {
          const payload = Buffer.alloc(2);
          payload.writeUInt16BE(code === 1005 ? 1000 : code, 0);
          this.open = false;
          this.sock.write(buildFrame(payload, OP_CLOSE).frame);
        }
        this.sock.end();
        this.finish(code, 'close');
      }
      return;
    }
    if (!fin || op === 0) {
      // Fragmented message: rare from these servers; assemble and deliver once.
      if (op !== 0) {
        this.frag = [];
        this.fragOp = op;
      }
      if (this.frag === null) return;
      this.frag.push(Buffer.from(buf.subarray(start, end)));
      if (fin) {
        const whole = Buffer.concat(this.frag);
        this.frag = null;
        this.h.onFrame(this.fragOp, whole, 0, whole.length, now);
      }
      return;
    }
    this.h.onFrame(op, buf, start, end, now);
  }

  fail(code: number, why: string): void {
    this.sock.destroy();
    this.finish(code, why);
  }

  finish(code: number, why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.h.onClose(code, why);
  }

  /** Called on the socket's `close`: a close frame seen earlier wins over 1006. */
  socketClosed(): void {
    this.finish(this.closeCode || 1006, 'socket closed');
  }
}

// Module-level socket listeners: the RawSocket hangs off the net socket.
function onConnect(this: Carrier): void {
  this.write(this.raw.req);
}
function onData(this: Carrier, chunk: Buffer): void {
  const r = this.raw;
  if (r.closed) return;
  if (r.handshake) r.handshakeData(chunk);
  else r.frames(chunk);
}
function onError(this: Carrier, err: NodeJS.ErrnoException): void {
  this.raw.finish(1006, err.code ?? err.message);
}
function onSockClose(this: Carrier): void {
  this.raw.socketClosed();
}
