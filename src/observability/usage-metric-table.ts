// Usage totals for /metrics (docs/cost-control.md): by mode and model, never
// by caller. One row per (mode, model) the configuration allows, fixed at
// start, so every worker thread has the same rows in the same places and the
// totals cross threads as plain sums (metrics-board.ts). A row's counts are a
// slice of one Float64Array, Metrics.usage, added to by usage/usage-totals.ts.
import type { MetricDef } from './metric-table';

/** The counts kept per row, in their order within the row. */
export const enum UsageColumn {
  AudioInMs = 0,
  AudioOutMs = 1,
  InputTokens = 2,
  OutputTokens = 3,
  InputTextTokens = 4,
  InputAudioTokens = 5,
  InputCachedTokens = 6,
  OutputTextTokens = 7,
  OutputAudioTokens = 8,
  Responses = 9,
  Sessions = 10,
  SessionMs = 11,
}
export const USAGE_COLUMNS = 12;

/** Model rows at most: DEFAULT_MODEL and ALLOWED_MODELS past this count under `other`. */
export const MAX_MODEL_ROWS = 16;
/** Row 0: every agent session; row 1: standard sessions on a model without a row of its own. */
export const AGENT_ROW = 0;
export const OTHER_ROW = 1;
export const USAGE_ROWS = 2 + MAX_MODEL_ROWS;
export const USAGE_CELLS = USAGE_ROWS * USAGE_COLUMNS;

/** The `model` label of agent sessions: their model is the agent's, chosen in Foundry. */
export const AGENT_MODEL_LABEL = 'agent';
export const OTHER_MODEL_LABEL = 'other';

export interface UsageRow {
  readonly mode: 'standard' | 'agent';
  readonly model: string;
}

/**
 * The rows for a configuration: the agent row, `other`, then DEFAULT_MODEL
 * and ALLOWED_MODELS in their order (config/load.ts puts the default first
 * and drops duplicates; `*` lets any model in, and those count under `other`).
 */
export function usageRows(cfg: {
  readonly allowedModels: readonly string[];
  readonly defaultModel: string;
}): UsageRow[] {
  const rows: UsageRow[] = [
    { mode: 'agent', model: AGENT_MODEL_LABEL },
    { mode: 'standard', model: OTHER_MODEL_LABEL },
  ];
  const models = [cfg.defaultModel, ...cfg.allowedModels];
  for (const model of models) {
    if (rows.length === USAGE_ROWS) break;
    if (model === '*' || model === '' || model === OTHER_MODEL_LABEL) continue;
    if (rows.some((r) => r.mode === 'standard' && r.model === model)) continue;
    rows.push({ mode: 'standard', model });
  }
  return rows;
}

/** Snapshot key of each cell: `usage.<cell>`. */
export const USAGE_KEYS: readonly string[] = Object.freeze(Array.from({ length: USAGE_CELLS }, (_, i) => `usage.${i}`));

/** metric-table.ts's METRIC_PREFIX, written out: that table imports this one. */
const P = 'voice_live_proxy_';
const ROW_LABELS = { mode: ['standard', 'agent'], model: null } as const;

export interface UsageFamily {
  readonly def: MetricDef;
  /** [label text added after mode and model ('' for none), column, divisor to the unit rendered]. */
  readonly series: ReadonlyArray<readonly [string, UsageColumn, number]>;
}

export const USAGE_FAMILIES: readonly UsageFamily[] = Object.freeze([
  {
    def: metric(`${P}usage_audio_seconds_total`, 'Audio relayed, in seconds, by direction (in: from the browser).', {
      direction: ['in', 'out'],
    }),
    series: [
      ['direction="in"', UsageColumn.AudioInMs, 1000],
      ['direction="out"', UsageColumn.AudioOutMs, 1000],
    ],
  },
  {
    def: metric(`${P}usage_tokens_total`, "Tokens from the service's response.done usage, by direction.", {
      direction: ['input', 'output'],
    }),
    series: [
      ['direction="input"', UsageColumn.InputTokens, 1],
      ['direction="output"', UsageColumn.OutputTokens, 1],
    ],
  },
  {
    def: metric(
      `${P}usage_token_details_total`,
      'The parts of usage_tokens_total the service details, by kind (cached is part of input).',
      { kind: ['input_text', 'input_audio', 'input_cached', 'output_text', 'output_audio'] },
    ),
    series: [
      ['kind="input_text"', UsageColumn.InputTextTokens, 1],
      ['kind="input_audio"', UsageColumn.InputAudioTokens, 1],
      ['kind="input_cached"', UsageColumn.InputCachedTokens, 1],
      ['kind="output_text"', UsageColumn.OutputTextTokens, 1],
      ['kind="output_audio"', UsageColumn.OutputAudioTokens, 1],
    ],
  },
  {
    def: metric(`${P}usage_responses_total`, 'Responses completed (response.done events relayed).', {}),
    series: [['', UsageColumn.Responses, 1]],
  },
  {
    def: metric(`${P}usage_sessions_total`, 'Sessions finished, counted with their usage.', {}),
    series: [['', UsageColumn.Sessions, 1]],
  },
  {
    def: metric(`${P}usage_session_seconds_total`, 'Wall time of finished sessions, open to close, in seconds.', {}),
    series: [['', UsageColumn.SessionMs, 1000]],
  },
]);

function metric(name: string, help: string, labels: MetricDef['labels']): MetricDef {
  return Object.freeze({ name, type: 'counter', help, labels: { ...ROW_LABELS, ...labels }, appInsights: false });
}

/** The usage series of merged snapshots, for the rows this configuration has. */
export function renderUsage(s: Readonly<Record<string, number>>, rows: readonly UsageRow[]): string {
  let out = '';
  for (const fam of USAGE_FAMILIES) {
    out += `# HELP ${fam.def.name} ${fam.def.help}\n# TYPE ${fam.def.name} counter\n`;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      const labels = `mode="${row.mode}",model="${escapeLabel(row.model)}"`;
      for (const [extra, column, divisor] of fam.series) {
        const v = (s[USAGE_KEYS[r * USAGE_COLUMNS + column]] ?? 0) / divisor;
        out += `${fam.def.name}{${labels}${extra === '' ? '' : ','}${extra}} ${v}\n`;
      }
    }
  }
  return out;
}

/** Prometheus label values escape backslash, quote and newline. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** What every row's column adds up to (the telemetry pump sends these). */
export function columnTotal(cells: Float64Array, column: UsageColumn): number {
  let sum = 0;
  for (let r = 0; r < USAGE_ROWS; r++) sum += cells[r * USAGE_COLUMNS + column];
  return sum;
}
