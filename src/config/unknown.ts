// Variables that look like the proxy's but are not: a misspelt name is
// otherwise silently ignored and its setting left at the default
// (ALLOWED_ORIGIN=... starts with the default origin and every browser gets
// 403; AZURE_SPEECH_KY=... quietly runs keyless). At start each is reported
// with the name it most likely meant; STRICT_CONFIG makes them fatal.
// The rules are in docs/configuration.md ("Unknown variables").
import { SIMULATOR_SCHEMA } from '../simulator/config';
import { ConfigError } from './errors';
import { SCHEMA } from './schema';
import type { VarSpec } from './spec';
import type { Env } from './types';

export interface UnknownVariable {
  /** The name as set (its value is never kept: it may be a secret). */
  readonly variable: string;
  /** The schema name it most likely meant. */
  readonly didYouMean: string;
}

/**
 * Set by the platform or by libraries the proxy loads, never ours, even where
 * they share a prefix with our names (AZURE_): @azure/identity's credential
 * settings (workload identity, service principals, managed identity), the
 * Azure SDK's log level, Node and npm, Application Insights and OpenTelemetry,
 * App Service, Container Apps and Kubernetes.
 */
export const PLATFORM_NAMES: readonly string[] = [
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_REGIONAL_AUTHORITY_NAME',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_ADDITIONALLY_ALLOWED_TENANTS',
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_LOG_LEVEL',
  'AZURE_SUBSCRIPTION_ID',
];
export const PLATFORM_PREFIXES: readonly string[] = [
  'AZURE_CLIENT_',
  'AZURE_IDENTITY_',
  'NODE_',
  'npm_',
  'APPLICATIONINSIGHTS_',
  'OTEL_',
  'IDENTITY_',
  'MSI_',
  'WEBSITE_',
  'APPSETTING_',
  'CONTAINER_APP_',
  'KUBERNETES_',
];
/** Kubernetes service links: <SERVICE>_SERVICE_HOST, <SERVICE>_PORT_8080_TCP_ADDR and the like. */
const SERVICE_LINK = /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$|_PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?$/;

function known(rows: readonly VarSpec[]): string[] {
  return rows.flatMap((s) => (s.alias === undefined ? [s.name] : [s.name, s.alias]));
}

/** Every name of ours: the proxy's rows, their aliases, and the simulator's (run by the demo, the proxy ignores them). */
const KNOWN: readonly string[] = [...known(SCHEMA), ...known(SIMULATOR_SCHEMA)];
const KNOWN_SET = new Set(KNOWN);

/**
 * Our prefixes: every leading run of words (up to an `_`) that two or more of
 * our names share: AZURE_, RATE_LIMIT_, UPGRADE_RATE_LIMIT_, MAX_, FLEET_,
 * TICKET_, TOKEN_... A name only one variable has (REDIS_, METRICS_) is no
 * prefix: any service called redis would trip it.
 */
export function ourPrefixes(names: readonly string[] = KNOWN): string[] {
  const count = new Map<string, number>();
  for (const name of names) {
    const seen = new Set<string>();
    for (let i = name.indexOf('_'); i > 0; i = name.indexOf('_', i + 1)) seen.add(name.slice(0, i + 1));
    for (const p of seen) count.set(p, (count.get(p) ?? 0) + 1);
  }
  return [...count].filter(([, n]) => n >= 2).map(([p]) => p);
}
const PREFIXES = ourPrefixes();

/**
 * Edit distance with adjacent transpositions counted as one (optimal string
 * alignment). With `max`, anything beyond it comes back as `max + 1` as soon
 * as two rows in a row exceed it (a row's minimum can fall no lower than the
 * two before it allow): at start this runs for every variable against every
 * name of ours, and almost all of them are far apart.
 */
