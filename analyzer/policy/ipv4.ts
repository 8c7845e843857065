import { IntervalSet } from './intervals.js';

/** IPv4 address space as integers 0..2^32-1; policies' ipBlocks become interval sets over it. */
export const IPV4_MAX = 0xffffffff;
export const ALL_IPV4 = IntervalSet.of(0, IPV4_MAX);

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3];
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv6(s: string): boolean {
  return s.includes(':');
}

/** `10.0.0.0/8` (or a bare address) → its interval; undefined when not IPv4 or malformed. */
export function parseCidr(cidr: string): IntervalSet | undefined {
  const [addr, lenStr] = cidr.trim().split('/');
  const base = parseIpv4(addr);
  if (base === undefined) return undefined;
  const len = lenStr === undefined ? 32 : Number(lenStr);
  if (!Number.isInteger(len) || len < 0 || len > 32) return undefined;
  const size = 2 ** (32 - len);
  const lo = Math.floor(base / size) * size;
  return IntervalSet.of(lo, lo + size - 1);
}

/** ipBlock semantics: the CIDR minus every `except` CIDR. */
export function ipBlockSet(cidr: string, except: readonly string[] = []): IntervalSet | undefined {
  let set = parseCidr(cidr);
  if (!set) return undefined;
  for (const e of except) {
    const ex = parseCidr(e);
    if (ex) set = set.subtract(ex);
  }
  return set;
}

/**
 * Split the whole IPv4 space into disjoint ranges at every boundary of the given sets, so that each range is either
 * inside or outside every input set (what np-guard prints as `a.b.c.d-e.f.g.h[External]` peers).
 */
export function disjointRanges(sets: readonly IntervalSet[]): IntervalSet[] {
  const cuts = new Set<number>([0]);
  for (const s of sets) {
    for (const [lo, hi] of s.intervals) {
      cuts.add(lo);
      if (hi < IPV4_MAX) cuts.add(hi + 1);
    }
  }
  const starts = [...cuts].sort((a, b) => a - b);
  return starts.map((lo, i) => IntervalSet.of(lo, i + 1 < starts.length ? starts[i + 1] - 1 : IPV4_MAX));
}

export function formatRange(set: IntervalSet): string {
  return set.intervals.map(([lo, hi]) => `${formatIpv4(lo)}-${formatIpv4(hi)}`).join(',');
}
