// A local JWKS endpoint (an issuer's /keys) on 127.0.0.1 with an RS256 and an
// ES256 key pair, counting fetches, and able to hold its answer so a test can
// act while a verification waits on it.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export interface JwksServer {
  readonly url: string;
  /** JWKS requests served so far. */
  fetches: number;
  /** While set, requests wait until release() is called. */
  hold: boolean;
  release(): void;
  /** Resolves on the next request received. */
  nextFetch(): Promise<void>;
  sign(alg: 'RS256' | 'ES256', payload: JWTPayload, kid?: string): Promise<string>;
  readonly keys: { RS256: KeyObject; ES256: KeyObject };
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const rs = await generateKeyPair('RS256', { extractable: true });
  const es = await generateKeyPair('ES256', { extractable: true });
  const body = JSON.stringify({
    keys: [
      { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
    ],
  });
  const held: ServerResponse[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((_req, res) => {
    s.fetches++;
    for (const w of waiters.splice(0)) w();
    if (s.hold) held.push(res);
    else answer(res);
  });
  function answer(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: JwksServer = {
    url: `http://127.0.0.1:${port}/keys`,
    fetches: 0,
    hold: false,
    keys: { RS256: rs.privateKey as unknown as KeyObject, ES256: es.privateKey as unknown as KeyObject },
    release() {
      s.hold = false;
      for (const res of held.splice(0)) answer(res);
    },
    nextFetch() {
      return new Promise((resolve) => waiters.push(resolve));
    },
    sign(alg, payload, kid = alg === 'RS256' ? 'rs-1' : 'es-1') {
      return new SignJWT(payload)
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .sign(alg === 'RS256' ? rs.privateKey : es.privateKey);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return s;
}
