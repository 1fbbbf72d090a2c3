// IP address text <-> eight 16-bit groups. Parsing works on (text, start, end)
// ranges and writes into a caller's Uint16Array, so walking X-Forwarded-For
// allocates nothing until the one address that is returned is formatted.
// IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d) and reported as kind 4,
// whichever way it was written: uWS listening on '::' reports IPv4 peers as
// '0000:0000:0000:0000:0000:ffff:7f00:0001', on '0.0.0.0' as '127.0.0.1'.
// The socket address is best taken as uWS's binary form (getRemoteAddress(),
// 4 or 16 bytes): getRemoteAddressAsText() makes uWS format a string that we
// would then decode again, while the bytes need no parsing. No regex: these
// run on every request.

export const NOT_IP = 0;
export const IPV4 = 4;
export const IPV6 = 6;
export type IpKind = typeof NOT_IP | typeof IPV4 | typeof IPV6;

const SCRATCH = new Uint16Array(8);

/** ASCII -> hex digit value, -1 for anything else: one load instead of three range checks. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[65 + i] = HEX[97 + i] = 10 + i;

function hexValue(c: number): number {
  return c < 128 ? HEX[c] : -1;
}

/** Four hex digits at text[i..i+3] -> 0..0xffff, or -1. */
function hex4(text: string, i: number): number {
  const a = hexValue(text.charCodeAt(i));
  const b = hexValue(text.charCodeAt(i + 1));
  const c = hexValue(text.charCodeAt(i + 2));
  const d = hexValue(text.charCodeAt(i + 3));
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * uWS's own form, 'xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx' (39 chars, every
 * group four digits), read group by group without the general parser's
 * bookkeeping: this is the socket address of every request on a '::' listener.
 */
function parseExpanded(text: string, start: number, out: Uint16Array): boolean {
  for (let g = 0; g < 8; g++) {
    const i = start + g * 5;
    const v = hex4(text, i);
    if (v < 0 || (g < 7 && text.charCodeAt(i + 4) !== 58)) return false;
    out[g] = v;
  }
  return true;
}

/**
 * Strict dotted quad in text[start, end): four decimal octets, no leading
 * zeros (`010.0.0.1` is octal to some parsers, so it is refused rather than
 * guessed). Returns the address as an unsigned 32-bit number, or -1.
 */
export function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      // '.'
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function setV4(out: Uint16Array, v4: number): IpKind {
  out[0] = out[1] = out[2] = out[3] = out[4] = 0;
  out[5] = 0xffff;
  out[6] = v4 >>> 16;
  out[7] = v4 & 0xffff;
  return IPV4;
}

function kindOf(out: Uint16Array): IpKind {
  return out[0] === 0 && out[1] === 0 && out[2] === 0 && out[3] === 0 && out[4] === 0 && out[5] === 0xffff
    ? IPV4
    : IPV6;
}

/** IPv6 text (RFC 4291 2.2, incl. a trailing dotted quad) in text[start, end). */
function parseV6(text: string, start: number, end: number, out: Uint16Array): IpKind {
  if (end - start === 39 && parseExpanded(text, start, out)) return kindOf(out);
  let groups = 0;
  let gap = -1; // group index where '::' stands
  let i = start;
  if (i < end && text.charCodeAt(i) === 58) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 58) return NOT_IP;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (groups === 8) return NOT_IP;
    let value = 0;
    let j = i;
    for (; j < end && j - i < 5; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
    }
    if (j === i) return NOT_IP;
    if (j < end && text.charCodeAt(j) === 46) {
      // embedded IPv4 ends the address
      if (groups > 6) return NOT_IP;
      const v4 = parseV4(text, i, end);
      if (v4 < 0) return NOT_IP;
      out[groups++] = v4 >>> 16;
      out[groups++] = v4 & 0xffff;
      break;
    }
    if (j - i > 4) return NOT_IP;
    out[groups++] = value;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return NOT_IP;
    j++;
    if (j < end && text.charCodeAt(j) === 58) {
      if (gap >= 0) return NOT_IP; // a second '::'
      gap = groups;
      j++;
    } else if (j === end) {
      return NOT_IP; // trailing single ':'
    }
    i = j;
  }
  if (gap < 0) {
    if (groups !== 8) return NOT_IP;
  } else {
    if (groups > 7) return NOT_IP; // '::' stands for at least one group
    const tail = groups - gap;
    for (let k = tail - 1; k >= 0; k--) out[8 - tail + k] = out[gap + k];
    for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  }
  return kindOf(out);
}

