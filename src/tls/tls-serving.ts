// TLS_CERT_FILE and TLS_KEY_FILE set: the pair checked and loaded at start (a
// bad one stops the start with its variable named), the apps that serve it
// (tls-apps.ts), and the watch that swaps in a replaced pair (reloader.ts).
// Each thread does this for itself: with WORKERS > 1 every worker loads,
// watches and swaps the same files on its own.
import type { Logger } from 'pino';
import type { us_listen_socket } from 'uWebSockets.js';
import type { Config } from '../config';
import type { Metrics } from '../observability/metrics';
import { readCertificatePair, type CertificatePair, type TlsFiles } from './certificate-pair';
import { CertificateReloader } from './reloader';
import { loadSslApp, TlsApps, type RegisterRoutes } from './tls-apps';

/** Said at start and on every reload when the certificate runs out sooner than this. */
const EXPIRY_WARNING_S = 14 * 86400;

export interface TlsServing {
  readonly apps: TlsApps;
  readonly reloader: CertificateReloader;
  /** The port is open: files are watched from now on. */
  listening(host: string, listenSocket: us_listen_socket): void;
  /** Stops watching, closes the listening socket and every app's sockets. */
  close(): void;
}

/**
 * Loads the pair (throws TlsFileError) and starts watching its files.
 * `publish` makes this thread's metrics visible to the others at once (with
 * workers, a scrape right after a reload's log line must already see it).
 */
export function serveTls(
  cfg: Config,
  register: RegisterRoutes,
  metrics: Metrics,
  log: Logger,
  publish: () => void,
): TlsServing {
  const files: TlsFiles = {
    certFile: cfg.tlsCertFile,
    keyFile: cfg.tlsKeyFile,
    passphraseFile: cfg.tlsPassphraseFile,
  };
  const apps = new TlsApps(loadSslApp(files, register));
  metrics.tlsCertExpiresAt = apps.pair.notAfterS;
  log.info(describe(apps.pair), 'TLS on the listening port');
  warnIfExpiring(apps.pair, log);
  const reloader = new CertificateReloader(
    files,
    cfg.tlsReloadIntervalMs,
    {
      get pair() {
        return apps.pair;
      },
      load() {
        // The same bytes are the same pair: no new app (each costs memory uWS.js never gives back).
        if (readCertificatePair(files).digest === apps.pair.digest) return apps.pair;
        apps.swap(loadSslApp(files, register));
        metrics.tlsCertExpiresAt = apps.pair.notAfterS;
        warnIfExpiring(apps.pair, log);
        return apps.pair;
      },
      counted: publish,
    },
    metrics,
    log,
  );
  return {
    apps,
    reloader,
    listening(host, listenSocket) {
      apps.listening(host, listenSocket);
      reloader.start();
    },
    close() {
      reloader.stop();
      apps.close();
    },
  };
}

function describe(pair: CertificatePair): Record<string, unknown> {
  return {
    subject: pair.subject,
    issuer: pair.issuer,
    fingerprint256: pair.fingerprint256,
    notAfter: new Date(pair.notAfterS * 1000).toISOString(),
    chain: pair.chainLength,
  };
}

function warnIfExpiring(pair: CertificatePair, log: Logger): void {
  const left = pair.notAfterS - Date.now() / 1000;
  if (left < EXPIRY_WARNING_S)
    log.warn({ ...describe(pair), daysLeft: Math.floor(left / 86400) }, 'TLS certificate expires soon');
}
