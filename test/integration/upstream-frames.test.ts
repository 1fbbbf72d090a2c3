// The upstream's frames as the proxy reads them (src/upstream/reader.ts): frames
// in the same TCP segment as the 101 response, frames cut at every kind of
// boundary, pings answered, and malformed frames answered as ws answered them
// (close 1002/1009 upstream, 1011 "Upstream connection lost" to the browser),
// over plain TCP in this process and over TLS in a real proxy process.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness } from '../helpers/harness';
import { TestClient } from '../helpers/client';
import { startRawUpstream, serverFrame } from '../helpers/raw-upstream';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';
import { writeTestCert } from '../helpers/test-cert';

const text = (i: number) => `{"type":"response.audio.delta","delta":"${'x'.repeat(i % 300)}","i":${i}}`;

t.test('frames with the 101, frames cut anywhere, and a ping', async (t) => {
  const first = serverFrame(1, '{"type":"session.created"}');
  const up = await startRawUpstream({ head: first });
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  const c = h.client();
  t.equal((await c.nextJson()).type, 'session.created', 'a frame that came with the 101 response');
  const u = await up.nextConnection();

  // 40 frames (small, 16-bit and 64-bit lengths) written in pieces of 1 to 97 bytes.
  const frames: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    if (i % 13 === 5) frames.push(serverFrame(2, Buffer.alloc(70_000 + i, i)));
    else if (i % 7 === 3) frames.push(serverFrame(2, Buffer.alloc(300 + i, i)));
    else frames.push(serverFrame(1, text(i)));
  }
  const all = Buffer.concat(frames);
  for (let at = 0, n = 1; at < all.length; n = (n * 7 + 3) % 97 || 1) {
    const piece = at < 300 ? 1 : n; // byte by byte at first: every header boundary
    await u.write(all.subarray(at, at + piece));
    at += piece;
  }
  for (let i = 0; i < 40; i++) {
    const f = await c.next();
    if (i % 13 === 5) t.ok(f.data.equals(Buffer.alloc(70_000 + i, i)) && f.isBinary, `frame ${i}: 64-bit length`);
    else if (i % 7 === 3) t.ok(f.data.equals(Buffer.alloc(300 + i, i)) && f.isBinary, `frame ${i}: 16-bit length`);
    else t.equal(f.data.toString(), text(i), `frame ${i}`);
  }

  // A fragmented message with a ping in the middle: the ping is answered, the message arrives whole.
  await u.write(
    Buffer.concat([serverFrame(1, 'hel', { fin: false }), serverFrame(9, 'are you there'), serverFrame(0, 'lo')]),
  );
  const f = await c.next();
  t.equal(f.data.toString(), 'hello');
  t.equal(f.isBinary, false);
  while (u.pongs.length === 0) await new Promise((r) => u.socket.once('data', r));
  t.equal(u.pongs[0].toString(), 'are you there', 'ws answered the ping with its payload');

  // The close handshake, code and reason through to the browser.
  await u.write(serverFrame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye now')])));
  t.same(await c.closed, { code: 4000, reason: 'bye now' });
  t.equal((await u.closed).code, 4000, 'ws echoed the close');
});

