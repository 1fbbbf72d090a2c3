// Environment -> one frozen Config. Every variable is read once, through its
// row in schema.ts; what one variable means for another (the wildcard origin
// and CLIENT_AUTH, an agent and its project, the buffers and the largest
// message) is the explicit code below the reads.
import { autoWorkers } from '../cluster/cpu-quota';
import { containerMemoryLimit, defaultBufferBudget } from '../memory-limit';
import { API_VERSION_RE, compareApiVersions, MIN_WEBRTC_API_VERSION } from './api-versions';
import { jwksUrl, parseOrigin, prefixLimits, redisUrl, trustProxy, upstreamOrigin } from './parsers';
import { SCHEMA } from './schema';
import { EnvReader } from './spec';
import type { ClientAuthMode, Config, Env } from './types';

/** HS256 keys shorter than the hash output are refused (RFC 7518 3.2). */
const MIN_TICKET_SECRET_BYTES = 32;
/** Metrics are the proxy's load and refusals: a token, when used, must not be guessable. */
const MIN_METRICS_TOKEN = 32;

/**
 * Read but not ours: NODE_ENV=production turns STRICT_CONFIG on by default
 * (the STRICT_CONFIG row documents it). Nothing else outside the schema is read.
 */
export const PLATFORM_READS: readonly string[] = ['NODE_ENV'];

export function loadConfig(env: Env): Config {
  const r = new EnvReader(env, SCHEMA);
  const cfg = {
    port: r.int('PORT'),
    host: r.str('HOST'),
    ...tls(r),
    ...upstream(r),
    ...admission(r),
    ...relayLimits(r),
    ...operations(r, env.NODE_ENV),
    ...auth(r),
    ...fleet(r),
    quotaAudioMinutesPerDay: r.int('QUOTA_AUDIO_MINUTES_PER_DAY'),
    quotaTokensPerDay: r.int('QUOTA_TOKENS_PER_DAY'),
    quotaGraceMs: r.int('QUOTA_GRACE_MS'),
    quotaFlushMs: r.int('QUOTA_FLUSH_MS'),
  };
  r.assertAllRead();
  // Any web page could then spend the server's credential (AZURE_SPEECH_KEY,
  // or without it the proxy's own identity: keyless), and nothing proves who
  // is calling: refuse unless the operator says so.
  if (cfg.allowAnyOrigin && cfg.clientAuth === 'none' && !cfg.allowAnonymousWildcard) {
    r.fail(
      'ALLOWED_ORIGINS',
      `exact origins while CLIENT_AUTH=none (any page could spend the ${cfg.azureSpeechKey === '' ? "proxy's own identity" : 'key'}; ` +
        'set ALLOW_ANONYMOUS_WILDCARD=true to accept that)',
      '*',
    );
  }
  if (cfg.maxSessionsPerSubject > 0 && cfg.clientAuth === 'none') {
    r.fail(
      'MAX_SESSIONS_PER_SUBJECT',
      '0 unless CLIENT_AUTH is ticket or token (there is no verified subject)',
      String(cfg.maxSessionsPerSubject),
    );
  }
  // The override is a reading of ALLOWED_ORIGINS, not a setting the proxy keeps.
  const { allowAnonymousWildcard: _checked, ...config } = cfg;
  return Object.freeze(config);
}

/** The listening port's own certificate: both files or neither (the files are checked at start, tls/). */
function tls(r: EnvReader) {
  const tlsCertFile = r.str('TLS_CERT_FILE');
  const tlsKeyFile = r.str('TLS_KEY_FILE');
  const tlsPassphraseFile = r.str('TLS_PASSPHRASE_FILE');
  if (tlsCertFile !== '' && tlsKeyFile === '')
    r.fail('TLS_KEY_FILE', 'a PEM key file when TLS_CERT_FILE is set', undefined);
  if (tlsKeyFile !== '' && tlsCertFile === '')
    r.fail('TLS_CERT_FILE', 'a PEM certificate file when TLS_KEY_FILE is set', undefined);
  if (tlsPassphraseFile !== '' && tlsKeyFile === '')
    r.fail('TLS_KEY_FILE', 'a PEM key file when TLS_PASSPHRASE_FILE is set', undefined);
  return { tlsCertFile, tlsKeyFile, tlsPassphraseFile, tlsReloadIntervalMs: r.int('TLS_RELOAD_INTERVAL_MS') };
}

