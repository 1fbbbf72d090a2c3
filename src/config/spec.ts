// One row of a configuration schema, and the reader that turns the environment
// into typed values by those rows. The proxy's table is schema.ts; the
// simulator has its own (simulator/config.ts). The docs and .env.example are
// checked against the same rows (test/docs/configuration.test.ts).
import { ConfigConflictError, ConfigError, NOT_SHOWN } from './errors';
import type { Env } from './types';

/** How a value is written; `origin`, `url`, `cidrs`... are strings that load.ts parses further. */
export type VarType =
  'integer' | 'boolean' | 'string' | 'list' | 'enum' | 'origin' | 'origins' | 'url' | 'trust' | 'cidrs' | 'prefixes';

export interface VarSpec {
  readonly name: string;
  readonly type: VarType;
  /** The value when unset or blank, as written in the environment ('' = none, or computed at start). */
  readonly default: string;
  /** The default as the docs show it, when it is computed or depends on another variable. */
  readonly defaultDoc?: string;
  /** Integers: the accepted range. */
  readonly min?: number;
  readonly max?: number;
  /** Enums: the accepted values (compared lower-cased). */
  readonly values?: readonly string[];
  /** Strings and list items: the accepted form, and how an error describes it. */
  readonly pattern?: RegExp;
  readonly expected?: string;
  /** Lists: `*` is accepted as an item whatever the pattern. */
  readonly wildcard?: boolean;
  /** The successor proxy's name for the same setting: either may be used, not both with different values. */
  readonly alias?: string;
  /** Never printed: not in an error, a log line or the docs. */
  readonly secret?: boolean;
  /** Set but blank is an error instead of the default (a deploy that forgot to fill it in). */
  readonly blankIsError?: boolean;
  /** What .env.example shows when it is not the default (a placeholder to replace). */
  readonly example?: string;
  readonly group: string;
  /** One line for docs/configuration.md. */
  readonly doc: string;
}

const BOOL_TRUE = ['true', '1', 'yes'];
/**
 * A placeholder the docs write for a value to fill in (`<tenant>`, `<access key>`,
 * `<name>`): a value copied with one still in it is refused, not sent to Azure.
 */
const ANGLE_PLACEHOLDER = /<[a-z][a-z -]{0,30}>/i;
const BOOL_FALSE = ['false', '0', 'no'];

/**
 * Reads variables by their rows, each at most once: a second read of one
 * name is a bug (two places deciding one setting), and throws.
 */
export class EnvReader {
  private readonly specs = new Map<string, VarSpec>();
  /** What each variable read was set to, untrimmed (undefined: unset), for error messages. */
  private readonly read = new Map<string, string | undefined>();

  constructor(
    private readonly env: Env,
    table: readonly VarSpec[],
  ) {
    for (const spec of table) this.specs.set(spec.name, spec);
  }

  spec(name: string): VarSpec {
    const spec = this.specs.get(name);
    if (spec === undefined) throw new Error(`config: ${name} is not in the schema`);
    return spec;
  }

  /** The trimmed value, '' when unset or blank; the alias merged in. */
  raw(name: string): string {
    if (this.read.has(name)) throw new Error(`config: ${name} read twice`);
    const spec = this.spec(name);
    const set = this.env[name];
    this.read.set(name, set);
    const ours = (set ?? '').trim();
    this.refuseAngle(name, ours);
    if (spec.alias === undefined) return ours;
    const theirs = (this.env[spec.alias] ?? '').trim();
    this.refuseAngle(spec.alias, theirs, name);
    if (ours !== '' && theirs !== '' && ours !== theirs) throw new ConfigConflictError(name, spec.alias);
    return ours || theirs;
  }

  private refuseAngle(name: string, value: string, row = name): void {
    const m = ANGLE_PLACEHOLDER.exec(value);
    if (m === null) return;
    // A secret's value is not shown, not even the part that looks like a placeholder.
    const secret = this.spec(row).secret === true;
    throw new ConfigError(
      name,
      `a real value in place of ${secret ? 'a <placeholder>' : `the placeholder ${m[0]}`} from the docs`,
      this.shown(this.spec(row), value),
    );
  }

