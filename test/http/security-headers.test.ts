import t from 'tap';
import {
  CORS_PREFLIGHT_HEADERS,
  CSP_API,
  CSP_DEMO,
  HSTS,
  corsHeaders,
  securityHeaders,
  writeCorsHeaders,
  writeSecurityHeaders,
} from '../../src/http/security-headers';

function recorder(): { res: { writeHeader(k: string, v: string): unknown }; headers: [string, string][] } {
  const headers: [string, string][] = [];
  return { headers, res: { writeHeader: (k: string, v: string) => headers.push([k, v]) } };
}

t.test('every response: the base set', async (t) => {
  const { res, headers } = recorder();
  writeSecurityHeaders(res, false);
  t.same(headers, [
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
  ]);
});

t.test('HSTS only behind TLS', async (t) => {
  const { res, headers } = recorder();
  writeSecurityHeaders(res, true, 'api');
  t.same(headers.at(-1), ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains']);
  t.equal(headers.length, 6);
  t.notOk(securityHeaders(false).includes('Strict-Transport-Security'));
  t.ok(securityHeaders(true).includes(HSTS));
});

t.test('demo CSP', async (t) => {
  const { res, headers } = recorder();
  writeSecurityHeaders(res, false, 'demo');
  const csp = headers.find(([k]) => k === 'Content-Security-Policy');
  t.same(csp, ['Content-Security-Policy', CSP_DEMO]);
  t.match(
    CSP_DEMO,
    "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; script-src 'self'; style-src 'self'",
  );
  t.ok(securityHeaders(true, 'demo').includes(HSTS));
  t.equal(securityHeaders(false, 'api')[7], CSP_API);
});

t.test('precomputed: the same frozen arrays every time', async (t) => {
  for (const tls of [false, true]) {
    for (const csp of ['api', 'demo'] as const) {
      const h = securityHeaders(tls, csp);
      t.equal(h, securityHeaders(tls, csp));
      t.ok(Object.isFrozen(h));
      t.equal(h.length % 2, 0);
    }
  }
});

t.test('CORS: reflected only for an allowed origin', async (t) => {
  t.same(corsHeaders('https://app.example', true), [
    'Access-Control-Allow-Origin',
    'https://app.example',
    'Vary',
    'Origin',
  ]);
  t.same(corsHeaders('https://evil.example', false), []);
  t.same(corsHeaders('', true), [], 'no Origin, no CORS headers');
  t.equal(corsHeaders('x', false), corsHeaders('y', false), 'the refusal is one shared empty array');

  const a = recorder();
  writeCorsHeaders(a.res, 'https://app.example', true);
  t.same(a.headers, [
    ['Access-Control-Allow-Origin', 'https://app.example'],
    ['Vary', 'Origin'],
  ]);
  const b = recorder();
  writeCorsHeaders(b.res, 'https://evil.example', false, true);
  t.same(b.headers, [], 'refused preflight gets nothing');
  const c = recorder();
  writeCorsHeaders(c.res, '', true, true);
  t.same(c.headers, []);
});

t.test('CORS preflight set', async (t) => {
  const { res, headers } = recorder();
  writeCorsHeaders(res, 'https://app.example', true, true);
  t.same(headers, [
    ['Access-Control-Allow-Origin', 'https://app.example'],
    ['Vary', 'Origin'],
    ['Access-Control-Allow-Methods', 'GET, OPTIONS'],
    ['Access-Control-Allow-Headers', 'Authorization, Content-Type, x-ms-client-request-id'],
    ['Access-Control-Max-Age', '600'],
  ]);
  t.ok(Object.isFrozen(CORS_PREFLIGHT_HEADERS));
});
