// The shape of the proxy's validated configuration. Built once at start by
// load.ts, frozen, and handed as is to every thread (cluster/worker.ts).
import type { TrustProxy } from '../admission/trust-proxy';

export type Env = Record<string, string | undefined>;

/** A wider IPv6 prefix limited in aggregate, with its multiple of one /64's limits. */
export interface PrefixLimit {
  readonly bits: number;
  readonly factor: number;
}

export type ClientAuthMode = 'none' | 'ticket' | 'token';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** TLS_CERT_FILE / TLS_KEY_FILE: both set or both '' (plain HTTP). */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** '' = the key is not encrypted. */
  readonly tlsPassphraseFile: string;
  readonly tlsReloadIntervalMs: number;
  readonly apiVersion: string;
  readonly allowedApiVersions: readonly string[];
  readonly defaultModel: string;
  /** Models a standard session may ask for (DEFAULT_MODEL always among them); ['*'] = any. */
  readonly allowedModels: readonly string[];
  readonly azureResource: string;
  /** Upstream origin, e.g. `wss://myres.services.ai.azure.com` (no path). */
  readonly upstreamOrigin: string;
  readonly azureSpeechKey: string;
  /** The API version for the WebRTC control channel when the client names none. */
  readonly webrtcApiVersion: string;
  /** Server-side agent default (AGENT_NAME / FOUNDRY_AGENT_NAME); '' = none. */
  readonly agentName: string;
  readonly agentProjectName: string;
  readonly agentVersion: string;
  /** Scope of the proxy's own Entra ID token (keyless upstream). */
  readonly azureTokenScope: string;
  /** A request for that token not answered by then is abandoned (the identity library sets no deadline). */
  readonly azureTokenTimeoutMs: number;
  readonly allowedOrigins: readonly string[];
  readonly allowAnyOrigin: boolean;
  readonly allowNoOrigin: boolean;
  readonly rateLimitWindowMs: number;
  readonly rateLimitMaxRequests: number;
  readonly rateLimitMaxKeys: number;
  /** WebSocket upgrades spend their own, smaller bucket. */
  readonly upgradeRateLimitWindowMs: number;
  readonly upgradeRateLimitMaxRequests: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** TRUST_PROXY, parsed (mode 'none' = forwarded headers ignored); with a hop count or `true`, also where
   *  the proxies in front connect from (TRUST_PROXY_CIDRS). */
  readonly trustProxy: TrustProxy;
  /** IPv6 prefixes wider than /64 limited in aggregate (IPV6_PREFIX_LIMITS). */
  readonly ipv6PrefixLimits: readonly PrefixLimit[];
  readonly maxMessageBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly maxSessionMs: number;
  readonly idleTimeoutMs: number;
  /** Close a session whose browser sent no frame for this long (0 = off). */
  readonly clientIdleTimeoutMs: number;
  readonly pendingMaxFrames: number;
  readonly pendingMaxBytes: number;
  readonly clientHighWaterBytes: number;
  readonly slowPeerTimeoutMs: number;
  readonly upstreamMaxBufferedBytes: number;
  /** Process-wide (all workers) bytes held for slow peers and unfinished upstream messages; see src/relay/buffer-budget.ts. */
  readonly bufferBudgetBytes: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: string;
  readonly logPretty: boolean;
  readonly metricsToken: string;
  readonly appInsightsConnectionString: string;
  readonly workers: number;
  readonly demo: boolean;
  /** STRICT_CONFIG: unknown variables that look like ours stop the start (config/unknown.ts). */
  readonly strictConfig: boolean;
  /** UWS_HTTP_MAX_HEADERS_SIZE: handed to uWS when the addon loads (uws.ts). */
  readonly uwsMaxHeadersSize: number;
  /** Who may connect (docs/contract.md §4): none, a backend-minted ticket, or a verified user token. */
  readonly clientAuth: ClientAuthMode;
  /** HS256 key for tickets ('' = not accepted). */
  readonly ticketSecret: string;
  /** JWKS for RS256/ES256 tickets ('' = not accepted). */
  readonly ticketJwksUrl: string;
  readonly ticketAudience: string;
  readonly ticketMaxTtlS: number;
  /** Refuse tickets without `jti` (single use is then not enforced). */
  readonly ticketRequireJti: boolean;
  readonly tokenJwksUrl: string;
  readonly tokenIssuers: readonly string[];
  readonly tokenAudiences: readonly string[];
  /** Concurrent sessions per verified subject; 0 = no cap. */
  readonly maxSessionsPerSubject: number;
  /** Fleet (docs/contract.md §6): '' = no Redis, every limit per process as before. */
  readonly redisUrl: string;
  /** FLEET_MAX_SESSIONS: sessions across every replica; 0 = no fleet cap. */
  readonly fleetMaxSessions: number;
  readonly fleetLeaseMs: number;
  readonly fleetOnRedisDown: 'open' | 'closed';
  readonly fleetRedisTimeoutMs: number;
  readonly fleetKeyPrefix: string;
  /** Quotas per caller per rolling day (usage/quotas.ts); 0 = off. */
  readonly quotaAudioMinutesPerDay: number;
  readonly quotaTokensPerDay: number;
  /** How long a response in progress may finish once its session crossed a quota. */
  readonly quotaGraceMs: number;
  /** With REDIS_URL: how often live usage is added to the fleet's day totals. */
  readonly quotaFlushMs: number;
}
