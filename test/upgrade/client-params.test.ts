// parseClientParams: both spellings of every parameter, duplicates across
// spellings, the three places a user credential may come from, api-key and
// ticket handling, unknown parameters.
import t from 'tap';
import { Errors } from '../../src/errors';
import {
  acceptRequestId,
  isJwt,
  MAX_UNKNOWN_NAMES,
  parseClientParams,
  type ClientParams,
} from '../../src/upgrade/client-params';

const ALLOWED = ['2026-07-15', '2026-01-01-preview', '2025-10-01'];
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl-_x';

function ok(query: string, headers = { authorization: '', apiKey: '' }): ClientParams {
  const r = parseClientParams(query, ALLOWED, headers);
  if (!r.ok) throw new Error(`expected ok for ${query}: ${r.error.code} (${r.param})`);
  return r.params;
}

function err(query: string, headers = { authorization: '', apiKey: '' }): { code: string; param: string } {
  const r = parseClientParams(query, ALLOWED, headers);
  if (r.ok) throw new Error(`expected an error for ${query}`);
  return { code: r.error.code, param: r.param };
}

// [older spelling, service spelling, field, value]
const SPELLINGS: Array<[string, string, keyof ClientParams, string]> = [
  ['apiVersion', 'api-version', 'apiVersion', '2026-07-15'],
  ['agentId', 'agent-id', 'agentId', 'asst_1'],
  ['agentName', 'agent-name', 'agentName', 'support-bot'],
  ['projectName', 'agent-project-name', 'projectName', 'proj-1'],
  ['agentVersion', 'agent-version', 'agentVersion', '3'],
  ['conversationId', 'conversation-id', 'conversationId', 'conv_1'],
  [
    'agentAuthenticationIdentityClientId',
    'agent-authentication-identity-client-id',
    'agentAuthIdentityClientId',
    '0f8fad5b-d9cb-469f-a165-70867728950e',
  ],
  ['foundryResourceOverride', 'foundry-resource-override', 'foundryResourceOverride', 'other-res'],
  ['clientRequestId', 'client-request-id', 'clientRequestId', '1717171717-abc123'],
];

t.test('both spellings fill the same field; both at once is duplicate_parameter', async (t) => {
  for (const [older, service, field, value] of SPELLINGS) {
    t.equal(ok(`${older}=${value}`)[field], value, older);
    t.equal(ok(`${service}=${value}`)[field], value, service);
    t.same(
      err(`${older}=${value}&${service}=${value}`),
      { code: 'duplicate_parameter', param: service },
      `${older} + ${service}`,
    );
    t.same(
      err(`${service}=${value}&${service}=${value}`),
      { code: 'duplicate_parameter', param: service },
      `${service} twice`,
    );
  }
});

t.test('defaults: everything empty', async (t) => {
  const p = ok('');
  t.equal(p.model, '');
  t.equal(p.transport, '');
  t.equal(p.tokenSource, '');
  t.equal(p.apiKeyIgnored, false);
  t.same(p.unknown, []);
});

t.test('transport: websocket or webrtc, any case', async (t) => {
  t.equal(ok('transport=webrtc').transport, 'webrtc');
  t.equal(ok('transport=WebRTC').transport, 'webrtc');
  t.equal(ok('transport=websocket').transport, 'websocket');
  t.same(err('transport=sip'), { code: 'invalid_parameter', param: 'transport' });
  t.same(err('transport=webrtc&transport=webrtc').code, 'duplicate_parameter');
});

t.test('user credential: token=, authorization=Bearer (either case), or the Authorization header', async (t) => {
  const a = ok(`token=${JWT}`);
  t.equal(a.token, JWT);
  t.equal(a.tokenSource, 'token');
  // The SDK's browser build: URLSearchParams writes the space as '+'.
  const b = ok(`authorization=Bearer+${JWT}`);
  t.equal(b.token, JWT);
  t.equal(b.tokenSource, 'authorization');
  t.equal(ok(`Authorization=Bearer%20${JWT}`).token, JWT, 'the successor spells it capitalised');
  const c = ok('model=m', { authorization: `Bearer ${JWT}`, apiKey: '' });
  t.equal(c.token, JWT);
  t.equal(c.tokenSource, 'header');
  t.same(
    err(`token=${JWT}&authorization=Bearer+${JWT}`).code,
    'duplicate_parameter',
    'two spellings of the credential',
  );
  t.same(err(`token=${JWT}`, { authorization: `Bearer ${JWT}`, apiKey: '' }), {
    code: 'duplicate_parameter',
    param: 'authorization',
  });
  t.same(err(`authorization=${JWT}`), { code: 'invalid_parameter', param: 'authorization' }, 'scheme required');
  t.same(err('authorization=Basic+dXNlcjpwYXNz'), { code: 'invalid_parameter', param: 'authorization' });
  t.same(err('model=m', { authorization: 'Basic dXNlcjpwYXNz', apiKey: '' }), {
    code: 'invalid_parameter',
    param: 'authorization',
  });
  t.same(
    err('authorization=Bearer+a%0d%0ab'),
    { code: 'invalid_parameter', param: 'authorization' },
    'CRLF in the token',
  );
});

