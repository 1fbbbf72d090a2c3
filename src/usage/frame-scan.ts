// Reads the few fields the meter needs from a relayed text frame's bytes,
// without JSON.parse and without allocating: a walk over the top-level
// object's fields that records where the `type`, `audio`, `delta`,
// `response` and `session` values lie (docs/decisions/0012-usage-scan.md).
// Strings are skipped with a native byte search for their closing quote, so
// a 100 ms audio chunk costs one memchr, not a loop over its base64.
//
// The walk reads keys where the service's JSON parser would: top level only,
// the last of duplicate keys. A key or a `type` value written with escapes
// (`"\u0061udio"`) is legal JSON the bytes cannot be compared against; the
// walk flags it and the meter reads that frame with JSON.parse (it is not
// how any client writes, so that path costs nothing in practice, and a
// client cannot hide audio behind it).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Node's Buffer#indexOf takes any Uint8Array (it checks for an
 * ArrayBufferView) and searches a byte with memchr; a uWS message is a plain
 * Uint8Array view, so it is called on that view rather than wrapping it in a
 * Buffer per frame.
 */
const indexOfByte = Buffer.prototype.indexOf as unknown as (this: Uint8Array, value: number, from: number) => number;

/** Where the fields are in the last frame scanned: start/end byte offsets, -1 when absent. Reused per frame. */
export class FrameFields {
  /** The `type` string's content (between the quotes). */
  typeStart = -1;
  typeEnd = -1;
  /** The last top-level `audio` string's content. */
  audioStart = -1;
  audioEnd = -1;
  /** The last top-level `delta` string's content. */
  deltaStart = -1;
  deltaEnd = -1;
  /** The last top-level `usage` value (in a response object), braces included. */
  usageStart = -1;
  usageEnd = -1;
  /** The `response` / `session` value, braces included. */
  responseStart = -1;
  responseEnd = -1;
  sessionStart = -1;
  sessionEnd = -1;
  /** A key or the type value holds an escape: read the frame with JSON.parse instead. */
  escaped = false;

