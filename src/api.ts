// What a backend imports from the package (`exports["."]`): read and validate
// the configuration, then run the proxy in its own process or beside an app.
// The command line (cli.ts) and the container run dist/index.js instead.
export { ConfigError, loadConfig, readEnv, type Config, type Env } from './config';
export { createLogger, type LoggerOptions } from './observability/logger';
export { startRuntime, type Runtime, type RuntimeOptions } from './runtime';
export { startProxy, type ProxyDeps, type ProxyServer } from './server';
export { mintTicket, type MintTicketOptions } from './auth/mint-ticket';
