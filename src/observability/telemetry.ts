// Optional Application Insights. Loaded only when a connection string is set,
// so a deploy without it never pays for the SDK (which patches http and starts
// timers). `applicationinsights` is an optional dependency: when it is absent,
// or the runtime is older than its engines range, we say so once and carry on.
//
// Nothing secret leaves the process: event properties go through
// `safeProps`, which drops credential-named keys, JWT-looking values and
// anything long enough to be a token or a URL with a query string.
import type { Logger } from 'pino';

export type TelemetryProps = Record<string, string | number>;

export interface Telemetry {
  trackEvent(name: string, props: TelemetryProps): void;
  trackMetric(name: string, value: number): void;
  flush(): Promise<void>;
}

export const NOOP_TELEMETRY: Telemetry = Object.freeze({
  trackEvent(): void {},
  trackMetric(): void {},
  flush(): Promise<void> {
    return Promise.resolve();
  },
});

/** Current applicationinsights (3.x) requires Node 22. */
export const MIN_NODE_MAJOR = 22;

const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'key',
  'authorization',
  'api-key',
  'agent-access-token',
  'apikey',
  'access_token',
  'accesstoken',
  'password',
  'secret',
  'connectionstring',
  'cookie',
]);
/** Three base64url segments: a JWT. A short `a.b.c` (a version, a host) is let through. */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
export const MAX_PROP_LENGTH = 256;

function looksLikeJwt(v: string): boolean {
  return JWT_RE.test(v) && (v.startsWith('ey') || v.length >= 40);
}

/** Copies props minus anything that could be a credential. */
export function safeProps(props: TelemetryProps): TelemetryProps {
  const out: TelemetryProps = {};
  for (const k of Object.keys(props)) {
    if (SECRET_KEYS.has(k.toLowerCase())) continue;
    const v = props[k];
    if (typeof v === 'number') {
      if (Number.isFinite(v)) out[k] = v;
    } else if (typeof v === 'string' && v.length <= MAX_PROP_LENGTH && !looksLikeJwt(v)) {
      out[k] = v;
    }
  }
  return out;
}

/** The slice of the SDK we use; the same calls exist in 2.x and 3.x. */
interface AppInsightsClient {
  trackEvent(t: { name: string; properties?: Record<string, string>; measurements?: Record<string, number> }): void;
  trackMetric(t: { name: string; value: number }): void;
  flush(): unknown;
}
interface AppInsightsSetup {
  setAutoCollectConsole?(value: boolean, collectConsoleLog?: boolean): AppInsightsSetup;
  setSendLiveMetrics?(value: boolean): AppInsightsSetup;
  start(): AppInsightsSetup;
}
export interface AppInsightsModule {
  setup(connectionString: string): AppInsightsSetup;
  readonly defaultClient: AppInsightsClient;
}

export interface TelemetryDeps {
  /** Loads the SDK; throws when it is not installed. */
  readonly load?: () => AppInsightsModule;
  readonly nodeMajor?: number;
}

function loadSdk(): AppInsightsModule {
  return require('applicationinsights') as AppInsightsModule;
}

class AppInsightsTelemetry implements Telemetry {
  constructor(private readonly client: AppInsightsClient) {}

  trackEvent(name: string, props: TelemetryProps): void {
    const safe = safeProps(props);
    const properties: Record<string, string> = {};
    const measurements: Record<string, number> = {};
    for (const k of Object.keys(safe)) {
      const v = safe[k];
      if (typeof v === 'number') measurements[k] = v;
      else properties[k] = v;
    }
    this.client.trackEvent({ name, properties, measurements });
  }

  trackMetric(name: string, value: number): void {
    if (Number.isFinite(value)) this.client.trackMetric({ name, value });
  }

  async flush(): Promise<void> {
    // 3.x returns a promise; 2.x returns nothing and flushes in the background.
    await this.client.flush();
  }
}

export async function startTelemetry(
  connectionString: string,
  logger: Pick<Logger, 'warn' | 'info'>,
  deps: TelemetryDeps = {},
): Promise<Telemetry> {
  if (connectionString === '') return NOOP_TELEMETRY;
  const major = deps.nodeMajor ?? Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    logger.warn(
      { node: process.versions.node },
      `APPLICATIONINSIGHTS_CONNECTION_STRING is set but applicationinsights needs Node ${MIN_NODE_MAJOR}+; telemetry disabled`,
    );
    return NOOP_TELEMETRY;
  }
  let sdk: AppInsightsModule;
  try {
    sdk = (deps.load ?? loadSdk)();
  } catch {
    logger.warn(
      'APPLICATIONINSIGHTS_CONNECTION_STRING is set but applicationinsights is not installed; telemetry disabled',
    );
    return NOOP_TELEMETRY;
  }
  try {
    let setup = sdk.setup(connectionString);
    // pino already writes our logs to stdout; do not ship console output twice.
    if (setup.setAutoCollectConsole) setup = setup.setAutoCollectConsole(false, false);
    if (setup.setSendLiveMetrics) setup = setup.setSendLiveMetrics(false);
    setup.start();
  } catch {
    // The SDK's message may quote the connection string (it holds the ingestion key).
    logger.warn(
      'applicationinsights failed to start (check APPLICATIONINSIGHTS_CONNECTION_STRING); telemetry disabled',
    );
    return NOOP_TELEMETRY;
  }
  logger.info('Application Insights telemetry enabled');
  return new AppInsightsTelemetry(sdk.defaultClient);
}