export function editDistance(a: string, b: string, max = Number.MAX_SAFE_INTEGER): number {
  const w = b.length + 1;
  const d = new Uint16Array((a.length + 1) * w);
  for (let j = 0; j < w; j++) d[j] = j;
  let previousMin = 0;
  for (let i = 1; i <= a.length; i++) {
    const row = i * w;
    const up = row - w;
    const ca = a.charCodeAt(i - 1);
    d[row] = i;
    let rowMin = i;
    for (let j = 1; j < w; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = d[up + j - 1] + (ca === cb ? 0 : 1);
      if (d[up + j] + 1 < v) v = d[up + j] + 1;
      if (d[row + j - 1] + 1 < v) v = d[row + j - 1] + 1;
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb && d[up - w + j - 2] + 1 < v)
        v = d[up - w + j - 2] + 1;
      d[row + j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max && previousMin > max) return max + 1;
    previousMin = rowMin;
  }
  return d[a.length * w + b.length];
}

/** How far a name may be from ours to count as a misspelling: short names are near everything. */
function tolerance(name: string): number {
  return name.length >= 10 ? 2 : name.length >= 4 ? 1 : 0;
}

function isPlatform(name: string): boolean {
  return PLATFORM_NAMES.includes(name) || PLATFORM_PREFIXES.some((p) => name.startsWith(p)) || SERVICE_LINK.test(name);
}

/** The nearest of `names` to `name` (ties: the first in schema order). */
function nearest(name: string, names: readonly string[]): { name: string; distance: number } {
  let best = { name: names[0], distance: Number.MAX_SAFE_INTEGER };
  for (const n of names) {
    const distance = editDistance(name, n);
    if (distance < best.distance) best = { name: n, distance };
  }
  return best;
}

/** The name of ours `name` is a misspelling of, if any (the nearest; ties: schema order). */
function nearMiss(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.MAX_SAFE_INTEGER;
  for (const n of KNOWN) {
    const tol = tolerance(n);
    // The lengths alone bound the distance from below: most names are skipped here.
    if (Math.abs(n.length - name.length) > tol) continue;
    const distance = editDistance(name, n, tol);
    if (distance <= tol && distance < bestDistance) {
      best = n;
      bestDistance = distance;
    }
  }
  return best;
}

/** What `env` holds that looks like ours but is not: a near miss of one of our names, or one of our prefixes. */
export function unknownVariables(env: Env): UnknownVariable[] {
  const found: UnknownVariable[] = [];
  for (const variable of Object.keys(env)) {
    if (env[variable] === undefined || KNOWN_SET.has(variable) || isPlatform(variable)) continue;
    // Environment names are case-sensitive: `port=8080` is not read either.
    const upper = variable.toUpperCase();
    const near = nearMiss(upper);
    if (near !== undefined) {
      found.push({ variable, didYouMean: near });
      continue;
    }
    // The longest of our prefixes it starts with. The guess: one of our names
    // after the prefix (FLEET_REDIS_URL: REDIS_URL), else the nearest name under it.
    const prefix = PREFIXES.filter((p) => upper.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) continue;
    const rest = upper.slice(prefix.length);
    const under = KNOWN.filter((n) => n.startsWith(prefix));
    found.push({ variable, didYouMean: KNOWN_SET.has(rest) ? rest : nearest(upper, under).name });
  }
  return found;
}

/** STRICT_CONFIG: the unknown variables as one start-up error naming each and its likely name. */
export class UnknownVariableError extends ConfigError {
  constructor(readonly unknown: readonly UnknownVariable[]) {
    super(unknown[0].variable, '', undefined);
    const each = unknown.map((u) => `${u.variable} (did you mean ${u.didYouMean}?)`).join(', ');
    this.message =
      `${each}: not ${unknown.length === 1 ? 'a variable' : 'variables'} voice-live-proxy reads. ` +
      'Rename or remove; STRICT_CONFIG=false starts anyway, with a warning';
  }
}

/**
 * The unknown variables of `env`, to be logged as warnings; with `strict`,
 * an UnknownVariableError instead when there is any.
 */
export function checkUnknownVariables(env: Env, strict: boolean): UnknownVariable[] {
  const unknown = unknownVariables(env);
  if (strict && unknown.length > 0) throw new UnknownVariableError(unknown);
  return unknown;
}
