// TRUST_PROXY -> the hop count or address ranges the client-IP walk believes.
// config.ts calls this once at start and names the variable when it fails;
// the resolver (client-ip.ts) only ever sees the parsed value.
import { IPV4, NOT_IP, parseIp, parseV4 } from './ip';

export type TrustMode = 'none' | 'hops' | 'all' | 'list';

export interface TrustProxy {
  readonly mode: TrustMode;
  /** For 'hops': how many proxies in front of us are believed. */
  readonly hops: number;
  /** IPv4 ranges as [network, mask] pairs. */
  readonly v4: Uint32Array;
  /** IPv6 ranges as 8 network groups + 8 group masks each. */
  readonly v6: Uint16Array;
  /**
   * For 'hops' and 'all': where the proxies in front connect from
   * (TRUST_PROXY_CIDRS), same layouts. A socket peer outside them is the
   * client, whatever X-Forwarded-For it sends: a client that reaches the proxy
   * directly cannot buy a fresh identity per request.
   */
  readonly peerV4: Uint32Array;
  readonly peerV6: Uint16Array;
}

/**
 * Bound on X-Forwarded-For entries walked, so the walk stays O(1) whatever a
 * client sends. Real chains are 1-3 hops; past this the walk stops where it is.
 */
export const MAX_FORWARDED_HOPS = 32;

export const TRUST_PROXY_EXPECTED =
  'false, true, a hop count (1, 2, ...) or a comma list of IPs/CIDRs (10.0.0.0/8,fd00::/8)';

/** Named ranges, as proxy-addr has them. */
const PRESETS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  // RFC 6598 shared address space: Azure's platform ingress (Container Apps,
  // App Service front ends) can connect from it; never an internet address.
  cgnat: ['100.64.0.0/10'],
  private: [
    '127.0.0.1/8',
    '::1/128',
    '169.254.0.0/16',
    'fe80::/10',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
    'fc00::/7',
    '100.64.0.0/10',
  ],
};

export const TRUST_PROXY_CIDRS_EXPECTED =
  'a comma list of IPs/CIDRs (10.0.0.0/8,fd00::/8) or loopback, linklocal, uniquelocal, cgnat, private';

/** The parsed value, or (a string) what was expected when `raw` is not understood. */
export function parseTrustProxy(raw: string): TrustProxy | string {
  const value = raw.trim();
  const lower = value.toLowerCase();
  if (lower === '' || lower === 'false' || lower === '0') return trust('none');
  if (lower === 'true') return trust('all');
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_FORWARDED_HOPS) return `a hop count up to ${MAX_FORWARDED_HOPS}`;
    return hops === 0 ? trust('none') : trust('hops', hops);
  }
  const ranges = parseRanges(value);
  return ranges === null ? TRUST_PROXY_EXPECTED : trust('list', 0, ranges.v4, ranges.v6);
}

/** A comma list of IPs, CIDRs and preset names as flat range tables; null when an item is invalid or none is given. */
function parseRanges(raw: string): { v4: number[]; v6: number[] } | null {
  const v4: number[] = [];
  const v6: number[] = [];
  for (const item of raw.split(',')) {
    const name = item.trim().toLowerCase();
    if (name === '') continue;
    for (const cidr of PRESETS[name] ?? [name]) {
      if (!addRange(cidr, v4, v6)) return null;
    }
  }
  return v4.length === 0 && v6.length === 0 ? null : { v4, v6 };
}

/** `trust` with the peer ranges of TRUST_PROXY_CIDRS, or (a string) what was expected. */
export function withPeerRanges(trust: TrustProxy, raw: string): TrustProxy | string {
  const ranges = parseRanges(raw);
  if (ranges === null) return TRUST_PROXY_CIDRS_EXPECTED;
  return Object.freeze({ ...trust, peerV4: Uint32Array.from(ranges.v4), peerV6: Uint16Array.from(ranges.v6) });
}

function trust(mode: TrustMode, hops = 0, v4: number[] = [], v6: number[] = []): TrustProxy {
  return Object.freeze({
    mode,
    hops,
    v4: Uint32Array.from(v4),
    v6: Uint16Array.from(v6),
    peerV4: new Uint32Array(0),
    peerV6: new Uint16Array(0),
  });
}

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function v6GroupMask(prefix: number, group: number): number {
  const bits = Math.min(16, Math.max(0, prefix - group * 16));
  return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
}

/** 'ip' or 'ip/prefix' -> pushed onto v4 ([net, mask]) or v6 (8 groups + 8 masks); false if not a range. */
function addRange(cidr: string, v4: number[], v6: number[]): boolean {
  const slash = cidr.indexOf('/');
  const addrEnd = slash < 0 ? cidr.length : slash;
  const g = new Uint16Array(8);
  const kind = parseIp(cidr, 0, addrEnd, g);
  const written4 = kind === IPV4 && parseV4(cidr, 0, addrEnd) >= 0; // dotted, not ::ffff:a.b.c.d
  const max = written4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = cidr.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(p) ? Number(p) : -1;
  }
  if (kind === NOT_IP || prefix < 0 || prefix > max) return false;
  if (written4) {
    const mask = v4Mask(prefix);
    v4.push((((g[6] << 16) | g[7]) & mask) >>> 0, mask);
    return true;
  }
  for (let j = 0; j < 8; j++) v6.push(g[j] & v6GroupMask(prefix, j));
  for (let j = 0; j < 8; j++) v6.push(v6GroupMask(prefix, j));
  return true;
}