  /**
   * A value still equal to the row's placeholder from .env.example (`example`)
   * is refused: a copied template left unfilled must not start against
   * wss://your-resource-name.services.ai.azure.com. Called where the value is
   * used, so a placeholder another variable overrides does not stop the start.
   */
  refusePlaceholder(name: string, value: string): void {
    const example = this.spec(name).example;
    if (example === undefined || value !== example) return;
    const alias = this.spec(name).alias;
    const named = alias !== undefined && (this.env[name] ?? '').trim() === '' ? alias : name;
    throw new ConfigError(
      named,
      "your own value in place of .env.example's placeholder",
      this.shown(this.spec(name), value),
    );
  }

  /** Every row read: a row no code reads would be documented but do nothing. */
  assertAllRead(): void {
    for (const name of this.specs.keys()) if (!this.read.has(name)) throw new Error(`config: ${name} is never read`);
  }

  /** The value as the operator wrote it, for error messages (a secret is never shown). */
  private shown(spec: VarSpec, value: string | undefined): string | undefined {
    return spec.secret === true && value !== undefined ? NOT_SHOWN : value;
  }

  fail(name: string, expected: string, got: string | undefined): never {
    throw new ConfigError(name, expected, this.shown(this.spec(name), got));
  }

  /** For a secret whose error can show a part that holds none of it (a URL's scheme and host). */
  failShowing(name: string, expected: string, safePart: string): never {
    throw new ConfigError(name, expected, safePart);
  }

  /** A string: the default when blank; checked against the row's pattern when set. */
  str(name: string): string {
    const spec = this.spec(name);
    const v = this.raw(name);
    if (v === '') return spec.default;
    if (spec.pattern !== undefined && !spec.pattern.test(v)) this.fail(name, spec.expected ?? 'a valid value', v);
    return v;
  }

  /** A whole number within the row's range; `fallback` when the default is computed at start. */
  int(name: string, fallback?: number): number {
    const spec = this.spec(name);
    const v = this.raw(name);
    if (v === '') return fallback ?? Number(spec.default);
    const min = spec.min ?? 0;
    const max = spec.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.fail(name, `an integer from ${min} to ${max}`, this.read.get(name) ?? v);
    }
    return Number(v);
  }

  /** true or false; `fallback` when the default is computed at start. */
  bool(name: string, fallback?: boolean): boolean {
    const spec = this.spec(name);
    const v = this.raw(name).toLowerCase();
    if (v === '') return fallback ?? BOOL_TRUE.includes(spec.default);
    if (BOOL_TRUE.includes(v)) return true;
    if (BOOL_FALSE.includes(v)) return false;
    return this.fail(name, 'true or false', this.read.get(name) ?? v);
  }

  /** One of the row's values, lower-cased. */
  oneOf<T extends string>(name: string): T {
    const spec = this.spec(name);
    const v = (this.raw(name) || spec.default).toLowerCase();
    const values = spec.values ?? [];
    if (!values.includes(v)) this.fail(name, values.join('|'), v);
    return v as T;
  }

  /** A comma list, blank items dropped; each item checked against the row's pattern. */
  list(name: string): string[] {
    const spec = this.spec(name);
    const v = this.raw(name);
    const items = splitList(v === '' ? spec.default : v);
    const set = this.read.get(name);
    if (spec.blankIsError === true && set !== undefined && splitList(v).length === 0) {
      this.fail(name, spec.expected ?? 'a comma list', set);
    }
    if (spec.pattern !== undefined) {
      for (const item of items) {
        if (spec.wildcard === true && item === '*') continue;
        if (!spec.pattern.test(item)) this.fail(name, spec.expected ?? 'a comma list', item);
      }
    }
    return items;
  }
}

export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
