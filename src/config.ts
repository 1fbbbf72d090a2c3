// Environment -> one frozen Config. Every error names the variable and what
// was expected, so a bad deploy fails at start with one readable line instead
// of misbehaving under load.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { availableParallelism } from 'node:os';
import { containerMemoryLimit, defaultBufferBudget } from './memory-limit';
import { parseTrustProxy, withPeerRanges, type TrustProxy } from './admission/trust-proxy';

export type Env = Record<string, string | undefined>;

/** A wider IPv6 prefix limited in aggregate, with its multiple of one /64's limits. */
export interface PrefixLimit {
  readonly bits: number;
  readonly factor: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
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
  /** UWS_HTTP_MAX_HEADERS_SIZE: read by uWS itself at load (uws.ts); validated here. */
  readonly uwsMaxHeadersSize: number;
  /** Who may connect (docs/contract.md §4): none, a backend-minted ticket, or a verified user token. */
  readonly clientAuth: ClientAuthMode;
  /** HS256 key for tickets ('' = not accepted). */
  readonly ticketSecret: string;
  /** JWKS for RS256/ES256 tickets ('' = not accepted). */
  readonly ticketJwksUrl: string;
  readonly ticketAudience: string;
  readonly ticketMaxTtlS: number;
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
}

export type ClientAuthMode = 'none' | 'ticket' | 'token';
const CLIENT_AUTH_MODES: readonly string[] = ['none', 'ticket', 'token'];
/** HS256 keys shorter than the hash output are refused (RFC 7518 3.2). */
const MIN_TICKET_SECRET_BYTES = 32;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(`${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
  }
}

/** Two names for one setting (ours and the successor proxy's) set to different values. */
export class ConfigConflictError extends ConfigError {
  constructor(variable: string, alias: string) {
    super(variable, '', undefined);
    // Values are not printed: one of the pairs is an API key.
    this.message = `${variable} and ${alias} are both set, to different values: set only one`;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const AZURE_RESOURCE_RE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;
const API_VERSION_RE = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
/** The model parameter's own rule (upstream/params.ts). */
const MODEL_RE = /^[A-Za-z0-9._:-]{1,64}$/;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

/**
 * A setting that also answers to the successor proxy's name (FOUNDRY_*), so
 * an operator can bring its settings unchanged. Both set and different: refuse.
 */
function aliased(env: Env, name: string, alias: string): string {
  const ours = str(env, name, '');
  const theirs = str(env, alias, '');
  if (ours !== '' && theirs !== '' && ours !== theirs) throw new ConfigConflictError(name, alias);
  return ours || theirs;
}

/**
 * The GA and preview versions Voice Live documents today (learn.microsoft.com
 * API references, and the stable/ and preview/ folders of
 * Azure/azure-rest-api-specs specification/ai/data-plane/VoiceLive).
 */
export const DOCUMENTED_API_VERSIONS: readonly string[] = Object.freeze([
  '2026-07-15',
  '2026-04-10',
  '2025-10-01',
  '2026-06-01-preview',
  '2026-01-01-preview',
  '2025-05-01-preview',
]);
/** The WebRTC control channel (`/voice-live/realtime/calls`) first shipped in this preview. */
export const MIN_WEBRTC_API_VERSION = '2026-01-01-preview';

/** Chronological order of `YYYY-MM-DD[-preview]` (a preview sorts before the GA of the same date). */
export function compareApiVersions(a: string, b: string): number {
  const d = a.slice(0, 10).localeCompare(b.slice(0, 10));
  if (d !== 0) return d;
  return (a.endsWith('-preview') ? 0 : 1) - (b.endsWith('-preview') ? 0 : 1);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim();
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  }
  return Number(v);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ConfigError(name, 'true or false', raw);
}

/** `56:4,48:16` -> [{bits: 56, factor: 4}, ...]; `off` -> []. */
function prefixLimits(env: Env): PrefixLimit[] {
  const raw = str(env, 'IPV6_PREFIX_LIMITS', '56:4,48:16');
  if (raw.toLowerCase() === 'off') return [];
  const out: PrefixLimit[] = [];
  for (const item of raw.split(',')) {
    const m = /^\s*(\d{1,2}):(\d{1,5})\s*$/.exec(item);
    const bits = m === null ? 0 : Number(m[1]);
    const factor = m === null ? 0 : Number(m[2]);
    if (bits < 16 || bits > 63 || factor < 1 || factor > 65536 || out.some((p) => p.bits === bits)) {
      throw new ConfigError(
        'IPV6_PREFIX_LIMITS',
        'off, or prefix:factor pairs with prefixes 16-63, e.g. 56:4,48:16',
        raw,
      );
    }
    out.push(Object.freeze({ bits, factor }));
  }
  return out.sort((a, b) => b.bits - a.bits);
}

/** Metrics are the proxy's load and refusals: a token, when used, must not be guessable. */
const MIN_METRICS_TOKEN = 32;

function list(env: Env, name: string, fallback: string): string[] {
  return str(env, name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(env, name, fallback).toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(name, allowed.join(' or '), env[name]);
  return v as T;
}

/**
 * redis:// or rediss:// (TLS, what Azure Cache for Redis uses on 6380). The
 * URL carries the password, so an error shows the scheme and host only.
 */
function redisUrl(env: Env): string {
  const raw = str(env, 'REDIS_URL', '');
  if (raw === '') return '';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(
      'REDIS_URL',
      'redis://[:password@]host[:port][/db] or rediss://...',
      '(not a URL, not shown)',
    );
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '' || !/^\/?\d{0,2}$/.test(u.pathname)) {
    throw new ConfigError(
      'REDIS_URL',
      'redis://[:password@]host[:port][/db] or rediss://...',
      `${u.protocol}//${u.host}${u.pathname}`,
    );
  }
  return raw;
}

