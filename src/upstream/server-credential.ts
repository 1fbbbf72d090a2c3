// The proxy's own Entra ID identity (docs/contract.md §2, keyless): when a session brings
// no token and no AZURE_SPEECH_KEY is set, the upstream leg is authorized with
// a token from DefaultAzureCredential (managed identity in Azure, `az login`
// on a laptop). One token serves every session of this thread; it is renewed
// in the background before it expires, and sessions that arrive while it is
// being fetched share that one request. A failure is the session's (1011),
// never the process's: the next session asks again, and so does the
// background, with backoff, until a token comes (renewal never just stops).
//
// Every request is bounded by AZURE_TOKEN_TIMEOUT_MS: neither @azure/identity
// nor MSAL puts a deadline on the identity endpoint (and ManagedIdentityCredential
// passes no abort signal down to MSAL), so a request the endpoint accepts and
// never answers would otherwise stay the shared in-flight request forever, and
// every later session would wait on it until the cached token ran out.
import type { AccessToken, TokenCredential } from '@azure/identity';

export interface ServerCredentialMetrics {
  serverTokenOk: number;
  serverTokenErrors: number;
  serverTokenTimeouts: number;
  /** When the token in use expires, Unix seconds (a gauge operators alert on). */
  serverTokenExpiresAt: number;
}

export interface CredentialLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * A token is renewed this long before it expires (Entra tokens live 60-90 min).
 * Under MSAL's own margin on purpose: MSAL hands back its cached token until 300 s
 * before expiry (DEFAULT_TOKEN_RENEWAL_OFFSET_SEC), and ManagedIdentityCredential
 * cannot force a refresh, so asking 5 minutes early got the same token again.
 */
export const REFRESH_MARGIN_MS = 4 * 60_000;
/** A token closer than this to expiry (or a quarter of its life) is not handed to a new session. */
const USABLE_MARGIN_MS = 60_000;
/** After a failed renewal, try again this often while the old token lasts (sooner for short tokens). */
const RETRY_MS = 15_000;
/** With no usable token left, retries back off from RETRY_MS to this. */
const MAX_RETRY_MS = 5 * 60_000;
/** No timer shorter than this: a token that is already due is not asked for in a tight loop. */
const MIN_DELAY_MS = 1000;
/** Longest error text logged: the identity library's messages run to kilobytes. */
const MAX_LOGGED_ERROR = 600;

/** A token request the identity endpoint did not answer within AZURE_TOKEN_TIMEOUT_MS. */
export class TokenTimeoutError extends Error {
  override readonly name = 'TokenTimeoutError';
}

export class ServerCredential {
  private header = '';
  /** When a new session stops being given the cached token (a margin before expiry). */
  private usableUntil = 0;
  private inflight: Promise<string> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private credential: TokenCredential | null;
  /** Failed requests since the last token: the backoff's exponent. */
  private failures = 0;
  private closed = false;

  /**
   * @param timeoutMs how long one token request may go unanswered (AZURE_TOKEN_TIMEOUT_MS)
   * @param credential for tests and embedders; by default DefaultAzureCredential,
   * created on first use (it reads IDENTITY_ENDPOINT and friends at that point,
   * and a proxy whose clients all bring tokens never loads it).
   */
  constructor(
    readonly scope: string,
    private readonly timeoutMs: number,
    private readonly log: CredentialLog,
    private readonly metrics: ServerCredentialMetrics,
    credential?: TokenCredential,
  ) {
    this.credential = credential ?? null;
  }

  /** `Bearer <token>` when a usable token is cached, else ''. Synchronous: the common case costs nothing. */
  current(): string {
    return this.header !== '' && Date.now() < this.usableUntil ? this.header : '';
  }

  /** `Bearer <token>`: the cached one, or the one being fetched (shared by every caller). */
  get(): Promise<string> {
    const now = this.current();
    if (now !== '') return Promise.resolve(now);
    return this.fetch();
  }

