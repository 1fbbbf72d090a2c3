import t from 'tap';
import { ClientIpResolver, MAX_FORWARDED_HOPS, normalizeIp, rateKey } from '../../src/admission/client-ip';
import { ConfigError, loadConfig } from '../../src/config';
import { prefixKey } from '../../src/admission/ip';

/** A resolver for a TRUST_PROXY value, parsed the way the process parses it (config.ts). */
const resolver = (trustProxy: string, cidrs?: string): ClientIpResolver =>
  new ClientIpResolver(
    loadConfig({ AZURE_AI_FOUNDRY_RESOURCE: 'res', TRUST_PROXY: trustProxy, TRUST_PROXY_CIDRS: cidrs }).trustProxy,
  );

// What uWS reports when listening on '::' (IPv4 peers arrive IPv4-mapped, fully expanded).
const UWS_V4_LOOPBACK = '0000:0000:0000:0000:0000:ffff:7f00:0001';
const UWS_V6_LOOPBACK = '0000:0000:0000:0000:0000:0000:0000:0001';
const uwsV4 = (a: number, b: number, c: number, d: number): string =>
  `0000:0000:0000:0000:0000:ffff:${((a << 8) | b).toString(16).padStart(4, '0')}:${((c << 8) | d).toString(16).padStart(4, '0')}`;

