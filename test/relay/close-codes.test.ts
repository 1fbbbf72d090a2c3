// Which close codes cross from one leg to the other, and how reasons are cut
// to fit a close frame (RFC 6455 5.5.1, 7.4.1-2).
import t from 'tap';
import { clampReason, clientCodeFor, isSendableCode, upstreamCodeFor, uwsFailure } from '../../src/relay/close-codes';
import { Errors } from '../../src/errors';
import { MAX_CLOSE_REASON_BYTES } from '../../src/constants';

t.test('isSendableCode: the codes a close frame may carry', async (t) => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
    t.ok(isSendableCode(code), `${code} may be sent`);
  }
  // 1004 reserved, 1005/1006 local-only, 1015 TLS failure (local-only), beyond 4999 undefined.
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    t.notOk(isSendableCode(code), `${code} may not be sent`);
  }
});

t.test('upstreamCodeFor: what the upstream is told when the browser leg closed', async (t) => {
  t.equal(upstreamCodeFor(1005), 0, 'no status from the browser: close without a status');
  t.equal(upstreamCodeFor(1006), 1001, 'the browser vanished: going away');
  t.equal(upstreamCodeFor(1000), 1000, 'a normal close passes through');
  t.equal(upstreamCodeFor(4001), 4001, 'application codes pass through');
  t.equal(upstreamCodeFor(1015), 1001, 'a local-only code becomes going away');
  t.equal(upstreamCodeFor(1004), 1001, 'a reserved code becomes going away');
});

t.test('clientCodeFor: what the browser is told when the upstream closed', async (t) => {
  t.equal(clientCodeFor(1005), 0, 'no status from the upstream: close without a status');
  t.equal(clientCodeFor(1000), 1000, 'a normal close passes through');
  t.equal(clientCodeFor(4001), 4001, 'application codes pass through');
  t.equal(clientCodeFor(1011), 1011);
});

t.test('uwsFailure: the protocol error behind a browser leg uWS failed itself', async (t) => {
  t.equal(uwsFailure(1006, 'Received invalid UTF-8'), Errors.INVALID_UTF8);
  t.equal(uwsFailure(1006, 'Received too big message'), Errors.MESSAGE_TOO_BIG);
  t.equal(
    uwsFailure(1006, 'Received TCP FIN before WebSocket close frame'),
    undefined,
    'a vanished browser is no error',
  );
  t.equal(uwsFailure(1000, 'Received invalid UTF-8'), undefined, 'a browser that sent a close frame chose its reason');
});

t.test('clampReason: at most 123 bytes, never half a UTF-8 sequence', async (t) => {
  t.equal(MAX_CLOSE_REASON_BYTES, 123);
  t.equal(clampReason('bye'), 'bye', 'short reasons are returned as they are');
  const ascii = 'a'.repeat(123);
  t.equal(clampReason(ascii), ascii, 'exactly 123 ASCII bytes fit');
  t.equal(clampReason('a'.repeat(200)), 'a'.repeat(123), 'longer ASCII is cut at 123 bytes');
  // 41 characters of 3 bytes each (123 bytes) fit exactly although the string is longer than 123 / 3 code units.
  const euros = '€'.repeat(41);
  t.equal(clampReason(euros), euros, '123 bytes of 3-byte characters fit');
  const cut = clampReason('€'.repeat(50));
  t.equal(cut, '€'.repeat(41), 'cut on a character boundary');
  t.ok(Buffer.byteLength(cut) <= MAX_CLOSE_REASON_BYTES);
  // Two ASCII bytes, then 4-byte emoji: byte 123 falls inside the 31st emoji, which is dropped whole.
  const emoji = clampReason('aa' + '😀'.repeat(40));
  t.equal(emoji, 'aa' + '😀'.repeat(30), 'a 4-byte sequence is never split');
  t.ok(Buffer.byteLength(emoji) <= MAX_CLOSE_REASON_BYTES);
});
