// A cork for upgrades answered late (CLIENT_AUTH, the fleet), held by a
// loopback HTTP request this thread makes to itself and never answers.
//
// Why (docs/decisions/0003-cork-anchor.md): in the pinned uWS.js build,
// `res.cork(() => res.upgrade())` outside a uWS callback can close the new
// WebSocket right after its 101. The upgrade shrinks the socket in place, so
// HttpResponse::cork does not see that it changed, and then reads the old
// "Connection: close" bits from memory that is no longer an HttpResponse.
// When they happen to be set it sends FIN and closes: the client sees 1006
// just after `open`. uWebSockets has fixed it, but no uWS.js build we can
// install has the fix yet (the record says which commit, and how often the
// close was seen).
//
// Upgrading inside *another* socket's cork never takes that branch: the
// anchor's cork holds the loop's cork buffer, the 101 goes out as direct
// writes, and the check that follows reads the anchor's own, valid state (a
// pending request, so it never closes it). The loopback listener exists only
// until the anchor's request arrives; the path is random per process, and the
// route answers 404 to anyone once the anchor is held. Drop this module when
// the uWS.js pin includes the upstream fix.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { uws } from '../uws';

export class CorkAnchor {
  /** Random per process: the route is on the public app too. */
  readonly path = `/.cork-anchor/${randomBytes(16).toString('hex')}`;
  private app: TemplatedApp | null = null;
  /** The held request; null before start, while it is re-made, and after stop. */
  private res: HttpResponse | null = null;
  private client: Socket | null = null;
  private listenSocket: us_listen_socket | null = null;
  private lastPort = 0;
  private waiting: (() => void) | null = null;
  private starting: Promise<void> = Promise.resolve();
  /** The request was held since the last (re)start: losing it is worth a retry. */
  private anchored = false;
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** Adds the anchor's route to `app`; anyone else asking for it gets `onStray` (a 404). */
  route(app: TemplatedApp, onStray: (res: HttpResponse, req: HttpRequest) => void): void {
    this.app = app;
    app.get(this.path, (res, req) => {
      if (this.waiting === null) {
        onStray(res, req);
        return;
      }
      this.hold(res);
    });
  }

  /** True while the anchor request is held. */
  get held(): boolean {
    return this.res !== null;
  }

  /** The loopback port of the last (re)start (0 if never made); closed once the request is held. */
  get port(): number {
    return this.lastPort;
  }

  /** Makes the loopback request and resolves once uWS holds it (or it cannot be made). */
  start(): Promise<void> {
    const app = this.app;
    if (this.stopped || app === null) return Promise.resolve();
    this.starting = new Promise((resolve) => {
      this.waiting = resolve;
      app.listen('127.0.0.1', 0, (ls) => {
        if (ls === false) {
          this.giveUp('cannot listen on a loopback port');
          return;
        }
        this.listenSocket = ls;
        const port = uws().us_socket_local_port(ls as unknown as us_socket);
        this.lastPort = port;
        const client = connect(port, '127.0.0.1', () => {
          client.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        });
        client.setNoDelay(true);
        // Once held, an error is followed by 'close', and lost() makes it again.
        client.on('error', (err) => {
          if (this.waiting !== null) this.giveUp(err.message);
        });
        client.on('close', () => this.lost());
        this.client = client;
      });
    });
    return this.starting;
  }

  /** Resolves when the current (re)start is over. */
  settled(): Promise<void> {
    return this.starting;
  }

  /**
   * Runs `upgrade` (a late res.upgrade) inside the anchor's cork. Without a
   * held anchor (being re-made, or unavailable) it runs uncorked, never in
   * res's own cork: that is the cork that can close the new WebSocket. An
   * uncorked upgrade writes its 101 directly and checks only res's own, still
   * valid state; uWS.js prints its "must be corked" warning for it.
   */
  corkUpgrade(upgrade: () => void): void {
    if (this.res !== null) this.res.cork(upgrade);
    else upgrade();
  }

  stop(): void {
    this.stopped = true;
    this.closeListener();
    this.client?.destroy();
    this.client = null;
    this.res = null;
  }

  private hold(res: HttpResponse): void {
    res.onAborted(() => {
      this.res = null;
    });
    this.res = res;
    this.anchored = true;
    this.log.debug({ port: this.port }, 'cork anchor held');
    this.closeListener();
    const done = this.waiting;
    this.waiting = null;
    done?.();
  }

  /** The anchor connection ended while the proxy runs: make it again. */
  private lost(): void {
    this.res = null;
    this.client = null;
    if (this.stopped || !this.anchored) return;
    this.anchored = false;
    this.log.warn('cork anchor connection lost; making it again');
    void this.start();
  }

  /** Late upgrades run uncorked (corkUpgrade); the proxy still works. */
  private giveUp(reason: string): void {
    this.closeListener();
    this.log.warn({ reason }, 'cork anchor unavailable: late upgrades run uncorked');
    const done = this.waiting;
    this.waiting = null;
    done?.();
  }

  private closeListener(): void {
    if (this.listenSocket === null) return;
    uws().us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }
}
