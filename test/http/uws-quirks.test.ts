// What uWebSockets.js does on the wire that this proxy cannot change (its HTTP
// parser and response writer are compiled into the binary), pinned here so
// that an upgrade of uWS that changes them is noticed and docs/security.md
// (what a front proxy must reject or strip) is revisited.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { startHarness } from '../helpers/harness';
import { loadUws, uws } from '../../src/uws';

/** Writes `request` raw and resolves with everything read until `done(text)` or the socket closes. */
function exchange(port: number, request: string, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let text = '';
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(request));
    sock.on('data', (d: string) => {
      text += d;
      if (done(text)) {
        sock.destroy();
        resolve(text);
      }
    });
    sock.once('close', () => resolve(text));
    sock.once('error', reject);
  });
}

// A response may follow the previous body on the same line (keep-alive, no delimiter).
const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);

t.test('uWS marks every response with its major version', async (t) => {
  const h = await startHarness(t);
  const res = await h.http('/health');
  t.equal(res.headers.get('uwebsockets'), '20', 'a front proxy should strip the uWebSockets response header');
});

/** A bare uWS app (not the proxy): 404 for POST /nope, 200 for GET /health; closed in teardown. */
async function bareUws(t: Test): Promise<number> {
  const app = loadUws().App();
  app.post('/nope', (res) => void res.writeStatus('404 Not Found').end('nope'));
  app.get('/health', (res) => void res.end('ok'));
  const port = await new Promise<number>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (ls) => (ls ? resolve(uws().us_socket_local_port(ls)) : reject(new Error('listen')))),
  );
  t.teardown(() => app.close());
  return port;
}

t.test('a duplicated Content-Length: uWS takes the first and does not refuse', async (t) => {
  const port = await bareUws(t);
  // First says 5: "hello" is the body, the GET after it is a second request.
  const first5 = await exchange(
    port,
    'POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhelloGET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    (text) => statuses(text).length === 2,
  );
  t.same(
    statuses(first5),
    ['404', '200'],
    'the first value wins; a front end that read the second would see one request',
  );
  // First says 0: "hello" starts the next request line.
  const first0 = await exchange(
    port,
    'POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhelloGET /health HTTP/1.1\r\nHost: x\r\n\r\n',
    (text) => statuses(text).length === 2,
  );
  t.same(statuses(first0), ['404', '404'], '"helloGET /health" is read as a request of its own');
});

t.test('the proxy answers neither framing: a request with a body is refused and its connection closed', async (t) => {
  const h = await startHarness(t);
  for (const lengths of ['Content-Length: 5\r\nContent-Length: 0', 'Content-Length: 0\r\nContent-Length: 5']) {
    const text = await exchange(
      h.proxy.port,
      `POST /nope HTTP/1.1\r\nHost: x\r\n${lengths}\r\n\r\nhelloGET /health HTTP/1.1\r\nHost: x\r\n\r\n`,
      () => false,
    );
    t.ok(
      statuses(text).every((s) => s === '400'),
      `${JSON.stringify(lengths)}: at most the 400, never the request behind it`,
    );
  }
});

t.test('uWS refuses a Content-Length list and Transfer-Encoding with Content-Length', async (t) => {
  const h = await startHarness(t);
  for (const request of [
    'POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 0\r\n\r\nhello',
    'POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n',
  ]) {
    const text = await exchange(h.proxy.port, request, () => false);
    t.same(statuses(text), ['400'], JSON.stringify(request.split('\r\n')[2]));
    t.match(text, /Connection: close/);
  }
});