function upstream(r: EnvReader) {
  const resource = r.str('AZURE_AI_FOUNDRY_RESOURCE');
  const upstream = upstreamOrigin(r, resource);
  const apiVersion = r.str('API_VERSION');
  const allowedApiVersions = r.list('ALLOWED_API_VERSIONS');
  const webrtcApiVersion = r.str('WEBRTC_API_VERSION');
  if (!API_VERSION_RE.test(webrtcApiVersion) || compareApiVersions(webrtcApiVersion, MIN_WEBRTC_API_VERSION) < 0) {
    r.fail('WEBRTC_API_VERSION', `a version from ${MIN_WEBRTC_API_VERSION} on`, webrtcApiVersion);
  }
  const agentName = r.str('AGENT_NAME');
  const agentProjectName = r.str('AGENT_PROJECT_NAME');
  const agentVersion = r.str('AGENT_VERSION');
  if (agentName !== '' && agentProjectName === '')
    r.fail('AGENT_PROJECT_NAME', 'the project of AGENT_NAME (required with it)', undefined);
  if (agentVersion !== '' && agentName === '')
    r.fail('AGENT_NAME', 'the agent AGENT_VERSION pins (required with it)', undefined);
  const defaultModel = r.str('DEFAULT_MODEL');
  const allowedModels = r.list('ALLOWED_MODELS');
  return {
    apiVersion,
    allowedApiVersions: Object.freeze([...new Set([apiVersion, ...allowedApiVersions])]),
    defaultModel,
    allowedModels: Object.freeze(allowedModels.includes('*') ? ['*'] : [...new Set([defaultModel, ...allowedModels])]),
    azureResource: resource,
    upstreamOrigin: upstream,
    azureSpeechKey: r.str('AZURE_SPEECH_KEY'),
    webrtcApiVersion,
    agentName,
    agentProjectName,
    agentVersion,
    azureTokenScope: r.str('AZURE_TOKEN_SCOPE'),
    azureTokenTimeoutMs: r.int('AZURE_TOKEN_TIMEOUT_MS'),
  };
}

function admission(r: EnvReader) {
  const origins = r.list('ALLOWED_ORIGINS');
  return {
    allowedOrigins: Object.freeze(
      origins.filter((o) => o !== '*').map((o) => parseOrigin(r, 'ALLOWED_ORIGINS', o, ['http:', 'https:'])),
    ),
    allowAnyOrigin: origins.includes('*'),
    allowAnonymousWildcard: r.bool('ALLOW_ANONYMOUS_WILDCARD'),
    allowNoOrigin: r.bool('ALLOW_NO_ORIGIN'),
    rateLimitWindowMs: r.int('RATE_LIMIT_WINDOW_MS'),
    rateLimitMaxRequests: r.int('RATE_LIMIT_MAX_REQUESTS'),
    rateLimitMaxKeys: r.int('RATE_LIMIT_MAX_KEYS'),
    // Internet-safe defaults: a session holds upstream capacity for
    // minutes, so one address gets fewer session starts and a few sessions at
    // once; a household or office behind one NAT still fits. Loosen per deploy.
    upgradeRateLimitWindowMs: r.int('UPGRADE_RATE_LIMIT_WINDOW_MS'),
    upgradeRateLimitMaxRequests: r.int('UPGRADE_RATE_LIMIT_MAX_REQUESTS'),
    maxConnections: r.int('MAX_CONNECTIONS'),
    maxConnectionsPerIp: r.int('MAX_CONNECTIONS_PER_IP'),
    trustProxy: trustProxy(r),
    ipv6PrefixLimits: Object.freeze(prefixLimits(r)),
  };
}

function relayLimits(r: EnvReader) {
  const maxMessageBytes = r.int('MAX_MESSAGE_BYTES');
  return {
    maxMessageBytes,
    upstreamConnectTimeoutMs: r.int('UPSTREAM_CONNECT_TIMEOUT_MS'),
    keepaliveIntervalMs: r.int('KEEPALIVE_INTERVAL_MS'),
    // Far beyond a real conversation (and a silent push-to-talk page), but a
    // slot held with no traffic, or forever, comes back.
    maxSessionMs: r.int('MAX_SESSION_MS'),
    idleTimeoutMs: r.int('IDLE_TIMEOUT_MS'),
    clientIdleTimeoutMs: r.int('CLIENT_IDLE_TIMEOUT_MS'),
    pendingMaxFrames: r.int('PENDING_MAX_FRAMES'),
    pendingMaxBytes: Math.max(r.int('PENDING_MAX_BYTES'), maxMessageBytes),
    // Per session, so they multiply by the session count: 256 KiB is over 5 s
    // of 24 kHz PCM16 audio waiting for a browser, plenty before pausing.
    clientHighWaterBytes: r.int('CLIENT_HIGH_WATER_BYTES'),
    slowPeerTimeoutMs: r.int('SLOW_PEER_TIMEOUT_MS'),
    // Always room for one maximal frame on top of what is already queued.
    upstreamMaxBufferedBytes: Math.max(r.int('UPSTREAM_MAX_BUFFERED_BYTES'), maxMessageBytes + 64 * 1024),
    bufferBudgetBytes: r.int('BUFFER_BUDGET_BYTES', defaultBufferBudget(containerMemoryLimit())),
  };
}

