// `npm run demo`'s own settings: the proxy's PORT (read before the proxy's
// configuration, because the page's origin goes into ALLOWED_ORIGINS) and the
// embedded simulator's, on any free port unless SIMULATOR_PORT says otherwise.
import { SCHEMA } from '../config/schema';
import { EnvReader } from '../config/spec';
import type { Env } from '../config/types';
import { loadSimulatorConfig, type SimulatorConfig } from '../simulator/config';

export interface DemoConfig {
  readonly port: number;
  readonly simulator: SimulatorConfig;
}

const rows = (name: string) => SCHEMA.filter((s) => s.name === name);

export function loadDemoConfig(env: Env): DemoConfig {
  const r = new EnvReader(env, rows('PORT'));
  return Object.freeze({ port: r.int('PORT'), simulator: loadSimulatorConfig(env, 0) });
}

/**
 * The proxy's UWS_HTTP_MAX_HEADERS_SIZE, needed before the proxy's own
 * configuration can be read: the embedded simulator starts first (the proxy's
 * upstream is its address), and whichever loads uWS fixes the budget for both.
 */
export function demoHeaderBudget(env: Env): number {
  return new EnvReader(env, rows('UWS_HTTP_MAX_HEADERS_SIZE')).int('UWS_HTTP_MAX_HEADERS_SIZE');
}
