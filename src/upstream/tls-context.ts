// One TLS client context per thread for every upstream connection. Given no
// `secureContext`, tls.connect builds a fresh one for each connection (an
// OpenSSL SSL_CTX with its algorithm fetches and CA store wiring), which the
// connection then keeps for its whole life, in memory and in CPU at connect
// (the figures: docs/decisions/0006-shared-tls-context.md). The upstream options
// carry nothing that shapes a context (no ca, cert, ciphers or versions), so
// one default context serves every connection: the bundled roots plus
// NODE_EXTRA_CA_CERTS, verification on, exactly as each private one was.
// Server name and hostname checks are per connection and unchanged.
import { createSecureContext, type SecureContext } from 'node:tls';

let shared: SecureContext | null = null;

/** The thread's client context, made on the first TLS upstream connect. */
export function upstreamSecureContext(): SecureContext {
  shared ??= createSecureContext();
  return shared;
}
