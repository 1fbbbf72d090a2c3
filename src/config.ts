// The module everyone imports for configuration. The parts live in config/:
// the schema (one row per variable), the reader, the loader and its parsers.
export type { ClientAuthMode, Config, Env, PrefixLimit } from './config/types';
export { ConfigConflictError, ConfigError } from './config/errors';
export { compareApiVersions, DOCUMENTED_API_VERSIONS, MIN_WEBRTC_API_VERSION } from './config/api-versions';
export { loadConfig } from './config/load';
export { readEnv } from './config/env-file';
export { SCHEMA } from './config/schema';
export { loadSimulatorConfig, type SimulatorConfig } from './simulator/config';
export { loadDemoConfig, type DemoConfig } from './demo/config';
export { loadTicketConfig } from './config/load';
export { refreeze } from './config/freeze';
export { checkUnknownVariables, UnknownVariableError, type UnknownVariable } from './config/unknown';
export { startSummary } from './config/summary';
