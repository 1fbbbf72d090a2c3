// A keyless session's upstream leg, opened with the proxy's own token. The
// token is awaited after the upgrade, not before it: a failure then reaches
// the browser as close 1011 with a reason it can read (an HTTP refusal is
// opaque to a browser's WebSocket), the upgrade handler stays synchronous,
// and the browser's first frames queue in the relay meanwhile as they do
// during any upstream connect. The wait is bounded by UPSTREAM_CONNECT_TIMEOUT_MS
// (docs/decisions/0009-keyless-token-after-upgrade.md).
import { Errors } from '../errors';
import type { ProxyContext } from '../proxy-context';
import type { Session } from '../relay/session';

export function connectAsServer(px: ProxyContext, s: Session): void {
  const header = px.identity.current();
  if (header !== '') {
    px.relay.connect(s, header);
    return;
  }
  const timer = setTimeout(identityFailed, px.cfg.upstreamConnectTimeoutMs, px, s);
  px.identity.get().then(
    (h) => {
      clearTimeout(timer);
      // The browser may have left, or the timeout failed the session, meanwhile.
      if (s.client !== null && s.upstream === null) px.relay.connect(s, h);
    },
    () => {
      clearTimeout(timer);
      identityFailed(px, s);
    },
  );
}

function identityFailed(px: ProxyContext, s: Session): void {
  if (s.client === null || s.upstream !== null) return;
  px.metrics.upstreamConnectsCredential++;
  px.relay.fail(s, Errors.UPSTREAM_CREDENTIAL);
}
