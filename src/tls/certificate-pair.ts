// The listening port's certificate and key (TLS_CERT_FILE, TLS_KEY_FILE,
// TLS_PASSPHRASE_FILE), read and checked with node:crypto before uWS sees
// them. uWS's SSLApp reports any problem as "App construction failed" and
// says neither which file nor why, so every check it would fail, and the
// expiry it does not check at all, is made here first with an error that
// names the variable. The messages carry paths, never key material or the
// passphrase.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** '' = the key is not encrypted. */
  readonly passphraseFile: string;
}

/** A problem with the files, naming the variable to fix. */
export class TlsFileError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

export interface CertificatePair {
  readonly files: TlsFiles;
  /** Handed to uWS only; never logged. */
  readonly passphrase: string;
  /** The exact bytes checked: uWS reads the files again itself, and must have read these. */
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** SHA-256 over certificate and key bytes: the same digest is the same pair (nothing to reload). */
  readonly digest: string;
  /** The leaf certificate's SHA-256 fingerprint, as a TLS client sees it (AA:BB:...). */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly issuer: string;
  /** The leaf's notAfter, in Unix seconds. */
  readonly notAfterS: number;
  /** Certificates in the file after the leaf (its chain). */
  readonly chainLength: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads and checks the pair as of `nowMs`; throws TlsFileError naming the variable. */
export function readCertificatePair(files: TlsFiles, nowMs = Date.now()): CertificatePair {
  const certPem = readPem('TLS_CERT_FILE', files.certFile);
  const keyPem = readPem('TLS_KEY_FILE', files.keyFile);
  const passphrase = files.passphraseFile === '' ? '' : readPassphrase(files.passphraseFile);

  const blocks = certPem.toString('latin1').match(PEM_CERT);
  if (blocks === null) throw new TlsFileError('TLS_CERT_FILE', `no PEM certificate in ${files.certFile}`);
  const certs = blocks.map((block, i) => parseCertificate(block, i, files.certFile));
  const leaf = certs[0];
  const key = parseKey(keyPem, passphrase, files);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsFileError('TLS_KEY_FILE', `${files.keyFile} is not the key of the certificate in ${files.certFile}`);
  }
  const notAfterMs = Date.parse(leaf.validTo);
  const notBeforeMs = Date.parse(leaf.validFrom);
  if (notAfterMs <= nowMs) {
    throw new TlsFileError(
      'TLS_CERT_FILE',
      `the certificate in ${files.certFile} expired at ${new Date(notAfterMs).toISOString()}`,
    );
  }
  if (notBeforeMs > nowMs) {
    throw new TlsFileError(
      'TLS_CERT_FILE',
      `the certificate in ${files.certFile} is not valid before ${new Date(notBeforeMs).toISOString()} (check the clock)`,
    );
  }
  return {
    files,
    passphrase,
    certPem,
    keyPem,
    digest: createHash('sha256').update(certPem).update(keyPem).digest('hex'),
    fingerprint256: leaf.fingerprint256,
    subject: oneLine(leaf.subject),
    issuer: oneLine(leaf.issuer),
    notAfterS: Math.floor(notAfterMs / 1000),
    chainLength: certs.length - 1,
  };
}

/** True when both files still hold exactly the bytes of `pair`. */
export function stillHolds(pair: CertificatePair): boolean {
  try {
    return (
      readFileSync(pair.files.certFile).equals(pair.certPem) && readFileSync(pair.files.keyFile).equals(pair.keyPem)
    );
  } catch {
    return false;
  }
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFileError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function readPassphrase(path: string): string {
  try {
    // Written with `echo` or a secret store, the file usually ends in one newline that is not part of it.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new TlsFileError(
      'TLS_PASSPHRASE_FILE',
      `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function parseCertificate(block: string, index: number, path: string): X509Certificate {
  try {
    return new X509Certificate(block);
  } catch {
    const which = index === 0 ? 'the first certificate' : `certificate ${index + 1} (the chain)`;
    throw new TlsFileError('TLS_CERT_FILE', `${which} in ${path} is not a valid X.509 certificate`);
  }
}

function parseKey(keyPem: Buffer, passphrase: string, files: TlsFiles): KeyObject {
  try {
    return createPrivateKey({ key: keyPem, format: 'pem', passphrase: passphrase === '' ? undefined : passphrase });
  } catch {
    // Both PKCS#8 (`ENCRYPTED PRIVATE KEY`) and the older `Proc-Type: 4,ENCRYPTED` say so in the clear.
    if (!/ENCRYPTED/.test(keyPem.toString('latin1'))) {
      throw new TlsFileError('TLS_KEY_FILE', `no PEM private key in ${files.keyFile}`);
    }
    if (files.passphraseFile === '') {
      throw new TlsFileError(
        'TLS_PASSPHRASE_FILE',
        `${files.keyFile} is encrypted: set the file holding its passphrase`,
      );
    }
    throw new TlsFileError(
      'TLS_PASSPHRASE_FILE',
      `the passphrase in ${files.passphraseFile} does not decrypt ${files.keyFile}`,
    );
  }
}

/** X509Certificate's subject and issuer are one `key=value` per line. */
function oneLine(name: string): string {
  return name
    .split('\n')
    .filter((s) => s !== '')
    .join(', ');
}
