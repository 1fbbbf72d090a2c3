// Every way the listening port's files can be wrong, each refused with the
// variable to fix, and never a byte of key material in the message.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { readCertificatePair, stillHolds, TlsFileError, type TlsFiles } from '../../src/tls/certificate-pair';
import { makeCa, makeLeaf, opensslInstalled } from '../helpers/tls-pki';

const skip = opensslInstalled() ? false : 'openssl not installed';
const dir = mkdtempSync(join(tmpdir(), 'vlp-cert-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

function refusal(files: Partial<TlsFiles>, nowMs?: number): TlsFileError {
  try {
    readCertificatePair({ certFile: '', keyFile: '', passphraseFile: '', ...files }, nowMs);
  } catch (err) {
    if (err instanceof TlsFileError) return err;
    throw err;
  }
  throw new Error('the pair was accepted');
}

t.test('one file without the other is a configuration error naming the missing one', async (t) => {
  const base = { AZURE_VOICE_LIVE_ENDPOINT: 'ws://127.0.0.1:1', ALLOWED_ORIGINS: 'http://localhost:3000' };
  const onlyCert = caught(() => loadConfig({ ...base, TLS_CERT_FILE: '/c.pem' })) as { variable?: string } | null;
  t.equal(onlyCert?.variable, 'TLS_KEY_FILE', 'a ConfigError naming the key');
  t.throws(() => loadConfig({ ...base, TLS_CERT_FILE: '/c.pem' }), {
    message: /^TLS_KEY_FILE: expected a PEM key file/,
  });
  t.throws(() => loadConfig({ ...base, TLS_KEY_FILE: '/k.pem' }), { message: /^TLS_CERT_FILE: expected a PEM/ });
  t.throws(() => loadConfig({ ...base, TLS_PASSPHRASE_FILE: '/p' }), { message: /^TLS_KEY_FILE: / });
  const cfg = loadConfig({ ...base, TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' });
  t.match(cfg, { tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem', tlsPassphraseFile: '', tlsReloadIntervalMs: 30000 });
  t.equal(loadConfig(base).tlsCertFile, '', 'off by default');
});

t.test('the files, checked', { skip }, async (t) => {
  const ca = makeCa(dir);
  const good = makeLeaf(ca, dir, 'good');
  const other = makeLeaf(ca, dir, 'other');
  const expired = makeLeaf(ca, dir, 'expired', { expired: true });
  const locked = makeLeaf(ca, dir, 'locked', { passphrase: 'open sesame' });
  const pass = join(dir, 'pass.txt');
  writeFileSync(pass, 'open sesame\n');
  const wrongPass = join(dir, 'wrong.txt');
  writeFileSync(wrongPass, 'open barley');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  const badBlock = join(dir, 'bad-block.pem');
  writeFileSync(badBlock, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const badChain = join(dir, 'bad-chain.pem');
  writeFileSync(
    badChain,
    readFileSync(good.cert, 'latin1') + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  );

  const pair = readCertificatePair({ certFile: good.chain, keyFile: good.key, passphraseFile: '' });
  t.match(pair, { subject: 'CN=good', issuer: 'CN=voice-live-proxy test CA', chainLength: 1 });
  t.match(pair.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.ok(pair.notAfterS > Date.now() / 1000 + 29 * 86400, 'notAfter in Unix seconds');
  t.ok(stillHolds(pair), 'the files still hold the bytes checked');
  t.equal(
    readCertificatePair({ certFile: good.chain, keyFile: good.key, passphraseFile: '' }).digest,
    pair.digest,
    'the same bytes, the same digest',
  );
  const unlocked = readCertificatePair({ certFile: locked.cert, keyFile: locked.key, passphraseFile: pass });
  t.equal(unlocked.passphrase, 'open sesame', 'an encrypted key with its passphrase (one trailing newline dropped)');

  const cases: Array<[string, Partial<TlsFiles>, string, RegExp]> = [
    [
      'a missing certificate',
      { certFile: join(dir, 'nope.pem'), keyFile: good.key },
      'TLS_CERT_FILE',
      /cannot read .*nope\.pem \(ENOENT\)/,
    ],
    ['a folder for a key', { certFile: good.cert, keyFile: dir }, 'TLS_KEY_FILE', /cannot read .* \(EISDIR\)/],
    [
      'no PEM certificate',
      { certFile: notPem, keyFile: good.key },
      'TLS_CERT_FILE',
      /no PEM certificate in .*not\.pem/,
    ],
    [
      'a broken certificate',
      { certFile: badBlock, keyFile: good.key },
      'TLS_CERT_FILE',
      /the first certificate .* is not a valid X\.509/,
    ],
    ['a broken chain', { certFile: badChain, keyFile: good.key }, 'TLS_CERT_FILE', /certificate 2 \(the chain\)/],
    ['no PEM key', { certFile: good.cert, keyFile: notPem }, 'TLS_KEY_FILE', /no PEM private key in .*not\.pem/],
    ['a certificate for a key', { certFile: good.cert, keyFile: good.cert }, 'TLS_KEY_FILE', /no PEM private key/],
    [
      "another certificate's key",
      { certFile: good.cert, keyFile: other.key },
      'TLS_KEY_FILE',
      /other-key\.pem is not the key of the certificate in .*good\.pem/,
    ],
    [
      'an expired certificate',
      { certFile: expired.cert, keyFile: expired.key },
      'TLS_CERT_FILE',
      /expired at 2020-02-01T00:00:00\.000Z/,
    ],
    [
      'an encrypted key without its passphrase',
      { certFile: locked.cert, keyFile: locked.key },
      'TLS_PASSPHRASE_FILE',
      /locked-key\.pem is encrypted/,
    ],
    [
      'a wrong passphrase',
      { certFile: locked.cert, keyFile: locked.key, passphraseFile: wrongPass },
      'TLS_PASSPHRASE_FILE',
      /wrong\.txt does not decrypt/,
    ],
    [
      'a missing passphrase file',
      { certFile: locked.cert, keyFile: locked.key, passphraseFile: join(dir, 'nope.txt') },
      'TLS_PASSPHRASE_FILE',
      /cannot read .*nope\.txt/,
    ],
  ];
  for (const [what, files, variable, message] of cases) {
    const err = refusal(files);
    t.equal(err.variable, variable, `${what}: ${variable}`);
    t.match(err.message, new RegExp(`^${variable}: `), `${what}: the message starts with the variable`);
    t.match(err.message, message, `${what}: ${err.message}`);
    t.notMatch(err.message, /BEGIN|MII|open sesame|open barley/, `${what}: no key material or passphrase`);
  }
  const early = refusal({ certFile: good.cert, keyFile: good.key }, Date.now() - 86400_000);
  t.match(early.message, /^TLS_CERT_FILE: the certificate in .* is not valid before .* \(check the clock\)$/);
});
