/**
 * Kubernetes CronJob schedules (standard 5-field cron, names, steps, ranges, lists, @macros): the longest gap between
 * two runs. An observation window shorter than that may hold no run at all, so the CronJob's traffic may be missing.
 */

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS = [
  { name: 'minute', lo: 0, hi: 59 }, { name: 'hour', lo: 0, hi: 23 }, { name: 'day of month', lo: 1, hi: 31 },
  { name: 'month', lo: 1, hi: 12, names: MONTHS, base: 1 }, { name: 'day of week', lo: 0, hi: 7, names: DAYS, base: 0 },
] as const;
/** Eight years: long enough for a February 29th schedule to fire twice. */
const HORIZON_DAYS = 8 * 366;
const DAY = 86400;

export type CronGap = { maxGapSeconds: number } | { error: string };

interface Parsed { sets: Set<number>[]; domAny: boolean; dowAny: boolean }

function parseField(text: string, f: (typeof FIELDS)[number]): Set<number> | string {
  const out = new Set<number>();
  const value = (s: string): number => {
    const names = 'names' in f ? f.names : undefined;
    const i = names ? names.indexOf(s.toUpperCase() as never) : -1;
    return i >= 0 ? i + (f as { base: number }).base : /^\d+$/.test(s) ? Number(s) : Number.NaN;
  };
  for (const part of text.split(',')) {
    const m = /^(\*|\?|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return `bad ${f.name} "${part}"`;
    const any = m[1] === '*' || m[1] === '?';
    const lo = any ? f.lo : value(m[1]);
    const hi = any ? f.hi : m[2] !== undefined ? value(m[2]) : m[3] !== undefined ? f.hi : lo;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (![lo, hi].every((n) => Number.isInteger(n) && n >= f.lo && n <= f.hi) || lo > hi || step < 1) return `bad ${f.name} "${part}"`;
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return out;
}

function parse(schedule: string): Parsed | string {
  // Kubernetes accepts (but discourages) a TZ= / CRON_TZ= prefix; the zone does not change the gaps.
  const expr = schedule.trim().replace(/^(CRON_)?TZ=\S+\s+/, '');
  const fields = (MACROS[expr.toLowerCase()] ?? expr).split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields, got ${fields.length}`;
  const sets: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const s = parseField(fields[i], FIELDS[i]);
    if (typeof s === 'string') return s;
    sets.push(s);
  }
  if (sets[4].has(7)) sets[4].add(0);
  return { sets, domAny: fields[2] === '*' || fields[2] === '?', dowAny: fields[4] === '*' || fields[4] === '?' };
}

/** Longest time between consecutive runs, from the day-level pattern (the runs within a day repeat every day). */
export function cronMaxGap(schedule: string): CronGap {
  const p = parse(schedule);
  if (typeof p === 'string') return { error: p };
  const [minutes, hours, dom, months, dow] = p.sets;
  const daily = [...hours].sort((a, b) => a - b).flatMap((h) => [...minutes].sort((a, b) => a - b).map((m) => (h * 60 + m) * 60));
  let gap = 0;
  for (let i = 1; i < daily.length; i++) gap = Math.max(gap, daily[i] - daily[i - 1]);
  const start = Date.UTC(2024, 0, 1) / 1000;
  let previous: number | undefined;
  let days = 0;
  for (let d = 0; d < HORIZON_DAYS; d++) {
    const date = new Date((start + d * DAY) * 1000);
    const domOk = dom.has(date.getUTCDate());
    const dowOk = dow.has(date.getUTCDay());
    // Cron's rule: when both day fields are restricted, either one matching is enough.
    const dayOk = p.domAny || p.dowAny ? domOk && dowOk : domOk || dowOk;
    if (!dayOk || !months.has(date.getUTCMonth() + 1)) continue;
    if (previous !== undefined) gap = Math.max(gap, (d - previous) * DAY - daily[daily.length - 1] + daily[0]);
    previous = d;
    days++;
  }
  if (previous === undefined) return { error: 'never runs' };
  // One run in eight years (or less): as good as never within any window.
  return { maxGapSeconds: days * daily.length <= 1 ? HORIZON_DAYS * DAY : gap };
}

/** `1h59m59s`, `2d`, `90s`: largest units first, zero parts left out. */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [['d', DAY], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  return parts.join('') || '0s';
}
