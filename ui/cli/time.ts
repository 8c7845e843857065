import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `2026-11-01T10:00:00Z`, epoch seconds, or a duration before `now` (`90m`, `24h`, `7d`) → epoch seconds. */
export function parseTime(text: string, flag: string, now: Date = new Date()): number {
  const rel = /^(\d+)([smhdw])$/.exec(text);
  if (rel) return Math.floor(now.getTime() / 1000) - Number(rel[1]) * UNITS[rel[2]];
  if (/^\d{9,11}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: cannot read time "${text}" (use ISO 8601, epoch seconds, or a duration such as 24h)`);
  return Math.floor(ms / 1000);
}
