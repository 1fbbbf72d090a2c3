// The Voice Live simulator's own settings: standalone (simulator/cli.ts) or
// inside `npm run demo`. A table of its own, read like the proxy's.
import { EnvReader, type VarSpec } from '../config/spec';
import type { Env } from '../config/types';

export interface SimulatorConfig {
  readonly port: number;
  readonly host: string;
  readonly requireCredential: boolean;
  /** SIMULATOR_TLS_CERT + SIMULATOR_TLS_KEY (PEM files): serve wss://. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

const GROUP = 'Simulator (node dist/simulator/cli.js)';

export const SIMULATOR_SCHEMA: readonly VarSpec[] = [
  {
    name: 'SIMULATOR_PORT',
    type: 'integer',
    default: '8090',
    defaultDoc: '`8090` (the demo: any free port)',
    min: 0,
    max: 65535,
    group: GROUP,
    doc: 'Listen port',
  },
  { name: 'SIMULATOR_HOST', type: 'string', default: '127.0.0.1', group: GROUP, doc: 'Listen address' },
  {
    name: 'SIMULATOR_REQUIRE_CREDENTIAL',
    type: 'boolean',
    default: 'true',
    group: GROUP,
    doc: 'Refuse (401) a connection that sends no credential (`api-key` or a bearer token, in a header or the query), as Voice Live does',
  },
  {
    name: 'SIMULATOR_TLS_CERT',
    type: 'string',
    default: '',
    group: GROUP,
    doc: 'PEM certificate file: serve `wss://` (with `SIMULATOR_TLS_KEY`)',
  },
  {
    name: 'SIMULATOR_TLS_KEY',
    type: 'string',
    default: '',
    group: GROUP,
    doc: 'PEM key file (with `SIMULATOR_TLS_CERT`)',
  },
];

export function loadSimulatorConfig(env: Env, defaultPort = 8090): SimulatorConfig {
  const r = new EnvReader(env, SIMULATOR_SCHEMA);
  const cfg = Object.freeze({
    port: r.int('SIMULATOR_PORT', defaultPort),
    host: r.str('SIMULATOR_HOST'),
    requireCredential: r.bool('SIMULATOR_REQUIRE_CREDENTIAL'),
    tls: tls(r),
  });
  r.assertAllRead();
  return cfg;
}

function tls(r: EnvReader): SimulatorConfig['tls'] {
  const certFile = r.str('SIMULATOR_TLS_CERT');
  const keyFile = r.str('SIMULATOR_TLS_KEY');
  if (certFile === '' && keyFile === '') return undefined;
  if (certFile === '') r.fail('SIMULATOR_TLS_CERT', 'a PEM file (with SIMULATOR_TLS_KEY)', undefined);
  if (keyFile === '') r.fail('SIMULATOR_TLS_KEY', 'a PEM file (with SIMULATOR_TLS_CERT)', undefined);
  return Object.freeze({ certFile, keyFile });
}