t.test('a client api-key is accepted and dropped (query or header); twice is a duplicate', async (t) => {
  const q = ok('api-key=placeholder&model=m');
  t.equal(q.apiKeyIgnored, true);
  t.equal(q.token, '', 'never turned into a credential');
  t.equal(ok('model=m', { authorization: '', apiKey: 'placeholder' }).apiKeyIgnored, true);
  t.same(err('api-key=a&api-key=b').code, 'duplicate_parameter');
  t.same(ok('api-key=x').unknown, [], 'not counted as unknown');
});

t.test('ticket is parsed for CLIENT_AUTH and validated like a JWT', async (t) => {
  t.equal(ok(`ticket=${JWT}`).ticket, JWT);
  t.same(err('ticket=a%20b'), { code: 'invalid_parameter', param: 'ticket' });
  t.same(err(`ticket=${JWT}&ticket=${JWT}`).code, 'duplicate_parameter');
});

t.test('api versions: only the allowlist', async (t) => {
  t.equal(ok('api-version=2026-01-01-preview').apiVersion, '2026-01-01-preview');
  t.same(err('api-version=2025-05-01-preview'), { code: 'unsupported_api_version', param: 'apiVersion' });
  t.same(err('apiVersion=latest'), { code: 'invalid_parameter', param: 'apiVersion' });
});

t.test('unknown parameters: listed (sanitised, bounded) and counted', async (t) => {
  const p = ok('model=m&h-user-agent=x&foo=1&%3Cscript%3E=2');
  t.same(p.unknown, ['h-user-agent', 'foo', '?script?']);
  t.equal(p.unknownCount, 3);
  const many = ok(Array.from({ length: 20 }, (_, i) => `u${i}=1`).join('&'));
  t.equal(many.unknown.length, MAX_UNKNOWN_NAMES);
  t.equal(many.unknownCount, 20);
  t.same(ok(`${'x'.repeat(100)}=1`).unknown, ['(100 characters)'], 'long names are not logged');
  t.same(
    ok(`model=m&${JWT}`).unknown,
    [`(${JWT.length} characters)`],
    'a bare token pasted as a name stays out of the log',
  );
  t.same(ok('abcdef0123456789abcdef0123456789').unknown, ['(32 characters)'], 'so does a bare 32-character key');
});

t.test('bad encodings and oversize queries', async (t) => {
  t.same(err('%E0%A4%A=1'), { code: 'invalid_parameter', param: 'query' });
  t.same(err('model=%E0%A4%A'), { code: 'invalid_parameter', param: 'model' });
  t.same(err(`model=${'a'.repeat(21 * 1024)}`), { code: 'invalid_parameter', param: 'query' });
  t.same(err('client-request-id=a_b'), { code: 'invalid_parameter', param: 'client-request-id' });
  t.equal(Errors.INVALID_PARAMETER.closeCode, 1008);
});

t.test('acceptRequestId keeps plain ids only', async (t) => {
  t.equal(acceptRequestId('1717171717-abc123'), '1717171717-abc123');
  t.equal(acceptRequestId('a b'), '');
  t.equal(acceptRequestId(''), '');
});

t.test('deployment is a spelling of model: the same model twice is fine, two models are refused', async (t) => {
  t.equal(ok('deployment=gpt-realtime-mini').model, 'gpt-realtime-mini');
  t.equal(ok('model=gpt-realtime&deployment=gpt-realtime').model, 'gpt-realtime');
  t.same(err('model=gpt-realtime&deployment=gpt-realtime-mini'), { code: 'duplicate_parameter', param: 'deployment' });
  t.same(err('deployment=a&model=b'), { code: 'duplicate_parameter', param: 'model' });
  t.same(err('deployment=a&deployment=a'), { code: 'duplicate_parameter', param: 'deployment' }, 'a repeat');
  t.same(err('model=a&model=a'), { code: 'duplicate_parameter', param: 'model' });
  t.same(err('deployment='), { code: 'invalid_parameter', param: 'deployment' }, 'never an empty model');
  t.same(err('deployment=a%20b'), { code: 'invalid_parameter', param: 'deployment' });
});

