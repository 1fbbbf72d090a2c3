// What a backend imports from the package (`exports["."]`): read and validate
// the configuration, then run the proxy in its own process or beside an app.
// The command line (cli.ts) and the container run dist/index.js instead.
//
// The two starters are re-typed to the handles in api-types.ts: the relay and
// the admission gate stay internal, so the published declarations name no
// `ws` type and a TypeScript backend needs no @types/ws.
import type { Logger } from 'pino';
import type { ProxyDeps, ProxyServer, Runtime, RuntimeOptions } from './api-types';
import type { Config } from './config';
import { startRuntime as startInspectableRuntime } from './runtime';
import { startProxy as startInspectableProxy } from './server';

export type { ProxyDeps, ProxyServer, Runtime, RuntimeOptions } from './api-types';
export { ConfigError, loadConfig, readEnv, type Config, type Env } from './config';
export { createLogger, type LoggerOptions } from './observability/logger';
export { mintTicket, type MintTicketOptions } from './auth/mint-ticket';

/** One proxy in this thread, listening once the promise resolves. */
export const startProxy: (cfg: Config, deps: ProxyDeps) => Promise<ProxyServer> = startInspectableProxy;

/** One proxy with its metrics and optional telemetry, as `voice-live-proxy` runs it. */
export const startRuntime: (cfg: Config, logger: Logger, opts: RuntimeOptions) => Promise<Runtime> =
  startInspectableRuntime;