t.test('malformed upstream frames: the upstream gets ws close codes, the browser 1011', async (t) => {
  const up = await startRawUpstream();
  t.teardown(() => up.close());
  const h = await startHarness(t, { AZURE_VOICE_LIVE_ENDPOINT: up.origin });
  const cases: Array<[string, Buffer, number]> = [
    ['RSV1 set (no deflate negotiated)', serverFrame(1, 'x', { rsv: 0x40 }), 1002],
    ['reserved opcode', serverFrame(5, 'x'), 1002],
    ['continuation without a start', serverFrame(0, 'x'), 1002],
    ['fragmented ping', serverFrame(9, 'x', { fin: false }), 1002],
    ['ping over 125 bytes', serverFrame(9, Buffer.alloc(126)), 1002],
    ['invalid close code', serverFrame(8, Buffer.from([0x03, 0xed])), 1002],
    // 17 MiB announced: over the 16 MiB upstream limit before a payload byte arrives.
    ['message over the limit', Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0x01, 0x10, 0, 0]), 1009],
  ];
  for (const [name, bytes, upstreamCode] of cases) {
    const c = h.client();
    await c.opened;
    const u = await up.nextConnection();
    await u.write(Buffer.concat([serverFrame(1, 'before'), bytes, serverFrame(1, 'never')]));
    t.equal((await c.next()).data.toString(), 'before', `${name}: frames before it are relayed`);
    t.equal((await u.closed).code, upstreamCode, `${name}: the upstream gets ${upstreamCode}`);
    u.socket.end();
    t.same(await c.closed, { code: 1011, reason: 'Upstream connection lost' }, `${name}: the browser gets 1011`);
    t.equal(c.frames.length, 0, `${name}: nothing after it is relayed`);
  }
  await h.logLine('upstream socket error');
});

const certDir = mkdtempSync(join(tmpdir(), 'vlp-up-tls-'));
const cert = writeTestCert(certDir);
t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
t.test(
  'over TLS (a real proxy process trusting the upstream through NODE_EXTRA_CA_CERTS)',
  { skip: cert === null ? 'openssl not installed' : !entryBuilt() ? 'dist not built' : false },
  async (t) => {
    const up = await startRawUpstream({
      head: serverFrame(1, '{"type":"session.created"}'),
      tls: { cert: readFileSync(cert!.cert), key: readFileSync(cert!.key) },
    });
    t.teardown(() => up.close());
    const { port } = await startProxyProcess(t, up.origin, {
      WORKERS: '1',
      SHUTDOWN_GRACE_MS: '0',
      NODE_EXTRA_CA_CERTS: cert!.cert,
    });
    const url = `ws://127.0.0.1:${port}/ws`;

    const c = new TestClient(url);
    t.teardown(() => c.ws.terminate());
    t.equal((await c.nextJson()).type, 'session.created', 'a frame in the same TLS record as the 101');
    const u = await up.nextConnection();
    const big = Buffer.alloc(200_000, 9); // spans many TLS records and reads
    const all = Buffer.concat([serverFrame(1, text(1)), serverFrame(2, big), serverFrame(1, text(2))]);
    for (let at = 0; at < all.length; at += 1000) await u.write(all.subarray(at, at + 1000));
    t.equal((await c.next()).data.toString(), text(1));
    t.ok((await c.next()).data.equals(big), '200 KB frame intact');
    t.equal((await c.next()).data.toString(), text(2));
    c.send('{"type":"input_audio_buffer.append"}');
    while (u.messages.length === 0) await new Promise((r) => u.socket.once('data', r));
    t.equal(u.messages[0].data.toString(), '{"type":"input_audio_buffer.append"}', 'and the other way');

    // A second session over the thread's shared TLS context (src/upstream/tls-context.ts), alongside the first.
    const c2 = new TestClient(url);
    t.teardown(() => c2.ws.terminate());
    t.equal((await c2.nextJson()).type, 'session.created', 'a second session trusts the same upstream');
    const u2 = await up.nextConnection();
    c2.send('{"type":"second"}');
    while (u2.messages.length === 0) await new Promise((r) => u2.socket.once('data', r));
    t.equal(u2.messages[0].data.toString(), '{"type":"second"}', 'and relays both ways');
    c2.ws.close(1000);
    t.equal((await u2.closed).code, 1000, 'and closes without touching the first');

    await u.write(serverFrame(2, 'x', { rsv: 0x40 }));
    t.equal((await u.closed).code, 1002, 'a malformed frame: 1002 upstream');
    u.socket.end();
    t.same(await c.closed, { code: 1011, reason: 'Upstream connection lost' }, '1011 to the browser');
  },
);
