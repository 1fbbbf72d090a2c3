// pino with every secret redacted by path. Redaction is compiled once by pino
// (fast-redact), so it costs nothing on lines that do not carry those keys.
//
// Contract for callers: log the request `path`, never a full `url` (query
// strings carry `token`). `url` is redacted wholesale as a safety net; when a
// URL must appear in a log line, pass it through `redactUrl` first.
import pino from 'pino';
import { stdoutSink } from './log-sink';

export const SERVICE_NAME = 'voice-live-proxy';
export const REDACT_CENSOR = '[redacted]';

const HEADER_SECRETS = [
  'authorization',
  '["api-key"]',
  '["agent-access-token"]',
  'cookie',
  '["ocp-apim-subscription-key"]',
];
const FIELD_SECRETS = [
  'token',
  'accessToken',
  'apiKey',
  'key',
  'authorization',
  '["api-key"]',
  '["agent-access-token"]',
  'password',
  'secret',
  'connectionString',
  'azureSpeechKey',
  'metricsToken',
  'appInsightsConnectionString',
  'url',
  'ticket',
  'ticketSecret',
];

function join(base: string, key: string): string {
  return key.startsWith('[') ? base + key : `${base}.${key}`;
}

/** Every path pino censors: top level, one level down, and inside `headers`/`query`. */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...FIELD_SECRETS,
  ...FIELD_SECRETS.map((k) => join('*', k)),
  ...HEADER_SECRETS.map((k) => join('headers', k)),
  ...HEADER_SECRETS.map((k) => join('*.headers', k)),
  'query.token',
  '*.query.token',
  'query.ticket',
  '*.query.ticket',
]);

export interface LoggerOptions {
  readonly level: string;
  readonly pretty: boolean;
  readonly destination?: NodeJS.WritableStream | pino.DestinationStream;
  /** Module name tried for pretty output (tests point it elsewhere). */
  readonly prettyModule?: string;
}

type PrettyFactory = (opts: Record<string, unknown>) => pino.DestinationStream;

/** pino-pretty is not a dependency: use it only when the operator installed it. */
function loadPretty(name: string): PrettyFactory | null {
  let resolved: string;
  try {
    resolved = require.resolve(name);
  } catch {
    return null;
  }
  const mod = require(resolved) as PrettyFactory | { default: PrettyFactory };
  return typeof mod === 'function' ? mod : mod.default;
}

export function createLogger(opts: LoggerOptions): pino.Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: SERVICE_NAME, pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
    // Level as a word: Log Analytics and `jq` filters read it without a lookup table.
    formatters: { level: (label) => ({ level: label }) },
  };
  // Default destination: the process's stdout sink (log-sink.ts says why not
  // pino's own). Its writes are asynchronous on a pipe: an exiting process
  // calls its flush() with a deadline, and worker threads pass a destination
  // that hands lines to the main thread.
  let dest: pino.DestinationStream = (opts.destination as pino.DestinationStream | undefined) ?? stdoutSink();
  const toStdout = dest === stdoutSink();
  let prettyMissing = false;
  if (opts.pretty) {
    const pretty = loadPretty(opts.prettyModule ?? 'pino-pretty');
    if (pretty === null) prettyMissing = true;
    // In-thread pretty stream (not a transport): no extra worker thread for a dev nicety.
    else dest = pretty({ colorize: toStdout, destination: dest });
  }
  const logger = pino(options, dest);
  if (prettyMissing) logger.warn('LOG_PRETTY is set but pino-pretty is not installed; logging JSON');
  return logger;
}

const URL_SECRET_HINT = /token|key|sig/i;
const URL_SECRET_PARAM =
  /([?&](?:token|key|api-key|agent-access-token|access_token|sig|subscription-key|ocp-apim-subscription-key)=)[^&#]*/gi;

/** Replaces the value of secret-bearing query parameters with [redacted]. */
export function redactUrl(url: string): string {
  // Fast path: nearly every URL carries none of these names; skip the regex replace.
  if (!URL_SECRET_HINT.test(url)) return url;
  return url.replace(URL_SECRET_PARAM, `$1${REDACT_CENSOR}`);
}
