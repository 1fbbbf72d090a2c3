// Environment -> one frozen Config. Every error names the variable and what
// was expected, so a bad deploy fails at start with one readable line instead
// of misbehaving under load.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { availableParallelism } from 'node:os';
import { containerMemoryLimit, defaultBufferBudget } from './memory-limit';

export type Env = Record<string, string | undefined>;

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
  readonly allowedOrigins: readonly string[];
  readonly allowAnyOrigin: boolean;
  readonly allowNoOrigin: boolean;
  readonly rateLimitWindowMs: number;
  readonly rateLimitMaxRequests: number;
  readonly rateLimitMaxKeys: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Raw TRUST_PROXY value ('' = forwarded headers ignored). */
  readonly trustProxy: string;
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
  /** Process-wide (all workers) bytes held for slow peers; see src/relay/buffer-budget.ts. */
  readonly bufferBudgetBytes: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: string;
  readonly logPretty: boolean;
  readonly metricsToken: string;
  readonly appInsightsConnectionString: string;
  readonly workers: number;
  readonly demo: boolean;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, expected: string, got: string | undefined) {
    super(`${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
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

function list(env: Env, name: string, fallback: string): string[] {
  return str(env, name, fallback).split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Accepts an origin only: scheme, host, optional port; no path, query or credentials. */
function parseOrigin(name: string, raw: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `an origin such as ${schemes[0]}//host[:port]`, raw);
  }
  if (!schemes.includes(u.protocol) || u.username || u.password || u.search || u.hash ||
      (u.pathname !== '/' && u.pathname !== '')) {
    // Credentials or a query may hold a key: quote only what is safe to print.
    const shown = u.username || u.password || u.search || u.hash ? `${u.protocol}//${u.host}${u.pathname} (credentials/query not shown)` : raw;
    throw new ConfigError(name, `an origin (${schemes.join(' or ')}, no path/query/credentials)`, shown);
  }
  return u.origin;
}

function upstreamOrigin(env: Env, resource: string): string {
  const override = str(env, 'AZURE_VOICE_LIVE_ENDPOINT', '');
  if (override !== '') {
    // https/http are accepted because that is how the Azure portal shows the endpoint.
    const origin = parseOrigin('AZURE_VOICE_LIVE_ENDPOINT', override, ['https:', 'wss:', 'http:', 'ws:']);
    return origin.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:');
  }
  if (resource === '') {
    throw new ConfigError('AZURE_AI_FOUNDRY_RESOURCE', 'the resource name (or set AZURE_VOICE_LIVE_ENDPOINT)', undefined);
  }
  return `wss://${resource}.services.ai.azure.com`;
}

