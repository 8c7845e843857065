/** Plain-text tables for the bench report: first column left-aligned, the rest right-aligned. */

export type Row = readonly string[] | { section: string };

export function renderTable(header: readonly string[], rows: readonly Row[]): string {
  const cells = [header, ...rows.filter((r): r is readonly string[] => Array.isArray(r))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ''))));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? pad(c, widths[i], 'left') : pad(c, widths[i], 'right'))).join('  ').trimEnd();
  const total = widths.reduce((s, w) => s + w, 0) + 2 * (widths.length - 1);
  const out = [line(header), '─'.repeat(total)];
  for (const r of rows) out.push(Array.isArray(r) ? line(r as readonly string[]) : (r as { section: string }).section);
  return out.join('\n') + '\n';
}

/** Display width: the check marks and arrows used here are one column each. */
function width(s: string): number {
  return [...String(s)].length;
}

function pad(s: string, w: number, side: 'left' | 'right'): string {
  s = String(s);
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return side === 'left' ? s + fill : fill + s;
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  /** 1,000,000 → "1M", 5,000,000 → "5M", 250,000 → "250k". */
  size: (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n % 1000 === 0 ? `${n / 1000}k` : String(n)),
  rate: (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`,
  sec: (s: number) => `${s.toFixed(s < 10 ? 2 : 1)} s`,
  mb: (n: number | undefined) => (n === undefined ? 'n/a' : `${Math.round(n)} MB`),
  bytes: (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : `${(b / (1 << 20)).toFixed(0)} MiB`),
  ratio: (x: number) => `${x.toFixed(2)}×`,
  pct: (x: number) => `${(x * 100).toFixed(1)}%`,
};

export const mark = (ok: boolean) => (ok ? '✓' : '✗');
