// Every error the proxy can produce is documented in docs/clients.md, and every
// public message is safe to show a client.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errors, errorBody, errorEvent } from '../src/errors';

const readme = readFileSync(join(__dirname, '..', 'docs', 'clients.md'), 'utf8');

t.test('every error code, status and close code is in docs/clients.md', async (t) => {
  for (const [name, err] of Object.entries(Errors)) {
    t.ok(readme.includes(`\`${err.code}\``), `${name}: code ${err.code} documented`);
    t.ok(readme.includes(err.message), `${name}: message documented`);
    if (err.status !== 0)
      t.match(readme, new RegExp(`\\| ${err.status} \\| \`${err.code}\``), `${name}: HTTP ${err.status}`);
    else
      t.match(readme, new RegExp(`\\| ${err.closeCode} \\|[^\\n]*\`${err.code}\``), `${name}: close ${err.closeCode}`);
  }
});

t.test('messages fit a close frame and carry no detail', async (t) => {
  for (const err of Object.values(Errors)) {
    t.ok(Buffer.byteLength(err.message) <= 123, `${err.code} fits a close reason`);
    t.notMatch(err.message, /\/\/|\.azure\.com|Error:|\bat \w+ \(/, `${err.code} is generic`);
    t.ok((err.status === 0) !== (err.closeCode === 0), `${err.code} is either HTTP or a close`);
  }
  t.same(JSON.parse(errorEvent(Errors.AGENT_TOKEN_REQUIRED)), {
    type: 'error',
    error: { type: 'invalid_request_error', code: 'agent_token_required', message: 'Agent mode requires token' },
  });
  t.same(JSON.parse(errorBody(Errors.RATE_LIMITED)), { error: { code: 'rate_limited', message: 'Too many requests' } });
});

t.test("Retry-After lives beside each refusal: the proxy's own state says when to come back", async (t) => {
  for (const err of Object.values(Errors)) {
    if (err.status === 503 || err.code === 'subject_at_capacity') t.equal(err.retryAfter, 5, `${err.code}: 5 s`);
    else t.equal(err.retryAfter, 0, `${err.code}: none (a rate limit computes its own)`);
  }
});