/** uWS's binary address: 4 bytes (IPv4 listener) or 16 (IPv6 listener; IPv4 peers mapped). */
export function parseBytes(address: ArrayBuffer, out: Uint16Array): IpKind {
  const n = address.byteLength;
  if (n !== 16 && n !== 4) return NOT_IP;
  const b = new Uint8Array(address);
  if (n === 4) return setV4(out, ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
  for (let g = 0; g < 8; g++) out[g] = (b[2 * g] << 8) | b[2 * g + 1];
  return kindOf(out);
}

/** A socket address as uWS gives it: binary (getRemoteAddress) or text (getRemoteAddressAsText, decoded). */
export type RemoteAddress = string | ArrayBuffer;

export function parseRemote(remote: RemoteAddress, out: Uint16Array): IpKind {
  return typeof remote === 'string' ? parseEntry(remote, 0, remote.length, out) : parseBytes(remote, out);
}

/** An address with no decoration: dotted quad or IPv6 text (any valid form). */
export function parseIp(text: string, start: number, end: number, out: Uint16Array): IpKind {
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 58) return parseV6(text, start, end, out);
  }
  const v4 = parseV4(text, start, end);
  return v4 < 0 ? NOT_IP : setV4(out, v4);
}

function isPort(text: string, start: number, end: number): boolean {
  if (end - start < 1 || end - start > 5) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * One X-Forwarded-For entry as proxies write it: optional spaces, and an
 * optional port (`1.2.3.4:5678`, `[2001:db8::1]:5678`), which Azure
 * Application Gateway and App Service both append.
 */
export function parseEntry(text: string, start: number, end: number, out: Uint16Array): IpKind {
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  if (start === end) return NOT_IP;
  if (text.charCodeAt(start) === 91) {
    // '['
    let close = start + 1;
    while (close < end && text.charCodeAt(close) !== 93) close++;
    if (close === end) return NOT_IP;
    if (close + 1 !== end && (text.charCodeAt(close + 1) !== 58 || !isPort(text, close + 2, end))) return NOT_IP;
    return parseV6(text, start + 1, close, out);
  }
  let colon = -1;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) === 58) {
      if (colon >= 0) return parseV6(text, start, end, out); // two colons: IPv6, no port
      colon = i;
    }
  }
  if (colon >= 0 && !isPort(text, colon + 1, end)) return NOT_IP;
  const v4 = parseV4(text, start, colon < 0 ? end : colon);
  return v4 < 0 ? NOT_IP : setV4(out, v4);
}

/** '0'..'255', so formatting a dotted quad converts no numbers. */
const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function formatV4(g: Uint16Array): string {
  return OCTETS[g[6] >>> 8] + '.' + OCTETS[g[6] & 255] + '.' + OCTETS[g[7] >>> 8] + '.' + OCTETS[g[7] & 255];
}

/** RFC 5952: lowercase, no leading zeros, the first longest run (>= 2) of zero groups as '::'. */
function formatV6(g: Uint16Array): string {
  let best = -1;
  let bestLen = 1;
  let run = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] !== 0) {
      run = 0;
    } else if (++run > bestLen) {
      bestLen = run;
      best = i - run + 1;
    }
  }
  const after = best + bestLen;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += '::';
      i = after - 1;
      continue;
    }
    if (i > 0 && i !== after) s += ':';
    s += g[i].toString(16);
  }
  return s;
}

/** Canonical text for parsed groups: a dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatIp(groups: Uint16Array, kind: IpKind): string {
  return kind === IPV4 ? formatV4(groups) : formatV6(groups);
}

/**
 * Canonical text of an address: IPv4 (also IPv4-mapped IPv6) as a dotted
 * quad, IPv6 compressed (RFC 5952). Brackets and a port are dropped; uWS's
 * binary form is accepted too. Returns '' when it is not an address. The
 * result is always built, never a slice of the input, so it is safe to keep
 * as a map key (a slice would pin the whole header string in memory).
 */
export function normalizeIp(address: RemoteAddress): string {
  const kind = parseRemote(address, SCRATCH);
  return kind === NOT_IP ? '' : formatIp(SCRATCH, kind);
}

/**
 * The key one client is counted under: the IPv4 address, or the /64 prefix of
 * an IPv6 address (`2001:db8:1:2::/64`), because one IPv6 host routinely owns
 * a whole /64 and can pick a new address per request. Text that is not an
 * address is its own key.
 */
export function rateKey(ip: string): string {
  if (parseV4(ip, 0, ip.length) >= 0) return ip; // already a canonical dotted quad
  const kind = parseEntry(ip, 0, ip.length, SCRATCH);
  if (kind === NOT_IP) return ip;
  if (kind === IPV4) return formatV4(SCRATCH);
  SCRATCH[4] = SCRATCH[5] = SCRATCH[6] = SCRATCH[7] = 0;
  return `${formatV6(SCRATCH)}/64`;
}

/**
 * The key of the IPv6 prefix `bits` wide that holds `ipKey` (a /64 key from
 * rateKey, or any IPv6 address): `2001:db8:1::/48`. '' for anything else.
 */
export function prefixKey(ipKey: string, bits: number): string {
  const slash = ipKey.indexOf('/');
  const end = slash < 0 ? ipKey.length : slash;
  if (parseIp(ipKey, 0, end, SCRATCH) !== IPV6) return '';
  for (let g = 0; g < 8; g++) {
    const keep = Math.min(16, Math.max(0, bits - g * 16));
    SCRATCH[g] &= keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
  }
  return `${formatV6(SCRATCH)}/${bits}`;
}