  /** Stop background renewal (shutdown). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fetch(): Promise<string> {
    this.inflight ??= this.request().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async request(): Promise<string> {
    const started = Date.now();
    try {
      this.credential ??= await defaultCredential();
      const token = await withDeadline(this.credential.getToken(this.scope), this.timeoutMs);
      if (token === null || token.token === '') throw new Error('the credential returned no token');
      const life = token.expiresOnTimestamp - Date.now();
      // Clock skew between this host and the identity endpoint can do this; such
      // a token would only earn the session a 401 upstream.
      if (!(life > 0))
        throw new Error(`the credential returned a token that expired ${Math.round(-life / 1000)} s ago`);
      const previous = this.header;
      this.header = `Bearer ${token.token}`;
      this.usableUntil = token.expiresOnTimestamp - Math.min(USABLE_MARGIN_MS, life / 4);
      this.failures = 0;
      this.metrics.serverTokenOk++;
      this.metrics.serverTokenExpiresAt = token.expiresOnTimestamp / 1000;
      this.log.info(
        {
          scope: this.scope,
          expiresAt: new Date(token.expiresOnTimestamp).toISOString(),
          fetchMs: Date.now() - started,
        },
        outcomeText(previous, this.header),
      );
      this.schedule(refreshAt(token.expiresOnTimestamp, token.refreshAfterTimestamp));
      return this.header;
    } catch (err) {
      if (err instanceof TokenTimeoutError) this.metrics.serverTokenTimeouts++;
      else this.metrics.serverTokenErrors++;
      this.failures++;
      const retryMs = this.retryDelay();
      // The library's message names the credentials it tried and why each
      // failed; it carries no secret (the identity header is never echoed).
      this.log.warn(
        { scope: this.scope, err: errorText(err), fetchMs: Date.now() - started, retryMs },
        'server identity token failed',
      );
      this.schedule(Date.now() + retryMs);
      throw err;
    }
  }

  /** While the cached token works, retry steadily inside the time it has left; once it is gone, back off. */
  private retryDelay(): number {
    const left = this.header === '' ? 0 : this.usableUntil - Date.now();
    if (left > 0) return Math.max(MIN_DELAY_MS, Math.round(Math.min(RETRY_MS, left / 2)));
    return Math.min(RETRY_MS * 2 ** Math.min(this.failures - 1, 5), MAX_RETRY_MS);
  }

  private schedule(at: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    // unref: a pending renewal must not keep a draining process alive.
    this.timer = setTimeout(renew, Math.max(MIN_DELAY_MS, at - Date.now()), this);
    this.timer.unref();
  }

  /** Background renewal: failures are logged, counted and rescheduled in request(). */
  renew(): void {
    this.timer = null;
    this.fetch().catch(ignore);
  }
}

function renew(c: ServerCredential): void {
  c.renew();
}

function ignore(): void {
  // Already logged and counted.
}

/**
 * The token, or a TokenTimeoutError after `ms`. The abandoned request is left to
 * settle on its own (nothing can cancel it); what it brings is ignored here, and a
 * token it brings lands in MSAL's cache, where the next request finds it.
 */
function withDeadline(p: Promise<AccessToken | null>, ms: number): Promise<AccessToken | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenTimeoutError(`the identity endpoint did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  p.catch(ignore);
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Renew at the library's hint when it gives one, else a margin before expiry (half the life for short tokens). */
export function refreshAt(expiresOn: number, refreshAfter: number | undefined, now = Date.now()): number {
  if (refreshAfter !== undefined && refreshAfter > now && refreshAfter < expiresOn) return refreshAfter;
  const life = expiresOn - now;
  return now + (life > 2 * REFRESH_MARGIN_MS ? life - REFRESH_MARGIN_MS : life / 2);
}

/** What a successful request did; the library may hand back the token it already gave (from its cache). */
function outcomeText(previous: string, header: string): string {
  if (previous === '') return 'server identity token acquired';
  return previous === header ? 'server identity token unchanged' : 'server identity token renewed';
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_LOGGED_ERROR ? `${text.slice(0, MAX_LOGGED_ERROR)}...` : text;
}

/** Loaded only when the keyless path is used: @azure/identity is a large module graph. */
async function defaultCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}
