// The remote address text uWS hands the server, fed through the resolver: pins
// the format normalizeIp must understand ('::' listeners report IPv4 peers as
// fully expanded IPv4-mapped IPv6; '0.0.0.0' listeners as a dotted quad).
import t from 'tap';
import { request } from 'node:http';
import uWS from 'uWebSockets.js';
import { ClientIpResolver, normalizeIp, rateKey } from '../../src/admission/client-ip';
import { loadConfig } from '../../src/config';

interface Seen {
  raw: string;
  client: string;
  fromBytes: string;
  bytes: number;
}

function serve(host: string): Promise<{ port: number; seen: Seen[]; close: () => void }> {
  const resolver = new ClientIpResolver(
    loadConfig({ AZURE_AI_FOUNDRY_RESOURCE: 'res', TRUST_PROXY: 'loopback' }).trustProxy,
  );
  const seen: Seen[] = [];
  const app = uWS.App().get('/*', (res, req) => {
    const xff = req.getHeader('x-forwarded-for');
    const raw = Buffer.from(res.getRemoteAddressAsText()).toString();
    const binary = res.getRemoteAddress();
    const client = resolver.resolve(raw, xff);
    seen.push({ raw, client, fromBytes: resolver.resolve(binary, xff), bytes: binary.byteLength });
    res.end(client);
  });
  return new Promise((resolve, reject) => {
    app.listen(host, 0, (ls) => {
      if (!ls) return reject(new Error(`cannot listen on ${host}`));
      resolve({ port: uWS.us_socket_local_port(ls), seen, close: () => uWS.us_listen_socket_close(ls) });
    });
  });
}

function get(host: string, port: number, xff?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = xff === undefined ? {} : { 'x-forwarded-for': xff };
    request({ host, port, path: '/', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

t.test('uWS listening on ::', async (t) => {
  const s = await serve('::');
  t.teardown(s.close);
  t.equal(await get('127.0.0.1', s.port), '127.0.0.1');
  t.equal(s.seen[0].raw, '0000:0000:0000:0000:0000:ffff:7f00:0001', 'IPv4 peer as expanded mapped IPv6');
  t.equal(await get('::1', s.port), '::1');
  t.equal(s.seen[1].raw, '0000:0000:0000:0000:0000:0000:0000:0001');
  t.equal(await get('127.0.0.1', s.port, '203.0.113.9'), '203.0.113.9', 'loopback peer is a trusted proxy');
  t.equal(rateKey(normalizeIp(s.seen[0].raw)), '127.0.0.1');
  for (const seen of s.seen) t.equal(seen.fromBytes, seen.client, 'binary address resolves the same');
  t.equal(s.seen[0].bytes, 16);
});

t.test('uWS listening on 0.0.0.0', async (t) => {
  const s = await serve('0.0.0.0');
  t.teardown(s.close);
  t.equal(await get('127.0.0.1', s.port), '127.0.0.1');
  t.equal(s.seen[0].raw, '127.0.0.1', 'IPv4 peer as a dotted quad');
  t.equal(s.seen[0].bytes, 4, 'and 4 bytes');
  t.equal(s.seen[0].fromBytes, '127.0.0.1');
});
