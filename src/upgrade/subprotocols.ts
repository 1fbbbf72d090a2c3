// The Sec-WebSocket-Protocol offer of an upgrade: which protocol the 101
// echoes, and whether the offer carried a credential. A browser cannot set
// headers on a WebSocket, so the openai browser client puts its key (and
// organization and project) into subprotocol names. Those are accepted and
// dropped: never echoed (front ends log response headers), never forwarded
// upstream (the upstream leg offers no subprotocol at all).

/** The protocol every openai client offers, echoed when it is in the list. */
export const REALTIME_PROTOCOL = 'realtime';

/** Prefixes of subprotocol names that carry a credential or account identifier. */
const CREDENTIAL_PREFIXES: readonly string[] = ['openai-insecure-api-key.', 'openai-organization.', 'openai-project.'];
/** The API key prefix among them: dropped and counted like a client `api-key`. */
const API_KEY_PREFIX = 'openai-insecure-api-key.';

export interface ProtocolOffer {
  /** What the 101 echoes ('' = no Sec-WebSocket-Protocol in the answer). */
  readonly echo: string;
  /** True when an `openai-insecure-api-key.*` protocol was offered (dropped, counted). */
  readonly apiKey: boolean;
}

const NONE: ProtocolOffer = { echo: '', apiKey: false };

function isCredential(name: string): boolean {
  for (const p of CREDENTIAL_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

/**
 * `realtime` when offered; else the first offered protocol that carries no
 * credential (`openai-beta.realtime-v1` is a feature flag, not a secret, so it
 * may be echoed when nothing else is left); else nothing. A browser that
 * offered only credential protocols then fails the handshake itself, which
 * is better than the key landing in a response header.
 */
export function chooseProtocol(header: string): ProtocolOffer {
  if (header === '') return NONE;
  let echo = '';
  let apiKey = false;
  for (const raw of header.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (isCredential(name)) {
      if (name.startsWith(API_KEY_PREFIX)) apiKey = true;
      continue;
    }
    // `realtime` wins over an earlier plain protocol; otherwise the first one stays.
    if (name === REALTIME_PROTOCOL || echo === '') echo = name;
  }
  return { echo, apiKey };
}
