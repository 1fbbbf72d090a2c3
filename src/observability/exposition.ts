// Prometheus text format 0.0.4, written from the metric tables: one HELP and
// TYPE header per family, then its samples.
import type { HistogramDef, MetricDef } from './metric-table';

export type Snapshot = Record<string, number>;

export function header(def: MetricDef): string {
  return `# HELP ${def.name} ${def.help}\n# TYPE ${def.name} ${def.type}\n`;
}

/** A family of one unlabelled sample. */
export function single(def: MetricDef, value: number | undefined): string {
  return `${header(def)}${def.name} ${num(value)}\n`;
}

/**
 * One histogram's samples (no header) from a snapshot: per-bucket counts
 * under `<key>.bucket.<i>` (not cumulative, so snapshots add up), then
 * `<key>.sum` and `<key>.count`. `labels` ('kind="minor"') follow `le`.
 */
export function histogramSamples(def: HistogramDef, s: Snapshot, key: string, labels = ''): string {
  const after = labels === '' ? '' : `,${labels}`;
  let out = '';
  let cumulative = 0;
  for (let i = 0; i < def.le.length; i++) {
    cumulative += s[`${key}.bucket.${i}`] ?? 0;
    out += `${def.name}_bucket{le="${def.le[i]}"${after}} ${num(cumulative)}\n`;
  }
  const suffix = labels === '' ? '' : `{${labels}}`;
  out += `${def.name}_sum${suffix} ${num(s[`${key}.sum`])}\n`;
  out += `${def.name}_count${suffix} ${num(s[`${key}.count`])}\n`;
  return out;
}

/** Go's ParseFloat spelling: NaN, +Inf, -Inf; JS prints everything else compatibly. */
export function num(v: number | undefined): string {
  if (v === undefined) return '0';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v); // NaN -> 'NaN', 1e-7 -> '1e-7'
}
