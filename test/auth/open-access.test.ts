// CLIENT_AUTH=none on an address beyond loopback: one start-up warning that says
// who can spend the credential and how to close it; none on loopback or with tickets.
import t from 'tap';
import { entryBuilt, startProxyProcess } from '../helpers/spawn-proxy';

const skip = entryBuilt() ? false : 'dist/index.js not built (npm run build)';
const WARNING = 'CLIENT_AUTH=none beyond loopback';
const SECRET = 'ticket-secret-for-tests-0123456789-abcdef';

function warnings(lines: string[]): Array<Record<string, unknown>> {
  return lines.filter((l) => l.includes(WARNING)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('HOST=0.0.0.0 with CLIENT_AUTH=none: warned once, naming the fix', { skip }, async (t) => {
  for (const workers of ['1', '2']) {
    const p = await startProxyProcess(t, 'http://127.0.0.1:9', { HOST: '0.0.0.0', WORKERS: workers });
    await p.child.line('voice-live-proxy listening');
    const w = warnings(p.child.stdout);
    t.equal(w.length, 1, `WORKERS=${workers}: one line`);
    t.ok(w[0]?.level === 'warn' || w[0]?.level === 40, 'at warn');
    t.match(String(w[0]?.msg), /anyone who can reach this port can spend the proxy's Azure credential/);
    t.match(String(w[0]?.msg), /CLIENT_AUTH=ticket and TICKET_SECRET/);
    t.equal(w[0]?.host, '0.0.0.0');
    p.child.proc.kill('SIGKILL');
  }
});

t.test('no warning on loopback, or with tickets', { skip }, async (t) => {
  const loopback = await startProxyProcess(t, 'http://127.0.0.1:9', { HOST: '127.0.0.1' });
  const tickets = await startProxyProcess(t, 'http://127.0.0.1:9', {
    HOST: '0.0.0.0',
    CLIENT_AUTH: 'ticket',
    TICKET_SECRET: SECRET,
  });
  t.same(warnings(loopback.child.stdout), [], 'loopback');
  t.same(warnings(tickets.child.stdout), [], 'CLIENT_AUTH=ticket');
});
