// A throwaway self-signed certificate for 127.0.0.1 and localhost (EC P-256,
// one day), made with openssl for the tests that need TLS: the simulator on
// wss://, a raw TLS upstream, Redis on rediss://. The test's client trusts it
// as its only CA (ca: or NODE_EXTRA_CA_CERTS).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCert {
  /** PEM file paths inside the given folder. */
  readonly cert: string;
  readonly key: string;
}

/** Writes cert.pem and key.pem into `dir`; null when openssl is missing or fails (the caller skips or throws). */
export function writeTestCert(dir: string): TestCert | null {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]),
    { stdio: 'ignore' },
  );
  return r.status === 0 ? { cert, key } : null;
}
