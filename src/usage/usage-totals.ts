// The usage sink behind /metrics: adds each session's usage, as it grows, to
// its (mode, model) row of Metrics.usage (observability/usage-metric-table.ts).
// Totals only: no caller, address or session is ever a label.
import { AGENT_ROW, OTHER_ROW, USAGE_COLUMNS, UsageColumn, type UsageRow } from '../observability/usage-metric-table';
import { AudioDirection, type ResponseTokens, type SessionUsage, type UsageSink } from './usage-sink';

/** What the totals need of a session (relay/session.ts has it). */
export interface Totaled {
  readonly target: { readonly mode: string; readonly label: string };
  /** Its row's first cell in the table, -1 until the first count. */
  usageCell: number;
}

export class UsageTotals implements UsageSink<Totaled> {
  private readonly rowOf: ReadonlyMap<string, number>;

  constructor(
    /** Metrics.usage: USAGE_ROWS x USAGE_COLUMNS counts. */
    private readonly cells: Float64Array,
    rows: readonly UsageRow[],
  ) {
    const m = new Map<string, number>();
    rows.forEach((r, i) => {
      if (r.mode === 'standard' && i !== OTHER_ROW) m.set(r.model, i);
    });
    this.rowOf = m;
  }

  /** The session's row, found once (a Map lookup), then kept on the session. */
  private cell(s: Totaled): number {
    let c = s.usageCell;
    if (c === -1) {
      const row = s.target.mode === 'agent' ? AGENT_ROW : (this.rowOf.get(s.target.label) ?? OTHER_ROW);
      c = s.usageCell = row * USAGE_COLUMNS;
    }
    return c;
  }

  audioAdded(s: Totaled, audioMs: number, direction: AudioDirection): void {
    const column = direction === AudioDirection.In ? UsageColumn.AudioInMs : UsageColumn.AudioOutMs;
    this.cells[this.cell(s) + column] += audioMs;
  }

  responseStarted(): void {}

  responseDone(s: Totaled, _tokens: number, d: ResponseTokens): void {
    const c = this.cell(s);
    const t = this.cells;
    t[c + UsageColumn.Responses]++;
    t[c + UsageColumn.InputTokens] += d.inputTokens;
    t[c + UsageColumn.OutputTokens] += d.outputTokens;
    t[c + UsageColumn.InputTextTokens] += d.inputTextTokens;
    t[c + UsageColumn.InputAudioTokens] += d.inputAudioTokens;
    t[c + UsageColumn.InputCachedTokens] += d.cachedTokens;
    t[c + UsageColumn.OutputTextTokens] += d.outputTextTokens;
    t[c + UsageColumn.OutputAudioTokens] += d.outputAudioTokens;
  }

  sessionFinished(s: Totaled, _usage: SessionUsage, durationMs: number): void {
    const c = this.cell(s);
    this.cells[c + UsageColumn.Sessions]++;
    this.cells[c + UsageColumn.SessionMs] += durationMs;
  }
}