t.test('normalizeIp: uWS text, IPv4, IPv6 canonical form', async (t) => {
  t.equal(normalizeIp(UWS_V4_LOOPBACK), '127.0.0.1');
  t.equal(normalizeIp(UWS_V6_LOOPBACK), '::1');
  t.equal(normalizeIp('fd00:0000:0000:0000:0000:0000:0000:0002'), 'fd00::2');
  t.equal(normalizeIp(uwsV4(10, 1, 2, 3)), '10.1.2.3');
  t.equal(normalizeIp('127.0.0.1'), '127.0.0.1');
  t.equal(normalizeIp('0.0.0.0'), '0.0.0.0');
  t.equal(normalizeIp('255.255.255.255'), '255.255.255.255');
  t.equal(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4');
  t.equal(normalizeIp('::FFFF:0102:0304'), '1.2.3.4');
  t.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  t.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'first of equal runs is compressed');
  t.equal(normalizeIp('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1', 'longest run is compressed');
  t.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
  t.equal(normalizeIp('1::'), '1::');
  t.equal(normalizeIp('::'), '::');
  t.equal(normalizeIp('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0');
  t.equal(normalizeIp('::2:3:4:5:6:7:8'), '0:2:3:4:5:6:7:8');
  t.equal(normalizeIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221', 'embedded IPv4 in a non-mapped address');
  t.equal(normalizeIp('::1.2.3.4'), '::102:304');
  t.equal(normalizeIp(' [2001:db8::1]:443 '), '2001:db8::1', 'brackets, port and spaces dropped');
  t.equal(normalizeIp('[2001:db8::1]'), '2001:db8::1');
  t.equal(normalizeIp('1.2.3.4:5678'), '1.2.3.4', 'Application Gateway writes ip:port');
  for (const bad of [
    '',
    ' ',
    'unknown',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '00.2.3.4',
    '1..2.3',
    '1.2.3.',
    '.1.2.3',
    '1.2.3.4:',
    '1.2.3.4:123456',
    '1.2.3.4:http',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    ':1::',
    '1:',
    ':',
    ':::',
    '1:::2',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '[::1',
    '[::1]x',
    '[::1]:',
    '[1.2.3.4]',
    '::1.2.3',
    '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::a.2.3.4',
    '1:2:3:4:5:6:7:8::',
    '1.2.3.4 5',
    '::1 ::2',
    '1:2:3:4::5:6:7:8',
    '::1:2:3:4:5:6:7:8',
    '1:2:',
    '[1:]',
    'host:80',
  ])
    t.equal(normalizeIp(bad), '', `not an address: ${JSON.stringify(bad)}`);
  t.equal(normalizeIp('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  t.equal(
    normalizeIp('1111:2222:3333:4444:5555:6666:11.22.3.4'),
    '1111:2222:3333:4444:5555:6666:b16:304',
    '39 chars but not the expanded form',
  );
  t.equal(normalizeIp('0000-0000:0000:0000:0000:ffff:7f00:0001'), '');
  t.equal(normalizeIp('0000:0000:0000:0000:0000:ffff:7f00:000g'), '');
  t.equal(normalizeIp('::é'), '', 'non-ASCII');
  t.equal(normalizeIp('::ffff:1.2.3.4:80'), '', 'unbracketed IPv6 cannot carry a port');
});

t.test('normalizeIp: uWS binary addresses', async (t) => {
  const bytes = (...b: number[]): ArrayBuffer => new Uint8Array(b).buffer;
  t.equal(normalizeIp(bytes(127, 0, 0, 1)), '127.0.0.1', '4 bytes (IPv4 listener)');
  t.equal(normalizeIp(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 1)), '203.0.113.1', 'mapped');
  t.equal(normalizeIp(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), '2001:db8::1');
  t.equal(normalizeIp(bytes()), '', 'empty');
  t.equal(normalizeIp(bytes(1, 2, 3, 4, 5)), '', 'neither 4 nor 16 bytes');
  const r = resolver('10.0.0.0/8');
  t.equal(r.resolve(bytes(10, 0, 0, 1), '203.0.113.5'), '203.0.113.5');
  t.equal(r.resolve(bytes(11, 0, 0, 1), '203.0.113.5'), '11.0.0.1');
  t.equal(r.resolve(bytes(), '203.0.113.5'), '', 'no address');
  t.equal(r.isTrustedProxy(bytes(10, 1, 1, 1)), true);
  t.equal(r.cameOverTls(bytes(10, 1, 1, 1), 'https'), true);
});

t.test('rateKey: IPv4 as is, IPv6 by /64', async (t) => {
  const v4 = '203.0.113.7';
  t.equal(rateKey(v4), v4);
  t.equal(rateKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.equal(rateKey('2001:db8:1:2::9'), '2001:db8:1:2::/64', 'same /64, same key');
  t.equal(rateKey('2001:db8::1'), '2001:db8::/64');
  t.equal(rateKey('::1'), '::/64');
  t.equal(rateKey('::ffff:1.2.3.4'), '1.2.3.4');
  t.equal(rateKey(UWS_V4_LOOPBACK), '127.0.0.1');
  t.equal(rateKey('not-an-ip'), 'not-an-ip', 'anything else keys by itself');
});

t.test('TRUST_PROXY parsing', async (t) => {
  t.equal(resolver('').mode, 'none');
  t.equal(resolver('false').mode, 'none');
  t.equal(resolver(' FALSE ').mode, 'none');
  t.equal(resolver('0').mode, 'none');
  t.equal(resolver('00').mode, 'none');
  t.equal(resolver('true').mode, 'all');
  t.equal(resolver('1').mode, 'hops');
  t.equal(resolver(String(MAX_FORWARDED_HOPS)).mode, 'hops');
  t.equal(resolver('10.0.0.0/8,fd00::/8,127.0.0.1').mode, 'list');
  t.equal(resolver('loopback, uniquelocal,linklocal').mode, 'list');
  t.equal(resolver('::ffff:10.0.0.0/104').mode, 'list');
  t.equal(resolver('0.0.0.0/0,::/0').mode, 'list');
  t.equal(resolver('').readsForwardedHeaders, false);
  t.equal(resolver('1').readsForwardedHeaders, true);
  t.ok(new ConfigError('TRUST_PROXY', 'x', 'y') instanceof Error);
  for (const bad of [
    'yes',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/x',
    'fd00::/129',
    '10.0.0/8',
    'localhost',
    ',',
    ' , ',
    '1.2.3.4/-1',
    '10.0.0.0/8/8',
    String(MAX_FORWARDED_HOPS + 1),
    '1.5',
  ]) {
    t.throws(
      () => resolver(bad),
      { variable: 'TRUST_PROXY', message: /^TRUST_PROXY: / },
      `refuses ${JSON.stringify(bad)}`,
    );
  }
});

t.test('TRUST_PROXY unset: forwarded headers are ignored', async (t) => {
  const r = resolver('');
  t.equal(r.resolve(UWS_V4_LOOPBACK, '6.6.6.6'), '127.0.0.1');
  t.equal(r.resolve(UWS_V6_LOOPBACK, ''), '::1');
  t.equal(r.resolve('10.0.0.9', '6.6.6.6'), '10.0.0.9', 'dotted socket text (uWS listening on 0.0.0.0)');
  t.equal(r.isTrustedProxy(UWS_V4_LOOPBACK), false);
  t.equal(r.cameOverTls(UWS_V4_LOOPBACK, 'https'), false);
  t.equal(r.resolve('', '6.6.6.6'), '', 'a socket that is not IP keys by its text');
});

t.test('hop count: Express semantics', async (t) => {
  const one = resolver('1');
  const proxy = uwsV4(10, 0, 0, 5);
  t.equal(one.resolve(proxy, '203.0.113.1'), '203.0.113.1', 'N=1: rightmost entry');
  t.equal(one.resolve(proxy, '6.6.6.6, 203.0.113.1'), '203.0.113.1', 'a spoofed entry on the left is ignored');
  t.equal(one.resolve(proxy, ''), '10.0.0.5', 'no header: the socket');
  t.equal(one.resolve(proxy, '6.6.6.6,203.0.113.1:50123'), '203.0.113.1', 'port stripped');
  t.equal(one.resolve(proxy, '[2001:db8::5]:443'), '2001:db8::5');
  t.equal(one.isTrustedProxy(proxy), true);
  t.equal(one.isTrustedProxy('garbage'), false);

  const two = resolver('2');
  t.equal(two.resolve(proxy, '6.6.6.6, 203.0.113.1, 10.0.0.4'), '203.0.113.1', 'N=2: second from the right');
  t.equal(two.resolve(proxy, '203.0.113.1'), '203.0.113.1', 'fewer entries than hops: leftmost');
  t.equal(two.resolve(proxy, ' , 203.0.113.1 ,, 10.0.0.4 , '), '203.0.113.1', 'empty entries are not hops');
  t.equal(two.resolve(proxy, 'unknown, 10.0.0.4'), '10.0.0.4', 'malformed entry: the last readable address');
  t.equal(one.resolve(proxy, 'unknown'), '10.0.0.5');
  t.equal(one.resolve(proxy, ','), '10.0.0.5');
});

t.test('true: leftmost entry', async (t) => {
  const r = resolver('true');
  // The socket peer is a proxy in a private range (TRUST_PROXY_CIDRS' default).
  t.equal(r.resolve('10.1.1.1', '203.0.113.1, 10.0.0.4, 10.0.0.3'), '203.0.113.1');
  t.equal(r.resolve('10.1.1.1', ''), '10.1.1.1');
  t.equal(r.resolve('10.1.1.1', 'bogus, 10.0.0.4'), '10.0.0.4', 'stops at a malformed entry');
  const long = Array.from({ length: MAX_FORWARDED_HOPS + 10 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(',');
  const ip = r.resolve('10.1.1.1', long);
  t.equal(ip, `10.0.0.${MAX_FORWARDED_HOPS + 10 - MAX_FORWARDED_HOPS}`, 'the walk is bounded');
  const blanks = '203.0.113.1' + ','.repeat(5000);
  t.equal(r.resolve('10.1.1.1', blanks), '10.1.1.1', 'blank entries count toward the bound');
});

t.test('hops and true believe a peer only inside TRUST_PROXY_CIDRS', async (t) => {
  const direct = uwsV4(203, 0, 113, 50); // a client that reached the proxy directly
  for (const mode of ['1', '2', 'true']) {
    const r = resolver(mode);
    t.equal(
      r.resolve(direct, '198.51.100.1'),
      '203.0.113.50',
      `${mode}: a direct client's own X-Forwarded-For is ignored`,
    );
    t.equal(r.resolve(direct, '198.51.100.2, 198.51.100.1'), '203.0.113.50');
    t.equal(r.isTrustedProxy(direct), false);
    t.equal(r.cameOverTls(direct, 'https'), false, 'nor its X-Forwarded-Proto');
  }
  const one = resolver('1');
  for (const peer of [
    uwsV4(10, 0, 0, 5),
    uwsV4(172, 16, 0, 9),
    uwsV4(192, 168, 1, 1),
    uwsV4(100, 100, 0, 4),
    UWS_V4_LOOPBACK,
    'fd00::5',
    '::1',
  ]) {
    t.equal(one.resolve(peer, '198.51.100.1'), '198.51.100.1', `default private ranges: ${peer} is a proxy`);
  }
  t.equal(one.resolve(uwsV4(100, 128, 0, 1), '198.51.100.1'), '100.128.0.1', '100.64.0.0/10 ends at 100.127');
  const pinned = resolver('1', '203.0.113.0/24');
  t.equal(pinned.resolve(direct, '198.51.100.1'), '198.51.100.1', 'a public front end named explicitly');
  t.equal(pinned.resolve(uwsV4(10, 0, 0, 5), '198.51.100.1'), '10.0.0.5', 'then a private peer is not believed');
  const two = resolver('2', 'uniquelocal');
  t.equal(
    two.resolve(uwsV4(10, 0, 0, 5), '198.51.100.1, 203.0.113.9'),
    '198.51.100.1',
    'hops past the peer are counted, not matched',
  );
  t.equal(
    resolver('10.0.0.0/8', '192.168.0.0/16').resolve(uwsV4(10, 0, 0, 5), '198.51.100.1'),
    '198.51.100.1',
    'a CIDR list in TRUST_PROXY is itself the list',
  );
  for (const bad of ['banana', '10.0.0.0/33', ' , x']) {
    t.throws(
      () => resolver('1', bad),
      { variable: 'TRUST_PROXY_CIDRS', message: /^TRUST_PROXY_CIDRS: / },
      `TRUST_PROXY_CIDRS=${bad}`,
    );
  }
  t.doesNotThrow(() => resolver('', 'banana'), 'not read without a hop count or true');
});

t.test('CIDR list: walk left while trusted', async (t) => {
  const r = resolver('10.0.0.0/8,fd00::/8,127.0.0.1');
  t.equal(r.resolve(UWS_V4_LOOPBACK, '203.0.113.1'), '203.0.113.1');
  t.equal(r.resolve(uwsV4(10, 9, 9, 9), '6.6.6.6, 203.0.113.1, 10.1.1.1'), '203.0.113.1', 'skips trusted hops');
  t.equal(r.resolve(uwsV4(10, 9, 9, 9), '10.1.1.2, 10.1.1.1'), '10.1.1.2', 'all trusted: leftmost');
  t.equal(r.resolve(uwsV4(198, 51, 100, 1), '203.0.113.1'), '198.51.100.1', 'untrusted peer: header ignored');
  t.equal(r.resolve(uwsV4(127, 0, 0, 2), '203.0.113.1'), '127.0.0.2', '127.0.0.1 is a single address');
  t.equal(r.resolve('fd00:0000:0000:0000:0000:0000:0000:0002', '2001:db8::7'), '2001:db8::7', 'IPv6 proxy');
  t.equal(r.resolve('fe00:0000:0000:0000:0000:0000:0000:0002', '2001:db8::7'), 'fe00::2', 'outside fd00::/8');
  t.equal(r.resolve(uwsV4(10, 0, 0, 1), '10.0.0.2, nonsense, 10.0.0.3'), '10.0.0.3', 'malformed stops the walk');
  t.equal(r.isTrustedProxy(uwsV4(10, 200, 0, 1)), true);
  t.equal(r.isTrustedProxy(uwsV4(11, 0, 0, 1)), false);
  t.equal(r.isTrustedProxy('fd12::1'), true);

  const masked = resolver('10.1.2.3/8');
  t.equal(masked.isTrustedProxy('10.200.0.1'), true, 'host bits of a range are masked off');
  const mapped = resolver('::ffff:10.0.0.0/104');
  t.equal(mapped.isTrustedProxy(uwsV4(10, 3, 3, 3)), true, 'IPv4-mapped range matches IPv4 peers');
  t.equal(mapped.isTrustedProxy('11.0.0.1'), false);
  const everything = resolver('::/0');
  t.equal(everything.isTrustedProxy('8.8.8.8'), true, '::/0 covers mapped IPv4');
  const v4all = resolver('0.0.0.0/0');
  t.equal(v4all.isTrustedProxy('8.8.8.8'), true);
  t.equal(v4all.isTrustedProxy('2001:db8::1'), false);
  const presets = resolver('loopback,uniquelocal');
  t.equal(presets.isTrustedProxy(UWS_V6_LOOPBACK), true);
  t.equal(presets.isTrustedProxy('172.20.0.1'), true);
  t.equal(presets.isTrustedProxy('172.32.0.1'), false);
  t.equal(presets.isTrustedProxy('fc00::1'), true);
  t.equal(presets.isTrustedProxy('fe80::1'), false);
  const odd = resolver('2001:db8:abcd:12::/62');
  t.equal(odd.isTrustedProxy('2001:db8:abcd:13::1'), true, 'prefix inside a group');
  t.equal(odd.isTrustedProxy('2001:db8:abcd:14::1'), false);
});

t.test('cameOverTls', async (t) => {
  const proxy = uwsV4(10, 0, 0, 5);
  const one = resolver('1');
  t.equal(one.cameOverTls(proxy, 'https'), true);
  t.equal(one.cameOverTls(proxy, ' HTTPS '), true, 'case and spaces');
  t.equal(one.cameOverTls(proxy, 'http'), false);
  t.equal(one.cameOverTls(proxy, 'httpx'), false);
  t.equal(one.cameOverTls(proxy, ''), false);
  t.equal(one.cameOverTls(proxy, 'http, https'), true, 'N=1 reads the rightmost');
  t.equal(one.cameOverTls(proxy, 'https, http'), false);
  const two = resolver('2');
  t.equal(two.cameOverTls(proxy, 'http, https, http'), true, 'N=2 reads the second from the right');
  t.equal(two.cameOverTls(proxy, 'https'), true, 'a single value is read whatever N is');
  t.equal(two.cameOverTls(proxy, ',http'), false);
  const all = resolver('true');
  t.equal(all.cameOverTls(proxy, 'https, http, http'), true, 'true reads the leftmost');
  const list = resolver('10.0.0.0/8');
  t.equal(list.cameOverTls(proxy, 'http, https'), true, 'a list reads the peer’s own (rightmost)');
  t.equal(list.cameOverTls(uwsV4(8, 8, 8, 8), 'https'), false, 'untrusted peer');
  t.equal(resolver('').cameOverTls(proxy, 'https'), false, 'never trusted when TRUST_PROXY is unset');
  t.equal(one.cameOverTls(proxy, 'https,'), false, 'empty entry is not https');
  t.equal(two.cameOverTls(proxy, 'https,'), true);
  const three = resolver('3');
  t.equal(three.cameOverTls(proxy, ',,https'), false);
});

t.test('prefixKey: the wider IPv6 prefix of a /64 key', async (t) => {
  t.equal(prefixKey('2001:db8:1:2::/64', 56), '2001:db8:1::/56');
  t.equal(prefixKey('2001:db8:1:2ff::/64', 56), '2001:db8:1:200::/56', 'a prefix inside a group');
  t.equal(prefixKey('2001:db8:1:2ff::/64', 48), '2001:db8:1::/48');
  t.equal(prefixKey('2001:db8:abcd:12::7', 32), '2001:db8::/32', 'a plain address works too');
  t.equal(prefixKey('203.0.113.7', 48), '', 'IPv4 has none');
  t.equal(prefixKey('not an ip', 48), '');
});
