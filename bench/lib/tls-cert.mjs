// A throwaway certificate authority for the TLS upstream mode: a self-signed
// RSA 2048 certificate (Azure's front ends present RSA 2048 too) for
// localhost and 127.0.0.1, made at bench time and trusted by the proxy through
// NODE_EXTRA_CA_CERTS and by nginx through proxy_ssl_trusted_certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let made = null;

/** { dir, cert, key } (PEM file paths); made once per bench process, removed at exit. */
export function benchCertificate() {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'bench-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  made = { dir, cert, key };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return made;
}