  reset(): void {
    this.typeStart = -1;
    this.typeEnd = -1;
    this.audioStart = -1;
    this.audioEnd = -1;
    this.deltaStart = -1;
    this.deltaEnd = -1;
    this.usageStart = -1;
    this.usageEnd = -1;
    this.responseStart = -1;
    this.responseEnd = -1;
    this.sessionStart = -1;
    this.sessionEnd = -1;
    this.escaped = false;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, p: number, end: number): number {
  while (p < end && isSpace(b[p])) p++;
  return p;
}

/** Strings up to this long are walked in JavaScript: keys, event types and ids cost less so than a native call. */
const SHORT_STRING = 64;

/** `p` is at an opening quote: the index of its closing quote, or -1. */
export function closingQuote(b: Uint8Array, p: number, end: number): number {
  const stop = p + 1 + SHORT_STRING < end ? p + 1 + SHORT_STRING : end;
  let i = p + 1;
  for (; i < stop; i++) {
    const c = b[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  return i >= end ? -1 : searchQuote(b, i, end);
}

/** The first unescaped quote at or after `from`, found with memchr: for long strings (audio). */
export function searchQuote(b: Uint8Array, from: number, end: number): number {
  let q = indexOfByte.call(b, QUOTE, from);
  while (q !== -1 && q < end) {
    // A quote after an odd run of backslashes is escaped.
    let k = q - 1;
    while (b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q;
    q = indexOfByte.call(b, QUOTE, q + 1);
  }
  return -1;
}

/** `p` is at a value: the index just after it, or -1 when it is malformed. */
function skipValue(b: Uint8Array, p: number, end: number): number {
  const c = b[p];
  if (c === QUOTE) {
    const q = closingQuote(b, p, end);
    return q === -1 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let i = p; i < end; i++) {
      const x = b[i];
      if (x === QUOTE) {
        i = closingQuote(b, i, end);
        if (i === -1) return -1;
      } else if (x === OPEN_BRACE || x === OPEN_BRACKET) {
        depth++;
      } else if (x === CLOSE_BRACE || x === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null.
  let i = p;
  while (i < end) {
    const x = b[i];
    if (x === COMMA || x === CLOSE_BRACE || x === CLOSE_BRACKET || isSpace(x)) break;
    i++;
  }
  return i === p ? -1 : i;
}

function hasBackslash(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] === BACKSLASH) return true;
  return false;
}

// Key names by their length and bytes (k = first byte after the opening quote).
function isType(b: Uint8Array, k: number): boolean {
  return b[k] === 0x74 && b[k + 1] === 0x79 && b[k + 2] === 0x70 && b[k + 3] === 0x65; // type
}
function isAudio(b: Uint8Array, k: number): boolean {
  return b[k] === 0x61 && b[k + 1] === 0x75 && b[k + 2] === 0x64 && b[k + 3] === 0x69 && b[k + 4] === 0x6f; // audio
}
function isDelta(b: Uint8Array, k: number): boolean {
  return b[k] === 0x64 && b[k + 1] === 0x65 && b[k + 2] === 0x6c && b[k + 3] === 0x74 && b[k + 4] === 0x61; // delta
}
function isUsage(b: Uint8Array, k: number): boolean {
  return b[k] === 0x75 && b[k + 1] === 0x73 && b[k + 2] === 0x61 && b[k + 3] === 0x67 && b[k + 4] === 0x65; // usage
}

/**
 * Walks the top-level fields of the JSON object in `b[start, end)` (a whole
 * frame, or an object inside one), recording into `f`. False when it is not
 * an object the walk can read (the meter then counts nothing for it: the
 * service would reject such a frame too).
 */
export function scanObject(b: Uint8Array, start: number, end: number, f: FrameFields): boolean {
  f.reset();
  let p = skipSpace(b, start, end);
  if (b[p] !== OPEN_BRACE) return false;
  p = skipSpace(b, p + 1, end);
  if (b[p] === CLOSE_BRACE) return true;
  for (;;) {
    if (b[p] !== QUOTE) return false;
    const keyEnd = closingQuote(b, p, end);
    if (keyEnd === -1) return false;
    const k = p + 1;
    const keyLength = keyEnd - k;
    p = skipSpace(b, keyEnd + 1, end);
    if (b[p] !== COLON) return false;
    const v = skipSpace(b, p + 1, end);
    const isString = b[v] === QUOTE;
    if (keyLength === 5 && isString && (isAudio(b, k) || isDelta(b, k))) {
      // Audio: the one long string, searched natively from its start.
      const q = searchQuote(b, v + 1, end);
      if (q === -1) return false;
      if (b[k] === 0x61) {
        f.audioStart = v + 1;
        f.audioEnd = q;
      } else {
        f.deltaStart = v + 1;
        f.deltaEnd = q;
      }
      p = q + 1;
    } else {
      const after = skipValue(b, v, end);
      if (after === -1) return false;
      if (hasBackslash(b, k, keyEnd)) f.escaped = true;
      else if (keyLength === 4 && isType(b, k)) {
        if (isString) {
          f.typeStart = v + 1;
          f.typeEnd = after - 1;
          if (hasBackslash(b, f.typeStart, f.typeEnd)) f.escaped = true;
        }
      } else if (keyLength === 5 && isUsage(b, k)) {
        f.usageStart = v;
        f.usageEnd = after;
      } else if (keyLength === 8 && isKey(b, k, RESPONSE)) {
        f.responseStart = v;
        f.responseEnd = after;
      } else if (keyLength === 7 && isKey(b, k, SESSION)) {
        f.sessionStart = v;
        f.sessionEnd = after;
      }
      p = after;
    }
    p = skipSpace(b, p, end);
    if (b[p] === CLOSE_BRACE) return true;
    if (b[p] !== COMMA) return false;
    p = skipSpace(b, p + 1, end);
  }
}

const RESPONSE = Buffer.from('response');
const SESSION = Buffer.from('session');

function isKey(b: Uint8Array, k: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if (b[k + i] !== name[i]) return false;
  return true;
}

/** Where the `type` value starts in a frame that begins `{"type":"`, as clients and the service write them. */
export const TYPE_AT = 9;

/** The bytes at `at` are `name` (what follows them is not looked at). */
export function bytesAt(b: Uint8Array, at: number, name: Uint8Array): boolean {
  if (at + name.length > b.length) return false;
  for (let i = 0; i < name.length; i++) if (b[at + i] !== name[i]) return false;
  return true;
}

/** `b[start, end)` is exactly `name`. */
export function bytesEqual(b: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[start + i] !== name[i]) return false;
  return true;
}

/**
 * Decoded bytes of the base64 string `b[start, end)`. A string written with
 * JSON escapes (`\/`, `\u002B`) is counted by its characters once unescaped.
 */
export function base64Bytes(b: Uint8Array, start: number, end: number): number {
  const chars = end - start;
  if (chars <= 0) return 0;
  let pad = 0;
  if (b[end - 1] === 0x3d) pad = b[end - 2] === 0x3d ? 2 : 1; // '='
  return Math.floor((chars * 3) / 4) - pad;
}

/** Like base64Bytes for a string that holds escapes: each `\uXXXX` or `\x` is one character. */
export function escapedBase64Bytes(b: Uint8Array, start: number, end: number): number {
  let chars = 0;
  let pad = 0;
  for (let i = start; i < end; i++) {
    let c = b[i];
    if (c === BACKSLASH) {
      if (b[i + 1] === 0x75) {
        // \u00XX: only ASCII is base64
        c = parseInt(String.fromCharCode(b[i + 4], b[i + 5]), 16);
        i += 5;
      } else {
        c = b[++i];
      }
    }
    chars++;
    pad = c === 0x3d ? pad + 1 : 0;
  }
  return Math.floor((chars * 3) / 4) - pad;
}
