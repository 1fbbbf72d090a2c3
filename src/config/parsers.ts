// Values that are more than a string: origins, URLs, address ranges. Each
// takes the text the reader returned and the reader itself, so an error
// names its variable and never quotes a credential.
import { parseTrustProxy, withPeerRanges, type TrustProxy } from '../admission/trust-proxy';
import type { EnvReader } from './spec';
import type { PrefixLimit } from './types';

/** Accepts an origin only: scheme, host, optional port; no path, query or credentials. */
export function parseOrigin(r: EnvReader, name: string, raw: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return r.fail(name, `an origin such as ${schemes[0]}//host[:port]`, raw);
  }
  if (
    !schemes.includes(u.protocol) ||
    u.username ||
    u.password ||
    u.search ||
    u.hash ||
    (u.pathname !== '/' && u.pathname !== '')
  ) {
    // Credentials or a query may hold a key: quote only what is safe to print.
    const shown =
      u.username || u.password || u.search || u.hash
        ? `${u.protocol}//${u.host}${u.pathname} (credentials/query not shown)`
        : raw;
    r.fail(name, `an origin (${schemes.join(' or ')}, no path/query/credentials)`, shown);
  }
  return u.origin;
}

/** AZURE_VOICE_LIVE_ENDPOINT, else the resource's own host. */
export function upstreamOrigin(r: EnvReader, resource: string): string {
  const override = r.raw('AZURE_VOICE_LIVE_ENDPOINT');
  if (override !== '') {
    // https/http are accepted because that is how the Azure portal shows the endpoint.
    const origin = parseOrigin(r, 'AZURE_VOICE_LIVE_ENDPOINT', override, ['https:', 'wss:', 'http:', 'ws:']);
    return origin.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:');
  }
  if (resource === '') {
    r.fail(
      'AZURE_AI_FOUNDRY_RESOURCE',
      'the resource name (or FOUNDRY_RESOURCE_NAME, or set AZURE_VOICE_LIVE_ENDPOINT)',
      undefined,
    );
  }
  // Only here, where it becomes the upstream: with an override set (the demo,
  // a custom domain) the template's placeholder is never used.
  r.refusePlaceholder('AZURE_AI_FOUNDRY_RESOURCE', resource);
  return `wss://${resource}.services.ai.azure.com`;
}

/**
 * redis:// or rediss:// (TLS, what Azure Cache for Redis uses on 6380). The
 * URL carries the password, so an error shows the scheme and host only.
 */
export function redisUrl(r: EnvReader): string {
  const raw = r.raw('REDIS_URL');
  if (raw === '') return '';
  const expected = 'redis://[:password@]host[:port][/db] or rediss://...';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return r.failShowing('REDIS_URL', expected, '(not a URL, not shown)');
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '' || !/^\/?\d{0,2}$/.test(u.pathname)) {
    // u.host holds no password: the scheme, host and path are safe to show.
    r.failShowing('REDIS_URL', expected, `${u.protocol}//${u.host}${u.pathname}`);
  }
  return raw;
}

/** A JWKS address: https, or http to a loopback host (tests, a local issuer). */
export function jwksUrl(r: EnvReader, name: string): string {
  const raw = r.raw(name);
  if (raw === '') return '';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return r.fail(name, 'an https:// URL', raw);
  }
  const loopback = u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  if (u.username || u.password || !(u.protocol === 'https:' || (u.protocol === 'http:' && loopback))) {
    r.fail(
      name,
      'an https:// URL (http:// only to localhost), without credentials',
      `${u.protocol}//${u.host}${u.pathname}`,
    );
  }
  return u.href;
}

/** `56:4,48:16` -> [{bits: 56, factor: 4}, ...]; `off` -> []. */
export function prefixLimits(r: EnvReader): PrefixLimit[] {
  const spec = r.spec('IPV6_PREFIX_LIMITS');
  const raw = r.raw('IPV6_PREFIX_LIMITS') || spec.default;
  if (raw.toLowerCase() === 'off') return [];
  const out: PrefixLimit[] = [];
  for (const item of raw.split(',')) {
    const m = /^\s*(\d{1,2}):(\d{1,5})\s*$/.exec(item);
    const bits = m === null ? 0 : Number(m[1]);
    const factor = m === null ? 0 : Number(m[2]);
    if (bits < 16 || bits > 63 || factor < 1 || factor > 65536 || out.some((p) => p.bits === bits)) {
      r.fail('IPV6_PREFIX_LIMITS', spec.expected ?? '', raw);
    }
    out.push(Object.freeze({ bits, factor }));
  }
  return out.sort((a, b) => b.bits - a.bits);
}

/** TRUST_PROXY, and with a hop count or `true` the peer ranges of TRUST_PROXY_CIDRS. */
export function trustProxy(r: EnvReader): TrustProxy {
  const raw = r.raw('TRUST_PROXY');
  const cidrs = r.raw('TRUST_PROXY_CIDRS') || r.spec('TRUST_PROXY_CIDRS').default;
  const parsed = parseTrustProxy(raw);
  if (typeof parsed === 'string') r.fail('TRUST_PROXY', parsed, raw);
  if (parsed.mode !== 'hops' && parsed.mode !== 'all') return parsed;
  // A hop count believes only a peer inside these ranges (default: private).
  const peers = withPeerRanges(parsed, cidrs);
  if (typeof peers === 'string') r.fail('TRUST_PROXY_CIDRS', peers, cidrs);
  return peers;
}
