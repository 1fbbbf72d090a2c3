// `?ticket=` from the raw query string. The ticket is the proxy's own
// business (never forwarded), so it is read here rather than by the upstream
// parameter parser.
/** A JWT: three base64url segments; 8 KB is far beyond any ticket mintTicket() makes. */
const TICKET_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TICKET_LENGTH = 8192;

/** The ticket ('' when absent), or null when it is repeated or not a JWT. */
export function ticketParam(query: string): string | null {
  let found: string | null = '';
  let from = 0;
  for (;;) {
    const at = query.indexOf('ticket=', from);
    if (at === -1) return found;
    from = at + 7;
    if (at !== 0 && query.charCodeAt(at - 1) !== 38 /* & */) continue;
    if (found !== '') return null;
    const end = query.indexOf('&', from);
    const value = end === -1 ? query.slice(from) : query.slice(from, end);
    if (value.length > MAX_TICKET_LENGTH || !TICKET_RE.test(value)) return null;
    found = value;
  }
}
