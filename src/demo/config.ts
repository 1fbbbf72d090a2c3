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

const DEMO_SCHEMA = SCHEMA.filter((s) => s.name === 'PORT');

export function loadDemoConfig(env: Env): DemoConfig {
  const r = new EnvReader(env, DEMO_SCHEMA);
  return Object.freeze({ port: r.int('PORT'), simulator: loadSimulatorConfig(env, 0) });
}
