// The start-up warning for a proxy anyone can use: CLIENT_AUTH=none on an
// address beyond loopback. The Origin check stops other web pages, not a
// script, which writes any Origin it likes; so whoever reaches the port spends
// the proxy's Azure credential. Logged once, by the thread that starts the
// proxy (with WORKERS, the primary), so it is seen in `docker logs`.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { isLoopbackHost } from '../admission/metrics-guard';

export function warnOpenAccess(cfg: Pick<Config, 'host' | 'clientAuth'>, logger: Logger): boolean {
  if (cfg.clientAuth !== 'none' || isLoopbackHost(cfg.host)) return false;
  logger.warn(
    { host: cfg.host, clientAuth: 'none', docs: 'docs/security.md#caller-authentication-client_auth' },
    "CLIENT_AUTH=none beyond loopback: anyone who can reach this port can spend the proxy's Azure credential (a script sends any Origin it likes); to close it, set CLIENT_AUTH=ticket and TICKET_SECRET, and have your backend mint a ticket per user",
  );
  return true;
}