t.test('a bearer value that is not a JWT is dropped, never taken for the user token', async (t) => {
  const sk = ok('model=m', { authorization: 'Bearer sk-test-0123456789', apiKey: '' });
  t.equal(sk.token, '');
  t.equal(sk.tokenSource, '');
  t.equal(sk.bearerDropped, true);
  const q = ok('authorization=Bearer+sk-proj-abc');
  t.equal(q.token, '');
  t.equal(q.bearerDropped, true);
  t.equal(ok('model=m', { authorization: 'Bearer placeholder', apiKey: '' }).bearerDropped, true);
  t.equal(ok('model=m', { authorization: 'Bearer a.b.c', apiKey: '' }).bearerDropped, true, 'dots alone are not a JWT');
  const noAlg = Buffer.from('{"typ":"JWT"}').toString('base64url');
  t.equal(
    ok('', { authorization: `Bearer ${noAlg}.e30.c2ln`, apiKey: '' }).bearerDropped,
    true,
    'a header without alg',
  );
  // The query's own token and a dropped header are not two credentials.
  const both = ok(`token=${JWT}`, { authorization: 'Bearer sk-test', apiKey: '' });
  t.equal(both.token, JWT);
  t.equal(both.bearerDropped, true);
  const jwt = ok('', { authorization: `Bearer ${JWT}`, apiKey: '' });
  t.equal(jwt.token, JWT);
  t.equal(jwt.bearerDropped, false);
  t.equal(isJwt(JWT), true);
  t.equal(isJwt(`${JWT}.x`), false, 'four parts');
  t.equal(
    isJwt('eyJhbGciOiJub25lIn0.e30.'),
    true,
    'an empty signature is still JWT-shaped (CLIENT_AUTH refuses alg none)',
  );
});

t.test('a token= that is not a JWT is dropped like a bearer, never taken for the user token', async (t) => {
  for (const value of ['placeholder', 'sk-proj-abc0123456789', 'a.b.c', '0123456789abcdef0123456789abcdef']) {
    const p = ok(`model=m&token=${value}`);
    t.equal(p.token, '', `${value}: no user token`);
    t.equal(p.tokenSource, '');
    t.equal(p.tokenDropped, true, `${value}: dropped`);
    t.equal(p.bearerDropped, false, 'counted as its own kind');
  }
  const jwt = ok(`token=${JWT}`);
  t.equal(jwt.token, JWT);
  t.equal(jwt.tokenDropped, false);
  // The character and length rules come first: a value that could smuggle something is still refused.
  t.same(err('token=a%0d%0ab'), { code: 'invalid_parameter', param: 'token' });
  t.same(err('token='), { code: 'invalid_parameter', param: 'token' });
  t.same(err('token=placeholder&token=other').code, 'duplicate_parameter');
  // A dropped value names no credential, so the header's JWT is not a second one (either place).
  const header = ok('token=placeholder', { authorization: `Bearer ${JWT}`, apiKey: '' });
  t.equal(header.token, JWT);
  t.equal(header.tokenSource, 'header');
  t.equal(header.tokenDropped, true);
  const bearer = ok('authorization=Bearer+sk-proj-abc', { authorization: `Bearer ${JWT}`, apiKey: '' });
  t.equal(bearer.token, JWT);
  t.equal(bearer.bearerDropped, true);
  // Two spellings in the query are still one parameter said twice, dropped or not.
  t.same(err(`token=placeholder&authorization=Bearer+${JWT}`).code, 'duplicate_parameter');
});

t.test('api versions: an Azure OpenAI version is mapped, a Voice Live version kept, v1 on the GA paths', async (t) => {
  const ALL = [...ALLOWED, 'v1'];
  const parse = (q: string, route: 'voice-live' | 'openai-ga' = 'voice-live', allowed = ALL) => {
    const r = parseClientParams(q, allowed, undefined, route);
    return r.ok ? { v: r.params.apiVersion, client: r.params.clientApiVersion } : { code: r.error.code };
  };
  t.same(parse('api-version=2025-04-01-preview'), { v: '', client: '2025-04-01-preview' }, 'API_VERSION upstream');
  t.same(parse('api-version=2024-10-01-preview'), { v: '', client: '2024-10-01-preview' });
  t.same(parse('api-version=2025-04-01-preview', 'openai-ga'), { v: '', client: '2025-04-01-preview' });
  t.same(parse('api-version=2026-01-01-preview'), { v: '2026-01-01-preview', client: '2026-01-01-preview' });
  t.same(parse('api-version=2099-01-01'), { code: 'unsupported_api_version' }, 'a later date is never swapped');
  t.same(parse('api-version=2024-08-01-preview'), { code: 'unsupported_api_version' }, 'before Azure OpenAI realtime');
  t.same(parse('api-version=2025-01-01-preview'), { v: '', client: '2025-01-01-preview' }, 'in the Azure OpenAI range');
  t.same(
    parse('api-version=2025-05-01-preview'),
    { code: 'unsupported_api_version' },
    'a Voice Live version not allowed',
  );
  t.same(parse(''), { v: '', client: '' });
  t.same(parse('', 'openai-ga'), { v: 'v1', client: '' });
  t.same(parse('api-version=v1'), { v: 'v1', client: 'v1' });
  t.same(parse('', 'openai-ga', ALLOWED), { code: 'unsupported_api_version' }, 'v1 taken off the allowlist');
  t.same(parse('api-version=v2'), { code: 'invalid_parameter' });
});