/** Keys share one hash tag so every script's keys sit in one Redis Cluster slot. */
function fleetKeyPrefix(env: Env): string {
  const v = str(env, 'FLEET_KEY_PREFIX', 'vlp');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new ConfigError('FLEET_KEY_PREFIX', 'letters, digits, _ . - (1-64)', v);
  return `${v}:{fleet}:`;
}

/** Accepts an origin only: scheme, host, optional port; no path, query or credentials. */
function parseOrigin(name: string, raw: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `an origin such as ${schemes[0]}//host[:port]`, raw);
  }
  if (
    !schemes.includes(u.protocol) ||
    u.username ||
    u.password ||
    u.search ||
    u.hash ||
    (u.pathname !== '/' && u.pathname !== '')
  ) {
    // Credentials or a query may hold a key: quote only what is safe to print.
    const shown =
      u.username || u.password || u.search || u.hash
        ? `${u.protocol}//${u.host}${u.pathname} (credentials/query not shown)`
        : raw;
    throw new ConfigError(name, `an origin (${schemes.join(' or ')}, no path/query/credentials)`, shown);
  }
  return u.origin;
}

function trustProxy(env: Env): TrustProxy {
  const raw = env.TRUST_PROXY ?? '';
  const parsed = parseTrustProxy(raw);
  if (typeof parsed === 'string') throw new ConfigError('TRUST_PROXY', parsed, raw);
  if (parsed.mode !== 'hops' && parsed.mode !== 'all') return parsed;
  // A hop count believes only a peer inside these ranges (default: private).
  const cidrs = str(env, 'TRUST_PROXY_CIDRS', 'private');
  const peers = withPeerRanges(parsed, cidrs);
  if (typeof peers === 'string') throw new ConfigError('TRUST_PROXY_CIDRS', peers, cidrs);
  return peers;
}

function upstreamOrigin(env: Env, resource: string): string {
  const override = str(env, 'AZURE_VOICE_LIVE_ENDPOINT', '');
  if (override !== '') {
    // https/http are accepted because that is how the Azure portal shows the endpoint.
    const origin = parseOrigin('AZURE_VOICE_LIVE_ENDPOINT', override, ['https:', 'wss:', 'http:', 'ws:']);
    return origin.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:');
  }
  if (resource === '') {
    throw new ConfigError(
      'AZURE_AI_FOUNDRY_RESOURCE',
      'the resource name (or FOUNDRY_RESOURCE_NAME, or set AZURE_VOICE_LIVE_ENDPOINT)',
      undefined,
    );
  }
  return `wss://${resource}.services.ai.azure.com`;
}

