// No route of the proxy takes a body. uWebSockets.js believes the first of two
// Content-Length lines, so a front end that believes the other would see a
// different request boundary; a request that carries a body in any form is
// therefore refused with 400 and its connection closed, and whatever follows
// it on that connection is never read.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { startHarness } from '../helpers/harness';
import { upgradeRequest } from '../helpers/raw-upgrade';

/** Writes `request` raw; resolves with everything read and whether the proxy closed the connection. */
function exchange(port: number, request: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let text = '';
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(request));
    sock.on('data', (d: string) => {
      text += d;
    });
    // A proxy that keeps the connection open is caught by the timeout, not by a hang.
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false });
    }, 2000);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    sock.once('error', reject);
  });
}

/** Writes `head`, then `rest` once the first answer has arrived (if the connection is still open). */
function exchangeSplit(port: number, head: string, rest: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let text = '';
    let sent = false;
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(head));
    sock.on('data', (d: string) => {
      text += d;
      if (!sent && !sock.writableEnded) {
        sent = true;
        sock.write(rest, () => undefined);
      }
    });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false });
    }, 2000);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    // The proxy may close before `rest` is written: EPIPE or a reset is the expected end.
    sock.on('error', () => undefined);
  });
}

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';

function refused(t: Test, r: { text: string; closed: boolean }, what: string): void {
  t.same(statuses(r.text), ['400'], `${what}: one answer, 400`);
  t.match(r.text, /"code":"request_body_not_accepted"/, what);
  t.match(r.text, /\r\nConnection: close\r\n/i, `${what}: says it closes`);
  t.ok(r.closed, `${what}: the connection is closed`);
}

t.test('Content-Length 0 then 40: the hidden request is never answered', async (t) => {
  const h = await startHarness(t);
  const body = SMUGGLED.padEnd(40, 'x');
  t.equal(Buffer.byteLength(body), 40);
  for (const path of ['/health', '/', '/metrics', '/nowhere', '/ws']) {
    const head = `GET ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n`;
    // In one read: uWS sees a second request behind one still pending and drops the connection.
    const r = await exchange(h.proxy.port, head + body);
    t.ok(r.closed, `${path}, one read: the connection is closed`);
    t.ok(
      statuses(r.text).every((s) => s === '400'),
      `${path}, one read: nothing answered but the 400`,
    );
    t.notMatch(r.text, /404|200 OK/, `${path}, one read: /smuggled is not answered`);
    // The headers first: the 400 and the close come before the hidden request is sent.
    const split = await exchangeSplit(h.proxy.port, head, body);
    refused(t, split, `${path}, two reads`);
    t.notMatch(split.text, /404|200 OK/, `${path}, two reads: /smuggled is not answered`);
  }
});

t.test('any body is refused, on every route and on the upgrade paths', async (t) => {
  const h = await startHarness(t);
  const port = h.proxy.port;
  refused(
    t,
    await exchange(port, `POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`),
    'POST /health',
  );
  refused(t, await exchange(port, `POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`), '404 route');
  refused(
    t,
    await exchange(port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`),
    'chunked',
  );
  refused(t, await exchange(port, `OPTIONS /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`), 'preflight');
  const up = upgradeRequest(port, { extra: `Content-Length: ${SMUGGLED.length}\r\n` }) + SMUGGLED;
  refused(t, await exchange(port, up), 'upgrade with a body');
  t.equal(h.proxy.gate.counter.active, 0, 'no session was opened');
});

t.test('Content-Length: 0 alone is no body', async (t) => {
  const h = await startHarness(t);
  const r = await exchange(
    h.proxy.port,
    `GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
  t.same(statuses(r.text), ['200']);
});
