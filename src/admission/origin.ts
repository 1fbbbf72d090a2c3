// Origin check (docs/contract.md §4): one Set lookup of the header exactly as the browser
// sent it. The Origin header is the ASCII serialization of an origin (RFC 6454
// 6.1, WHATWG URL): scheme and host lowercase, punycode for IDNs, default port
// omitted, no path, no trailing slash. The configured origins went through
// new URL().origin, which produces exactly that form, so an exact match is
// the right comparison and nothing in the header needs parsing. Anything else
// (`HTTP://LOCALHOST:3000`, `http://localhost:80`, `http://localhost:3000/`)
// is not what a browser sends; such a request comes from a script that can
// write any Origin it likes, so it is refused rather than normalised.
export type OriginVerdict = 'ok' | 'missing' | 'refused';

export interface OriginConfig {
  /** Serialized origins, as config.ts produces them (new URL().origin); `*` is allowAnyOrigin. */
  readonly allowedOrigins: readonly string[];
  readonly allowAnyOrigin: boolean;
  readonly allowNoOrigin: boolean;
}

export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;
  private readonly any: boolean;
  private readonly noOrigin: boolean;
  /** Longest allowed origin: a longer header is refused before it is hashed. */
  private readonly maxLength: number;

  constructor(cfg: OriginConfig) {
    const allowed = new Set(cfg.allowedOrigins);
    let maxLength = 0;
    for (const o of allowed) maxLength = Math.max(maxLength, o.length);
    this.allowed = allowed;
    this.any = cfg.allowAnyOrigin;
    this.noOrigin = cfg.allowNoOrigin;
    this.maxLength = maxLength;
  }

  /**
   * The Origin header ('' when absent) -> 'ok', 'missing' (absent and
   * ALLOW_NO_ORIGIN is off) or 'refused'. With `*` every present Origin is
   * accepted, `null` included.
   */
  check(originHeader: string): OriginVerdict {
    if (originHeader === '') return this.noOrigin ? 'ok' : 'missing';
    return this.isAllowed(originHeader) ? 'ok' : 'refused';
  }

  /** Whether a present Origin may be reflected in Access-Control-Allow-Origin. */
  isAllowed(origin: string): boolean {
    if (origin === '') return false;
    if (this.any) return true;
    return origin.length <= this.maxLength && this.allowed.has(origin);
  }
}