function scope(env: Env): string {
  const v = str(env, 'AZURE_TOKEN_SCOPE', 'https://ai.azure.com/.default');
  if (!/^[\x21-\x7e]{1,512}$/.test(v))
    throw new ConfigError('AZURE_TOKEN_SCOPE', 'a scope such as https://ai.azure.com/.default', v);
  return v;
}

/** A JWKS address: https, or http to a loopback host (tests, a local issuer). */
function jwksUrl(env: Env, name: string): string {
  const raw = str(env, name, '');
  if (raw === '') return '';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, 'an https:// URL', raw);
  }
  const loopback = u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  if (u.username || u.password || !(u.protocol === 'https:' || (u.protocol === 'http:' && loopback))) {
    throw new ConfigError(
      name,
      'an https:// URL (http:// only to localhost), without credentials',
      `${u.protocol}//${u.host}${u.pathname}`,
    );
  }
  return u.href;
}

interface AuthSettings {
  clientAuth: ClientAuthMode;
  ticketSecret: string;
  ticketJwksUrl: string;
  ticketAudience: string;
  ticketMaxTtlS: number;
  tokenJwksUrl: string;
  tokenIssuers: readonly string[];
  tokenAudiences: readonly string[];
  maxSessionsPerSubject: number;
}

function authSettings(env: Env): AuthSettings {
  const mode = str(env, 'CLIENT_AUTH', 'none').toLowerCase();
  if (!CLIENT_AUTH_MODES.includes(mode)) throw new ConfigError('CLIENT_AUTH', CLIENT_AUTH_MODES.join('|'), mode);
  const clientAuth = mode as ClientAuthMode;
  const ticketSecret = str(env, 'TICKET_SECRET', '');
  if (ticketSecret !== '' && Buffer.byteLength(ticketSecret) < MIN_TICKET_SECRET_BYTES) {
    // Never echo a secret, not even a short one.
    throw new ConfigError(
      'TICKET_SECRET',
      `at least ${MIN_TICKET_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)`,
      '(value not shown)',
    );
  }
  const ticketJwksUrl = jwksUrl(env, 'TICKET_JWKS_URL');
  if (clientAuth === 'ticket' && ticketSecret === '' && ticketJwksUrl === '') {
    throw new ConfigError('TICKET_SECRET', 'a secret or TICKET_JWKS_URL when CLIENT_AUTH=ticket', undefined);
  }
  const tokenJwksUrl = jwksUrl(env, 'TOKEN_JWKS_URL');
  const tokenIssuers = list(env, 'TOKEN_ISSUER', '');
  const tokenAudiences = list(env, 'TOKEN_AUDIENCE', '');
  if (clientAuth === 'token') {
    if (tokenJwksUrl === '')
      throw new ConfigError('TOKEN_JWKS_URL', "the issuer's JWKS URL when CLIENT_AUTH=token", undefined);
    if (tokenIssuers.length === 0)
      throw new ConfigError('TOKEN_ISSUER', 'the expected issuer(s) when CLIENT_AUTH=token', undefined);
    if (tokenAudiences.length === 0)
      throw new ConfigError('TOKEN_AUDIENCE', 'the expected audience(s) when CLIENT_AUTH=token', undefined);
  }
  const maxSessionsPerSubject = int(env, 'MAX_SESSIONS_PER_SUBJECT', 0, 0, 1_000_000);
  if (maxSessionsPerSubject > 0 && clientAuth === 'none') {
    throw new ConfigError(
      'MAX_SESSIONS_PER_SUBJECT',
      '0 unless CLIENT_AUTH is ticket or token (there is no verified subject)',
      String(maxSessionsPerSubject),
    );
  }
  return {
    clientAuth,
    ticketSecret,
    ticketJwksUrl,
    ticketAudience: str(env, 'TICKET_AUDIENCE', 'voice-live-proxy'),
    ticketMaxTtlS: int(env, 'TICKET_MAX_TTL_S', 300, 1, 86_400),
    tokenJwksUrl,
    tokenIssuers: Object.freeze(tokenIssuers),
    tokenAudiences: Object.freeze(tokenAudiences),
    maxSessionsPerSubject,
  };
}

