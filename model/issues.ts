/** Bad data is a value: a located reason, counted per reason. */
export interface InputIssue {
  file: string;
  /** 1-based line, when the format is line oriented. */
  line?: number;
  /** Byte offset, when the format is binary or the line is unknown. */
  offset?: number;
  /** Short stable reason (the key counts are kept by), e.g. `bad-field-count`. */
  reason: string;
  /** Human detail. */
  detail?: string;
}

export function formatIssue(i: InputIssue): string {
  const where = i.line !== undefined ? `:${i.line}` : i.offset !== undefined ? `@${i.offset}` : '';
  return `${i.file}${where}: ${i.reason}${i.detail ? ` (${i.detail})` : ''}`;
}

/** Counts of records read and skipped per reason, for one input. */
export interface ReadCounts {
  read: number;
  skipped: Record<string, number>;
  /** Facts about records that were read, not skipped (e.g. Hubble drop reasons: `dropped:Policy denied`). */
  notes?: Record<string, number>;
}

export function countSkip(c: ReadCounts, reason: string): void {
  c.skipped[reason] = (c.skipped[reason] ?? 0) + 1;
}

export function totalSkipped(c: ReadCounts): number {
  return Object.values(c.skipped).reduce((a, b) => a + b, 0);
}
