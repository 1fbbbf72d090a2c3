// A local stand-in for the managed-identity endpoint that App Service and
// Container Apps expose (IDENTITY_ENDPOINT + IDENTITY_HEADER): it answers the
// request @azure/identity (through MSAL's AppService source) sends, so the
// whole library path runs with no Azure. Request: GET
// ?api-version=2019-08-01&resource=<scope without /.default>, header
// x-identity-header. Response: access_token, expires_on (epoch seconds).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const IDENTITY_HEADER = 'identity-header-secret-7d1f';

export interface IdentityRequest {
  resource: string;
  header: string;
  /** Answer it: a token living `lifeS` seconds, or an HTTP error status. Returns the expires_on sent (0 for an error). */
  respond(answer: { token: string; lifeS?: number } | { status: number }): number;
}

export interface IdentityEndpoint {
  readonly url: string;
  readonly requests: IdentityRequest[];
  /** Resolves with the next request (already received or not). Leave unanswered to make callers wait. */
  nextRequest(): Promise<IdentityRequest>;
  /** When set, every request is answered at once with it. */
  auto: { token: string; lifeS?: number } | { status: number } | null;
  /**
   * Point @azure/identity at this endpoint (process.env, read when the
   * credential is created). MSAL remembers the endpoint per process, so one
   * test file uses one endpoint and reset()s it between tests.
   */
  install(): void;
  /** Forget requests (answering none still pending) and stop auto-answering. */
  reset(): void;
  close(): Promise<void>;
}

function answer(
  res: ServerResponse,
  resource: string,
  a: { token: string; lifeS?: number } | { status: number },
): number {
  if ('status' in a) {
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_request', error_description: 'identity refused' }));
    return 0;
  }
  const expiresOn = Math.floor(Date.now() / 1000) + (a.lifeS ?? 3600);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      access_token: a.token,
      token_type: 'Bearer',
      // The real endpoint echoes the resource asked for, and MSAL files the token
      // in its cache under it: a fixed value here made every lookup miss.
      resource,
      expires_on: String(expiresOn),
    }),
  );
  return expiresOn;
}

export async function startIdentityEndpoint(): Promise<IdentityEndpoint> {
  const requests: IdentityRequest[] = [];
  let taken = 0;
  const waiters: Array<(r: IdentityRequest) => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const resource = u.searchParams.get('resource') ?? '';
    const r: IdentityRequest = {
      resource,
      header: String(req.headers['x-identity-header'] ?? ''),
      respond: (a) => answer(res, resource, a),
    };
    requests.push(r);
    if (ep.auto !== null) r.respond(ep.auto);
    const w = waiters.shift();
    if (w !== undefined) {
      taken++;
      w(r);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const ep: IdentityEndpoint = {
    url: `http://127.0.0.1:${port}/msi/token`,
    requests,
    auto: null,
    nextRequest() {
      if (taken < requests.length) return Promise.resolve(requests[taken++]);
      return new Promise((resolve) => waiters.push(resolve));
    },
    reset() {
      requests.length = 0;
      taken = 0;
      waiters.length = 0;
      ep.auto = null;
    },
    install() {
      process.env.IDENTITY_ENDPOINT = ep.url;
      process.env.IDENTITY_HEADER = IDENTITY_HEADER;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return ep;
}
