// Who may connect (docs/contract.md §4, CLIENT_AUTH): one async step between the
// synchronous admission checks and the upgrade. It takes what the upgrade
// handler copied out of the request and answers with a verified subject or a
// reason to refuse; it never sees a uWS object, so it composes with any other
// async admission step (upgrade/pipeline.ts awaits each in turn).
import type { Config } from '../config';
import { AUTH_FIELDS } from '../observability/metric-table';
import type { Metrics } from '../observability/metrics';
import type { AuthOutcome } from './outcome';
import { ReplayCache } from './replay-cache';
import { TicketVerifier } from './ticket-verifier';
import { TokenVerifier } from './token-verifier';

/** Copied from the request synchronously, before any await. */
export interface CallerCredentials {
  /** `?ticket=` ('' when absent; null when repeated or malformed). */
  readonly ticket: string | null;
  /** The user token that would go upstream as Bearer ('' when none). */
  readonly bearer: string;
  readonly origin: string;
}

type AuthConfig = Pick<
  Config,
  | 'clientAuth'
  | 'ticketSecret'
  | 'ticketJwksUrl'
  | 'ticketAudience'
  | 'ticketMaxTtlS'
  | 'ticketRequireJti'
  | 'tokenJwksUrl'
  | 'tokenIssuers'
  | 'tokenAudiences'
>;

export class CallerAuth {
  readonly mode: 'ticket' | 'token';
  private readonly tickets: TicketVerifier | null;
  private readonly tokens: TokenVerifier | null;

  /** @param replays the jti table, shared by every worker thread (ReplayCache.createShared()). */
  constructor(
    cfg: AuthConfig,
    private readonly metrics: Metrics,
    replays?: SharedArrayBuffer,
  ) {
    if (cfg.clientAuth === 'none') throw new RangeError('CallerAuth: CLIENT_AUTH is none');
    this.mode = cfg.clientAuth;
    this.tickets = this.mode === 'ticket' ? new TicketVerifier(cfg, new ReplayCache(replays)) : null;
    this.tokens = this.mode === 'token' ? new TokenVerifier(cfg) : null;
  }

  async verify(c: CallerCredentials): Promise<AuthOutcome> {
    let outcome: AuthOutcome;
    if (this.tickets !== null) {
      outcome =
        c.ticket === null
          ? { ok: false, reason: 'invalid', cause: 'ticket parameter' }
          : await this.tickets.verify(c.ticket, c.origin);
    } else {
      outcome = await this.tokens!.verify(c.bearer);
    }
    // One series per outcome in the metric table (auth_verifications_total).
    this.metrics[AUTH_FIELDS[outcome.ok ? 'ok' : outcome.reason]]++;
    return outcome;
  }
}
