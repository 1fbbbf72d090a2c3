// An upgrade answered later, after an await (uWS UpgradeAsync.js): the
// request's fields were copied out synchronously by the caller (HttpRequest
// is stack-allocated), onAborted is registered at once (a response whose
// client left must never be touched), and the upgrade is corked because it
// now runs outside a uWS callback: in the cork anchor's cork when there is
// one, never in its own (cork-anchor.ts says why).
import type { HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { CorkAnchor } from './cork-anchor';
import type { ProxyError } from '../errors';
import { sendError, type ResponseContext } from './respond';

export class DeferredUpgrade<UserData> {
  aborted = false;

  constructor(
    private readonly res: HttpResponse,
    private readonly key: string,
    private readonly protocol: string,
    private readonly extensions: string,
    private readonly context: us_socket_context_t,
    readonly ctx: ResponseContext,
    private readonly anchor: CorkAnchor,
    onAbort: () => void,
  ) {
    res.onAborted(() => {
      this.aborted = true;
      onAbort();
    });
  }

  /** Upgrade now; false when the client already left. */
  upgrade(userData: UserData): boolean {
    if (this.aborted) return false;
    this.anchor.corkUpgrade(this.res, () =>
      this.res.upgrade(userData, this.key, this.protocol, this.extensions, this.context),
    );
    return true;
  }

  /** Answer with an HTTP refusal (corked by sendError); false when the client already left. */
  refuse(err: ProxyError, retryAfterSeconds = 0): boolean {
    if (this.aborted) return false;
    sendError(this.res, err, this.ctx, retryAfterSeconds);
    return true;
  }
}