export function loadConfig(env: Env): Config {
  const resource = str(env, 'AZURE_AI_FOUNDRY_RESOURCE', '');
  if (resource !== '' && !AZURE_RESOURCE_RE.test(resource)) {
    throw new ConfigError('AZURE_AI_FOUNDRY_RESOURCE', 'a resource name (letters, digits, hyphens)', resource);
  }
  const apiVersion = str(env, 'API_VERSION', '2025-10-01');
  if (!API_VERSION_RE.test(apiVersion)) throw new ConfigError('API_VERSION', 'a date like 2025-10-01', apiVersion);
  const allowedApiVersions = list(env, 'ALLOWED_API_VERSIONS', `${apiVersion},2025-05-01-preview`);
  for (const v of allowedApiVersions) {
    if (!API_VERSION_RE.test(v)) throw new ConfigError('ALLOWED_API_VERSIONS', 'dates like 2025-10-01', v);
  }
  const origins = list(env, 'ALLOWED_ORIGINS', 'http://localhost:3000');
  const allowAnyOrigin = origins.includes('*');
  const allowedOrigins = origins.filter((o) => o !== '*')
    .map((o) => parseOrigin('ALLOWED_ORIGINS', o, ['http:', 'https:']));
  const azureSpeechKey = str(env, 'AZURE_SPEECH_KEY', '');
  // Any web page could then spend the server key, and nothing proves who is
  // calling: refuse unless the operator says so (issue 15). CLIENT_AUTH is
  // read here by name only; its own validation lives with the auth config.
  if (allowAnyOrigin && azureSpeechKey !== '' && str(env, 'CLIENT_AUTH', 'none').toLowerCase() === 'none' &&
      !bool(env, 'ALLOW_ANONYMOUS_WILDCARD', false)) {
    throw new ConfigError('ALLOWED_ORIGINS',
      'exact origins while AZURE_SPEECH_KEY is set and CLIENT_AUTH=none (any page could spend the key; ' +
      'set ALLOW_ANONYMOUS_WILDCARD=true to accept that)', '*');
  }
  const logLevel = str(env, 'LOG_LEVEL', 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', LOG_LEVELS.join('|'), logLevel);
  const maxMessageBytes = int(env, 'MAX_MESSAGE_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024);
  const pendingMaxBytes = int(env, 'PENDING_MAX_BYTES', 2 * 1024 * 1024, 1024, 256 * 1024 * 1024);
  const defaultModel = str(env, 'DEFAULT_MODEL', 'gpt-realtime');
  if (!MODEL_RE.test(defaultModel)) throw new ConfigError('DEFAULT_MODEL', 'a model name (letters, digits, . _ : -)', defaultModel);
  const allowedModels = list(env, 'ALLOWED_MODELS', defaultModel);
  for (const m of allowedModels) {
    if (m !== '*' && !MODEL_RE.test(m)) throw new ConfigError('ALLOWED_MODELS', 'model names (letters, digits, . _ : -) or *', m);
  }

  return Object.freeze({
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    apiVersion,
    allowedApiVersions: Object.freeze(allowedApiVersions.includes(apiVersion)
      ? allowedApiVersions : [apiVersion, ...allowedApiVersions]),
    defaultModel,
    allowedModels: Object.freeze(allowedModels.includes('*') ? ['*'] : [...new Set([defaultModel, ...allowedModels])]),
    azureResource: resource,
    upstreamOrigin: upstreamOrigin(env, resource),
    azureSpeechKey,
    allowedOrigins: Object.freeze(allowedOrigins),
    allowAnyOrigin,
    allowNoOrigin: bool(env, 'ALLOW_NO_ORIGIN', false),
    rateLimitWindowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1, 86_400_000),
    rateLimitMaxRequests: int(env, 'RATE_LIMIT_MAX_REQUESTS', 100, 1, 1_000_000_000),
    rateLimitMaxKeys: int(env, 'RATE_LIMIT_MAX_KEYS', 100_000, 1, 10_000_000),
    maxConnections: int(env, 'MAX_CONNECTIONS', 1000, 1, 1_000_000),
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 0, 0, 1_000_000),
    trustProxy: str(env, 'TRUST_PROXY', ''),
    maxMessageBytes,
    upstreamConnectTimeoutMs: int(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 100, 120_000),
    keepaliveIntervalMs: int(env, 'KEEPALIVE_INTERVAL_MS', 30_000, 50, 200_000),
    maxSessionMs: int(env, 'MAX_SESSION_MS', 0, 0, 86_400_000),
    idleTimeoutMs: int(env, 'IDLE_TIMEOUT_MS', 0, 0, 86_400_000),
    pendingMaxFrames: int(env, 'PENDING_MAX_FRAMES', 512, 1, 100_000),
    pendingMaxBytes: Math.max(pendingMaxBytes, maxMessageBytes),
    // Per session, so they multiply by the session count: 256 KiB is over 5 s
    // of 24 kHz PCM16 audio waiting for a browser, plenty before pausing.
    clientHighWaterBytes: int(env, 'CLIENT_HIGH_WATER_BYTES', 256 * 1024, 16 * 1024, 64 * 1024 * 1024),
    slowPeerTimeoutMs: int(env, 'SLOW_PEER_TIMEOUT_MS', 30_000, 100, 600_000),
    // Always room for one maximal frame on top of what is already queued.
    upstreamMaxBufferedBytes: Math.max(
      int(env, 'UPSTREAM_MAX_BUFFERED_BYTES', 2 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024), maxMessageBytes + 64 * 1024),
    // Half the container's memory limit when it has one, else 1 GiB (README: memory planning).
    bufferBudgetBytes: int(env, 'BUFFER_BUDGET_BYTES', defaultBufferBudget(containerMemoryLimit()), 1024 * 1024, 2 ** 40),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    logLevel,
    logPretty: bool(env, 'LOG_PRETTY', false),
    metricsToken: str(env, 'METRICS_TOKEN', ''),
    appInsightsConnectionString: str(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING', ''),
    workers: int(env, 'WORKERS', 0, 0, 256) || availableParallelism(),
    demo: bool(env, 'DEMO', false),
  });
}

/**
 * process.env merged with `.env` (when present); real environment wins, as
 * with dotenv, so a container's settings are never overridden by a stray file.
 */
export function readEnv(file = '.env', base: Env = process.env): Env {
  if (!existsSync(file)) return base;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...base };
}
