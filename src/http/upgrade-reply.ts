// The answer to one upgrade request: a 101 or an HTTP refusal, given now in
// the handler or, after defer(), later (uWS UpgradeAsync.js). A deferred
// reply registers onAborted at once (a response whose client left must never
// be touched) and corks its upgrade, which then runs outside a uWS callback,
// in the cork anchor's cork when there is one (else uncorked), never in its
// own (cork-anchor.ts says why; see docs/decisions/0003-cork-anchor.md). The
// request's fields were copied out by the caller: HttpRequest is
// stack-allocated.
import type { HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { CorkAnchor } from './cork-anchor';
import type { ProxyError } from '../errors';
import { sendError, type ResponseContext } from './respond';

export class UpgradeReply<UserData> {
  /** The client left before the answer (deferred replies only). */
  aborted = false;
  /** null while the answer is given in the handler. */
  private anchor: CorkAnchor | null = null;

  constructor(
    private readonly res: HttpResponse,
    private readonly key: string,
    private readonly protocol: string,
    private readonly extensions: string,
    private readonly context: us_socket_context_t,
    readonly ctx: ResponseContext,
  ) {}

  /** Before the handler returns without answering: from now on the client may leave, and onAbort says so. */
  defer(anchor: CorkAnchor, onAbort: () => void): void {
    this.anchor = anchor;
    this.res.onAborted(() => {
      this.aborted = true;
      onAbort();
    });
  }

  /** Upgrade; false when the client already left. */
  upgrade(userData: UserData): boolean {
    if (this.aborted) return false;
    if (this.anchor === null) {
      this.res.upgrade(userData, this.key, this.protocol, this.extensions, this.context);
    } else {
      this.anchor.corkUpgrade(() => this.res.upgrade(userData, this.key, this.protocol, this.extensions, this.context));
    }
    return true;
  }

  /** Answer with an HTTP refusal (corked by sendError); false when the client already left. */
  refuse(err: ProxyError, retryAfterSeconds = err.retryAfter): boolean {
    if (this.aborted) return false;
    sendError(this.res, err, this.ctx, retryAfterSeconds);
    return true;
  }
}