function operations(r: EnvReader, nodeEnv: string | undefined) {
  const metricsToken = r.str('METRICS_TOKEN');
  if (metricsToken !== '' && metricsToken.length < MIN_METRICS_TOKEN) {
    // The length only: the value is a secret.
    r.failShowing(
      'METRICS_TOKEN',
      `at least ${MIN_METRICS_TOKEN} characters (e.g. openssl rand -hex 32)`,
      `${metricsToken.length} characters`,
    );
  }
  return {
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS'),
    logLevel: r.oneOf('LOG_LEVEL'),
    logPretty: r.bool('LOG_PRETTY'),
    metricsToken,
    appInsightsConnectionString: r.str('APPLICATIONINSIGHTS_CONNECTION_STRING'),
    workers: r.int('WORKERS') || autoWorkers(),
    demo: r.bool('DEMO'),
    uwsMaxHeadersSize: r.int('UWS_HTTP_MAX_HEADERS_SIZE'),
    // Production is where a misspelt name must not start on a silent default;
    // on a laptop a warning is enough. NODE_ENV is the platform's, not a row.
    strictConfig: r.bool('STRICT_CONFIG', nodeEnv?.trim() === 'production'),
  };
}

function auth(r: EnvReader) {
  const clientAuth = r.oneOf<ClientAuthMode>('CLIENT_AUTH');
  const ticketSecret = readTicketSecret(r);
  const ticketJwksUrl = jwksUrl(r, 'TICKET_JWKS_URL');
  if (clientAuth === 'ticket' && ticketSecret === '' && ticketJwksUrl === '') {
    r.fail('TICKET_SECRET', 'a secret or TICKET_JWKS_URL when CLIENT_AUTH=ticket', undefined);
  }
  const tokenJwksUrl = jwksUrl(r, 'TOKEN_JWKS_URL');
  const tokenIssuers = r.list('TOKEN_ISSUER');
  const tokenAudiences = r.list('TOKEN_AUDIENCE');
  if (clientAuth === 'token') {
    if (tokenJwksUrl === '') r.fail('TOKEN_JWKS_URL', "the issuer's JWKS URL when CLIENT_AUTH=token", undefined);
    if (tokenIssuers.length === 0) r.fail('TOKEN_ISSUER', 'the expected issuer(s) when CLIENT_AUTH=token', undefined);
    if (tokenAudiences.length === 0)
      r.fail('TOKEN_AUDIENCE', 'the expected audience(s) when CLIENT_AUTH=token', undefined);
  }
  return {
    clientAuth,
    ticketSecret,
    ticketJwksUrl,
    ticketAudience: r.str('TICKET_AUDIENCE'),
    ticketMaxTtlS: r.int('TICKET_MAX_TTL_S'),
    ticketRequireJti: r.bool('TICKET_REQUIRE_JTI'),
    tokenJwksUrl,
    tokenIssuers: Object.freeze(tokenIssuers),
    tokenAudiences: Object.freeze(tokenAudiences),
    maxSessionsPerSubject: r.int('MAX_SESSIONS_PER_SUBJECT'),
  };
}

function readTicketSecret(r: EnvReader): string {
  const secret = r.str('TICKET_SECRET');
  if (secret !== '' && Buffer.byteLength(secret) < MIN_TICKET_SECRET_BYTES) {
    r.fail('TICKET_SECRET', `at least ${MIN_TICKET_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)`, secret);
  }
  return secret;
}

const TICKET_ROWS = SCHEMA.filter((s) => s.name === 'TICKET_SECRET' || s.name === 'TICKET_AUDIENCE');

/**
 * The settings a backend mints tickets with (`voice-live-proxy mint-ticket`),
 * read through the proxy's own rows and checks, so a ticket minted with them
 * is one the proxy accepts; the rest of the proxy's configuration is not needed.
 */
export function loadTicketConfig(env: Env): Pick<Config, 'ticketSecret' | 'ticketAudience'> {
  const r = new EnvReader(env, TICKET_ROWS);
  return Object.freeze({ ticketSecret: readTicketSecret(r), ticketAudience: r.str('TICKET_AUDIENCE') });
}

function fleet(r: EnvReader) {
  return {
    redisUrl: redisUrl(r),
    fleetMaxSessions: r.int('FLEET_MAX_SESSIONS'),
    fleetLeaseMs: r.int('FLEET_LEASE_MS'),
    fleetOnRedisDown: r.oneOf<'open' | 'closed'>('FLEET_ON_REDIS_DOWN'),
    fleetRedisTimeoutMs: r.int('FLEET_REDIS_TIMEOUT_MS'),
    // Keys share one hash tag so every script's keys sit in one Redis Cluster slot.
    fleetKeyPrefix: `${r.str('FLEET_KEY_PREFIX')}:{fleet}:`,
  };
}
