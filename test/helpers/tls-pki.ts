// A throwaway certificate authority and leaf certificates for the proxy's own
// TLS (TLS_CERT_FILE / TLS_KEY_FILE), made with the openssl command: a client
// trusts the CA alone, and each leaf (127.0.0.1 and localhost) can be given
// dates in the past (an expired certificate), an encrypted key, or its chain.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function opensslInstalled(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

export interface TestCa {
  readonly dir: string;
  /** PEM path of the CA certificate (what a client trusts). */
  readonly cert: string;
  readonly key: string;
  readonly pem: Buffer;
}

export interface Leaf {
  readonly cert: string;
  readonly key: string;
  /** The leaf followed by the CA certificate, as a "full chain" file. */
  readonly chain: string;
}

export interface LeafOptions {
  /** Valid for this many days from now (default 30). */
  readonly days?: number;
  /** Dates in the past instead: an expired certificate. */
  readonly expired?: boolean;
  /** Encrypt the key with this passphrase (PKCS#8, AES-256). */
  readonly passphrase?: string;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA (EC P-256) in `dir`. */
export function makeCa(dir: string): TestCa {
  const cert = join(dir, 'ca.pem');
  const key = join(dir, 'ca-key.pem');
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30']
      .concat(['-keyout', key, '-out', cert, '-subj', '/CN=voice-live-proxy test CA'])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']),
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, 'serial')}`,
      'default_md = sha256',
      'policy = any',
      'copy_extensions = copy',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  return { dir, cert, key, pem: readFileSync(cert) };
}

/** A leaf for 127.0.0.1 and localhost signed by `ca`, written as `<name>.pem`, `<name>-key.pem`, `<name>-chain.pem`. */
export function makeLeaf(ca: TestCa, dir: string, name: string, opts: LeafOptions = {}): Leaf {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
      .concat(['-keyout', key, '-out', csr, '-subj', `/CN=${name}`])
      .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']),
  );
  const dates = opts.expired
    ? ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']
    : ['-days', String(opts.days ?? 30)];
  openssl(
    ['ca', '-batch', '-notext', '-config', join(ca.dir, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key].concat([
      '-in',
      csr,
      '-out',
      cert,
      ...dates,
    ]),
  );
  if (opts.passphrase !== undefined) {
    const plain = `${key}.plain`;
    renameSync(key, plain);
    openssl([
      'pkcs8',
      '-topk8',
      '-v2',
      'aes-256-cbc',
      '-in',
      plain,
      '-out',
      key,
      '-passout',
      `pass:${opts.passphrase}`,
    ]);
  }
  const chain = join(dir, `${name}-chain.pem`);
  writeFileSync(chain, Buffer.concat([readFileSync(cert), ca.pem]));
  return { cert, key, chain };
}
