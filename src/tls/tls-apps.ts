// TLS on the listening port, and a certificate swap that drops no session.
//
// uWS loads a certificate only when an SSLApp is made, so a new pair is a new
// SSLApp with the same routes. It listens on the same port beside the current
// one (SO_REUSEPORT, which uWS sets unless told otherwise), then the current
// listening socket is closed: new connections reach the new app, and the
// previous app is kept, not closed, so every socket it holds (live sessions,
// keep-alive requests) goes on with the certificate it was opened with.
// uWS's child apps (one listening App handing sockets to an SSLApp) would
// keep one listening socket, but uWS.js 20.51 overruns the heap adopting a
// socket into an SSLApp. Why this way, and what was measured:
// docs/decisions/0011-tls-certificate-swap.md.
import type { AppOptions, TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { LISTEN_SHARED, listenOn, uws } from '../uws';
import { readCertificatePair, stillHolds, TlsFileError, type CertificatePair, type TlsFiles } from './certificate-pair';

export interface LoadedPair {
  readonly app: TemplatedApp;
  readonly pair: CertificatePair;
}

/** Adds the proxy's routes to an app (server.ts); runs once per SSLApp. */
export type RegisterRoutes = (app: TemplatedApp) => void;

/** A file replaced again while being loaded is read again, this many times at most. */
const LOAD_ATTEMPTS = 3;
/**
 * TLS 1.2 suites: forward secrecy and AEAD only (Mozilla's "intermediate" list without DHE, which
 * BoringSSL lacks). BoringSSL's default also takes RSA key exchange and CBC with SHA-1. TLS 1.3's
 * suites are fixed, and uSockets allows nothing below 1.2.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
/**
 * Reads and checks the pair, and loads it into a new SSLApp carrying `register`'s
 * routes. Throws TlsFileError naming the variable.
 */
export function loadSslApp(files: TlsFiles, register: RegisterRoutes, nowMs = Date.now()): LoadedPair {
  for (let attempt = 1; ; attempt++) {
    const pair = readCertificatePair(files, nowMs);
    const options: AppOptions = {
      cert_file_name: files.certFile,
      key_file_name: files.keyFile,
      ssl_ciphers: TLS12_CIPHERS,
    };
    if (pair.passphrase !== '') options.passphrase = pair.passphrase;
    let app: TemplatedApp | null = null;
    try {
      app = uws().SSLApp(options);
    } catch {
      // uWS says only "App construction failed".
      if (stillHolds(pair) || attempt === LOAD_ATTEMPTS) {
        throw new TlsFileError(
          'TLS_CERT_FILE',
          `uWebSockets.js could not load ${files.certFile} with ${files.keyFile} (a key or PEM form BoringSSL does not take)`,
        );
      }
    }
    // uWS read the files itself, after the checks: a pair replaced in between may not be the one checked.
    if (app !== null && stillHolds(pair)) {
      register(app);
      return { app, pair };
    }
    app?.close();
    if (attempt === LOAD_ATTEMPTS) {
      throw new TlsFileError(
        'TLS_CERT_FILE',
        `${files.certFile} and ${files.keyFile} kept changing while being loaded`,
      );
    }
  }
}

/** The SSLApp that listens, and the earlier ones still serving their sockets. */
export class TlsApps {
  private current: LoadedPair;
  private listenSocket: us_listen_socket | null = null;
  private host = '';
  private port = 0;
  /** SSLApps of earlier pairs, still serving their sockets; closed at shutdown. */
  private readonly retired: TemplatedApp[] = [];

  constructor(first: LoadedPair) {
    this.current = first;
  }

  /** The app that listens first (lifecycle.ts). */
  get app(): TemplatedApp {
    return this.current.app;
  }

  get pair(): CertificatePair {
    return this.current.pair;
  }

  /** SSLApps made so far, the current one included (each holds about 50 KB that uWS.js never frees). */
  get apps(): number {
    return this.retired.length + 1;
  }

  /** The port is open: later swaps listen beside this socket, on its port. */
  listening(host: string, listenSocket: us_listen_socket): void {
    this.host = host;
    this.listenSocket = listenSocket;
    this.port = uws().us_socket_local_port(listenSocket as unknown as us_socket);
  }

  /**
   * New connections get `next`; connections made before keep their app and
   * certificate. Throws (and closes `next`) when the port cannot be joined.
   */
  swap(next: LoadedPair): void {
    const before = this.listenSocket;
    if (before === null) throw new Error('the port is not open yet');
    let joined: us_listen_socket | false = false;
    listenOn(next.app, this.host, this.port, LISTEN_SHARED, (ls) => {
      joined = ls;
    });
    if (joined === false) {
      next.app.close();
      throw new Error(`cannot listen on ${this.host}:${this.port} beside the current socket for the new certificate`);
    }
    // Both sockets listen for this instant; from here the kernel gives every new connection to `next`.
    uws().us_listen_socket_close(before);
    this.listenSocket = joined;
    this.retired.push(this.current.app);
    this.current = next;
  }

  /** Closes the listening socket and every socket of every app. */
  close(): void {
    if (this.listenSocket !== null) uws().us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    this.current.app.close();
    for (const app of this.retired) app.close();
  }
}