export function loadConfig(env: Env): Config {
  const resource = aliased(env, 'AZURE_AI_FOUNDRY_RESOURCE', 'FOUNDRY_RESOURCE_NAME');
  if (resource !== '' && !AZURE_RESOURCE_RE.test(resource)) {
    throw new ConfigError('AZURE_AI_FOUNDRY_RESOURCE', 'a resource name (letters, digits, hyphens)', resource);
  }
  const apiVersion = str(env, 'API_VERSION', '2026-07-15');
  if (!API_VERSION_RE.test(apiVersion)) throw new ConfigError('API_VERSION', 'a date like 2026-07-15', apiVersion);
  const allowedApiVersions = list(env, 'ALLOWED_API_VERSIONS', DOCUMENTED_API_VERSIONS.join(','));
  for (const v of allowedApiVersions) {
    if (!API_VERSION_RE.test(v)) throw new ConfigError('ALLOWED_API_VERSIONS', 'dates like 2026-07-15', v);
  }
  const webrtcApiVersion = str(env, 'WEBRTC_API_VERSION', MIN_WEBRTC_API_VERSION);
  if (!API_VERSION_RE.test(webrtcApiVersion) || compareApiVersions(webrtcApiVersion, MIN_WEBRTC_API_VERSION) < 0) {
    throw new ConfigError('WEBRTC_API_VERSION', `a version from ${MIN_WEBRTC_API_VERSION} on`, webrtcApiVersion);
  }
  const agent = agentDefaults(env);
  const origins = list(env, 'ALLOWED_ORIGINS', 'http://localhost:3000');
  const allowAnyOrigin = origins.includes('*');
  const allowedOrigins = origins
    .filter((o) => o !== '*')
    .map((o) => parseOrigin('ALLOWED_ORIGINS', o, ['http:', 'https:']));
  const azureSpeechKey = aliased(env, 'AZURE_SPEECH_KEY', 'FOUNDRY_API_KEY');
  // Any web page could then spend the server's credential (AZURE_SPEECH_KEY,
  // or without it the proxy's own identity: keyless), and nothing proves who
  // is calling: refuse unless the operator says so. CLIENT_AUTH is
  // read here by name only; its own validation lives with the auth config.
  if (
    allowAnyOrigin &&
    str(env, 'CLIENT_AUTH', 'none').toLowerCase() === 'none' &&
    !bool(env, 'ALLOW_ANONYMOUS_WILDCARD', false)
  ) {
    throw new ConfigError(
      'ALLOWED_ORIGINS',
      `exact origins while CLIENT_AUTH=none (any page could spend the ${azureSpeechKey === '' ? "proxy's own identity" : 'key'}; ` +
        'set ALLOW_ANONYMOUS_WILDCARD=true to accept that)',
      '*',
    );
  }
  const logLevel = str(env, 'LOG_LEVEL', 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', LOG_LEVELS.join('|'), logLevel);
  const maxMessageBytes = int(env, 'MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024);
  const pendingMaxBytes = int(env, 'PENDING_MAX_BYTES', 2 * 1024 * 1024, 1024, 256 * 1024 * 1024);
  const metricsToken = str(env, 'METRICS_TOKEN', '');
  // Quote the length only: the value is a secret.
  if (metricsToken !== '' && metricsToken.length < MIN_METRICS_TOKEN) {
    throw new ConfigError(
      'METRICS_TOKEN',
      `at least ${MIN_METRICS_TOKEN} characters (e.g. openssl rand -hex 32)`,
      `${metricsToken.length} characters`,
    );
  }
  const defaultModel = str(env, 'DEFAULT_MODEL', 'gpt-realtime');
  if (!MODEL_RE.test(defaultModel))
    throw new ConfigError('DEFAULT_MODEL', 'a model name (letters, digits, . _ : -)', defaultModel);
  const allowedModels = list(env, 'ALLOWED_MODELS', defaultModel);
  for (const m of allowedModels) {
    if (m !== '*' && !MODEL_RE.test(m))
      throw new ConfigError('ALLOWED_MODELS', 'model names (letters, digits, . _ : -) or *', m);
  }

  return Object.freeze({
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    apiVersion,
    allowedApiVersions: Object.freeze([...new Set([apiVersion, ...allowedApiVersions])]),
    defaultModel,
    allowedModels: Object.freeze(allowedModels.includes('*') ? ['*'] : [...new Set([defaultModel, ...allowedModels])]),
    azureResource: resource,
    upstreamOrigin: upstreamOrigin(env, resource),
    azureSpeechKey,
    webrtcApiVersion,
    ...agent,
    azureTokenScope: scope(env),
    azureTokenTimeoutMs: int(env, 'AZURE_TOKEN_TIMEOUT_MS', 30_000, 100, 300_000),
    allowedOrigins: Object.freeze(allowedOrigins),
    allowAnyOrigin,
    allowNoOrigin: bool(env, 'ALLOW_NO_ORIGIN', false),
    rateLimitWindowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1, 86_400_000),
    rateLimitMaxRequests: int(env, 'RATE_LIMIT_MAX_REQUESTS', 100, 1, 1_000_000_000),
    rateLimitMaxKeys: int(env, 'RATE_LIMIT_MAX_KEYS', 100_000, 1, 10_000_000),
    // Internet-safe defaults: a session holds upstream capacity for
    // minutes, so one address gets fewer session starts and a few sessions at
    // once; a household or office behind one NAT still fits. Loosen per deploy.
    upgradeRateLimitWindowMs: int(env, 'UPGRADE_RATE_LIMIT_WINDOW_MS', 60_000, 1, 86_400_000),
    upgradeRateLimitMaxRequests: int(env, 'UPGRADE_RATE_LIMIT_MAX_REQUESTS', 20, 1, 1_000_000_000),
    maxConnections: int(env, 'MAX_CONNECTIONS', 1000, 1, 1_000_000),
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 10, 0, 1_000_000),
    trustProxy: trustProxy(env),
    ipv6PrefixLimits: Object.freeze(prefixLimits(env)),
    maxMessageBytes,
    upstreamConnectTimeoutMs: int(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 100, 120_000),
    keepaliveIntervalMs: int(env, 'KEEPALIVE_INTERVAL_MS', 30_000, 50, 200_000),
    // Far beyond a real conversation (and a silent push-to-talk page), but a
    // slot held with no traffic, or forever, comes back.
    maxSessionMs: int(env, 'MAX_SESSION_MS', 2 * 3_600_000, 0, 86_400_000),
    idleTimeoutMs: int(env, 'IDLE_TIMEOUT_MS', 10 * 60_000, 0, 86_400_000),
    pendingMaxFrames: int(env, 'PENDING_MAX_FRAMES', 512, 1, 100_000),
    pendingMaxBytes: Math.max(pendingMaxBytes, maxMessageBytes),
    // Per session, so they multiply by the session count: 256 KiB is over 5 s
    // of 24 kHz PCM16 audio waiting for a browser, plenty before pausing.
    clientHighWaterBytes: int(env, 'CLIENT_HIGH_WATER_BYTES', 256 * 1024, 16 * 1024, 64 * 1024 * 1024),
    slowPeerTimeoutMs: int(env, 'SLOW_PEER_TIMEOUT_MS', 30_000, 100, 600_000),
    // Always room for one maximal frame on top of what is already queued.
    upstreamMaxBufferedBytes: Math.max(
      int(env, 'UPSTREAM_MAX_BUFFERED_BYTES', 2 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024),
      maxMessageBytes + 64 * 1024,
    ),
    // Half the container's memory limit when it has one, else 1 GiB (README: memory planning).
    bufferBudgetBytes: int(
      env,
      'BUFFER_BUDGET_BYTES',
      defaultBufferBudget(containerMemoryLimit()),
      1024 * 1024,
      2 ** 40,
    ),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    logLevel,
    logPretty: bool(env, 'LOG_PRETTY', false),
    metricsToken,
    appInsightsConnectionString: str(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING', ''),
    workers: int(env, 'WORKERS', 0, 0, 256) || availableParallelism(),
    demo: bool(env, 'DEMO', false),
    uwsMaxHeadersSize: int(env, 'UWS_HTTP_MAX_HEADERS_SIZE', 16384, 1024, 1024 * 1024),
    ...authSettings(env),
    redisUrl: redisUrl(env),
    fleetMaxSessions: int(env, 'FLEET_MAX_SESSIONS', 0, 0, 10_000_000),
    fleetLeaseMs: int(env, 'FLEET_LEASE_MS', 15_000, 1_000, 600_000),
    fleetOnRedisDown: oneOf(env, 'FLEET_ON_REDIS_DOWN', ['open', 'closed'] as const, 'open'),
    fleetRedisTimeoutMs: int(env, 'FLEET_REDIS_TIMEOUT_MS', 500, 10, 10_000),
    fleetKeyPrefix: fleetKeyPrefix(env),
  });
}

const AGENT_NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;
const AGENT_VERSION_RE = /^[A-Za-z0-9._-]{1,32}$/;

/** AGENT_NAME / AGENT_PROJECT_NAME / AGENT_VERSION: the agent a client gets when it names none. */
function agentDefaults(env: Env): { agentName: string; agentProjectName: string; agentVersion: string } {
  const agentName = aliased(env, 'AGENT_NAME', 'FOUNDRY_AGENT_NAME');
  const agentProjectName = aliased(env, 'AGENT_PROJECT_NAME', 'FOUNDRY_PROJECT_NAME');
  const agentVersion = str(env, 'AGENT_VERSION', '');
  if (agentName !== '' && !AGENT_NAME_RE.test(agentName))
    throw new ConfigError('AGENT_NAME', 'an agent name ([A-Za-z0-9._-], up to 128)', agentName);
  if (agentProjectName !== '' && !AGENT_NAME_RE.test(agentProjectName)) {
    throw new ConfigError('AGENT_PROJECT_NAME', 'a project name ([A-Za-z0-9._-], up to 128)', agentProjectName);
  }
  if (agentVersion !== '' && !AGENT_VERSION_RE.test(agentVersion))
    throw new ConfigError('AGENT_VERSION', 'an agent version ([A-Za-z0-9._-], up to 32)', agentVersion);
  if (agentName !== '' && agentProjectName === '')
    throw new ConfigError('AGENT_PROJECT_NAME', 'the project of AGENT_NAME (required with it)', undefined);
  if (agentVersion !== '' && agentName === '')
    throw new ConfigError('AGENT_NAME', 'the agent AGENT_VERSION pins (required with it)', undefined);
  return { agentName, agentProjectName, agentVersion };
}

/** The Voice Live simulator's listener: standalone (simulator/cli.ts) or inside `npm run demo`. */
export interface SimulatorConfig {
  readonly port: number;
  readonly host: string;
  readonly requireCredential: boolean;
  /** SIMULATOR_TLS_CERT + SIMULATOR_TLS_KEY (PEM files): serve wss://. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

function simulatorTls(env: Env): SimulatorConfig['tls'] {
  const certFile = str(env, 'SIMULATOR_TLS_CERT', '');
  const keyFile = str(env, 'SIMULATOR_TLS_KEY', '');
  if (certFile === '' && keyFile === '') return undefined;
  if (certFile === '') throw new ConfigError('SIMULATOR_TLS_CERT', 'a PEM file (with SIMULATOR_TLS_KEY)', undefined);
  if (keyFile === '') throw new ConfigError('SIMULATOR_TLS_KEY', 'a PEM file (with SIMULATOR_TLS_CERT)', undefined);
  return Object.freeze({ certFile, keyFile });
}

export function loadSimulatorConfig(env: Env, defaultPort = 8090): SimulatorConfig {
  return Object.freeze({
    port: int(env, 'SIMULATOR_PORT', defaultPort, 0, 65535),
    host: str(env, 'SIMULATOR_HOST', '127.0.0.1'),
    requireCredential: bool(env, 'SIMULATOR_REQUIRE_CREDENTIAL', true),
    tls: simulatorTls(env),
  });
}

/**
 * `npm run demo`: the proxy's PORT (read before loadConfig, because the page's
 * origin goes into ALLOWED_ORIGINS) and the embedded simulator on any free port.
 */
export function loadDemoConfig(env: Env): { readonly port: number; readonly simulator: SimulatorConfig } {
  return Object.freeze({ port: int(env, 'PORT', 8080, 0, 65535), simulator: loadSimulatorConfig(env, 0) });
}

/**
 * process.env merged with `.env` (when present); real environment wins, as
 * with dotenv, so a container's settings are never overridden by a stray file.
 */
export function readEnv(file = '.env', base: Env = process.env): Env {
  if (!existsSync(file)) return base;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...base };
}
