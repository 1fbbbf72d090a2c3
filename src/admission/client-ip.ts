// Who is the client? TRUST_PROXY decides how much of X-Forwarded-For to
// believe. The walk is the one Express (proxy-addr) does: start at the socket
// peer and move left through X-Forwarded-For while the current address is
// trusted; the first untrusted address is the client. Untrusted headers are
// never read: when the socket peer is not a trusted proxy, it is the client.
//
// A hop count (or `true`) is tied to where the proxies in front connect from:
// the socket peer must be inside TRUST_PROXY_CIDRS (default: the private
// ranges, which no direct internet client has) before any hop is counted;
// otherwise a client that reaches the proxy directly could write its own
// X-Forwarded-For and get a fresh identity per request.
import { IPV4, NOT_IP, formatIp, parseEntry, parseRemote, type IpKind, type RemoteAddress } from './ip';
import { MAX_FORWARDED_HOPS, type TrustMode, type TrustProxy } from './trust-proxy';

export { normalizeIp, rateKey, type RemoteAddress } from './ip';
export { MAX_FORWARDED_HOPS, type TrustMode } from './trust-proxy';

export class ClientIpResolver {
  readonly mode: TrustMode;
  /** False when TRUST_PROXY is unset/false: the caller can skip reading X-Forwarded-* headers. */
  readonly readsForwardedHeaders: boolean;
  private readonly hops: number;
  /** IPv4 ranges as [network, mask] pairs. */
  private readonly v4: Uint32Array;
  /** IPv6 ranges as 8 network groups + 8 group masks each. */
  private readonly v6: Uint16Array;
  /** Hops and `true`: the ranges the socket peer must be in (TRUST_PROXY_CIDRS). */
  private readonly peerV4: Uint32Array;
  private readonly peerV6: Uint16Array;
  // Two scratch buffers swapped while walking, so no address is copied.
  private readonly a = new Uint16Array(8);
  private readonly b = new Uint16Array(8);

  /** `trust` is the parsed TRUST_PROXY (config.ts). */
  constructor(trust: TrustProxy) {
    this.mode = trust.mode;
    this.hops = trust.hops;
    this.v4 = trust.v4;
    this.v6 = trust.v6;
    this.peerV4 = trust.peerV4;
    this.peerV6 = trust.peerV6;
    this.readsForwardedHeaders = this.mode !== 'none';
  }

  /**
   * The client's address, canonical (see normalizeIp). `remote` is the socket
   * address as uWS reports it: preferably res.getRemoteAddress() (binary,
   * cheapest), or the decoded getRemoteAddressAsText(). `xForwardedFor` is the
   * header or ''. A malformed entry ends the walk (it cannot be trusted and
   * cannot be returned), so the client is then the last address that could be
   * read; empty entries are skipped. Never throws.
   */
  resolve(remote: RemoteAddress, xForwardedFor: string): string {
    let cur = this.a;
    let kind = parseRemote(remote, cur);
    if (kind === NOT_IP) return typeof remote === 'string' ? remote : ''; // not an IP socket: key by its text
    if (xForwardedFor === '' || !this.trusts(cur, kind, 0)) return formatIp(cur, kind);
    let next = this.b;
    let end = xForwardedFor.length;
    let hop = 1;
    for (let steps = 0; end > 0 && steps < MAX_FORWARDED_HOPS; steps++) {
      const start = xForwardedFor.lastIndexOf(',', end - 1) + 1;
      const k = parseEntry(xForwardedFor, start, end, next);
      if (k === NOT_IP) {
        if (!isBlank(xForwardedFor, start, end)) break;
      } else {
        const t = cur;
        cur = next;
        next = t;
        kind = k;
        if (!this.trusts(cur, kind, hop++)) break;
      }
      end = start - 1;
    }
    return formatIp(cur, kind);
  }

  /** Whether the socket peer is a proxy whose X-Forwarded-* headers are believed. */
  isTrustedProxy(remote: RemoteAddress): boolean {
    if (this.mode === 'none') return false;
    const kind = parseRemote(remote, this.a);
    return kind !== NOT_IP && this.trusts(this.a, kind, 0);
  }

  /**
   * Whether the browser reached the first trusted proxy over TLS (for HSTS).
   * True only when the socket peer is trusted and the relevant
   * X-Forwarded-Proto entry is `https`. Azure front ends set a single value;
   * when there is a list, the entry read is the one written by the outermost
   * trusted hop: the Nth from the right for a hop count, the leftmost for
   * `true`, the rightmost (the peer's own) for an address list.
   */
  cameOverTls(remote: RemoteAddress, xForwardedProto: string): boolean {
    if (xForwardedProto === '' || !this.isTrustedProxy(remote)) return false;
    let end = xForwardedProto.length;
    let start = xForwardedProto.lastIndexOf(',') + 1;
    const fromRight = this.mode === 'hops' ? this.hops : this.mode === 'all' ? MAX_FORWARDED_HOPS : 1;
    for (let n = 1; n < fromRight && start > 0; n++) {
      end = start - 1;
      start = end === 0 ? 0 : xForwardedProto.lastIndexOf(',', end - 1) + 1;
    }
    return isHttps(xForwardedProto, start, end);
  }

  private trusts(g: Uint16Array, kind: IpKind, hop: number): boolean {
    switch (this.mode) {
      case 'hops':
        return hop < this.hops && (hop > 0 || inRanges(g, kind, this.peerV4, this.peerV6));
      case 'all':
        return hop > 0 || inRanges(g, kind, this.peerV4, this.peerV6);
      case 'none':
        return false;
    }
    return inRanges(g, kind, this.v4, this.v6);
  }
}

function inRanges(g: Uint16Array, kind: IpKind, v4: Uint32Array, v6: Uint16Array): boolean {
  if (kind === IPV4) {
    const addr = ((g[6] << 16) | g[7]) >>> 0;
    for (let i = 0; i < v4.length; i += 2) if ((addr & v4[i + 1]) >>> 0 === v4[i]) return true;
  }
  // IPv4 peers are held as ::ffff:a.b.c.d, so IPv6 ranges covering that (::/0, ::ffff:0:0/96) match them too.
  outer: for (let i = 0; i < v6.length; i += 16) {
    for (let j = 0; j < 8; j++) if ((g[j] & v6[i + 8 + j]) !== v6[i + j]) continue outer;
    return true;
  }
  return false;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** text[start, end), trimmed, equals 'https' in any case. */
function isHttps(text: string, start: number, end: number): boolean {
  while (start < end && text.charCodeAt(start) === 32) start++;
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  return (
    end - start === 5 &&
    (text.charCodeAt(start) | 0x20) === 104 &&
    (text.charCodeAt(start + 1) | 0x20) === 116 &&
    (text.charCodeAt(start + 2) | 0x20) === 116 &&
    (text.charCodeAt(start + 3) | 0x20) === 112 &&
    (text.charCodeAt(start + 4) | 0x20) === 115
  );
}
