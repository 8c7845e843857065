/**
 * Sets of integers as sorted, disjoint, non-adjacent closed intervals. Immutable: every operation returns a new set.
 * Used for port ranges (1..65535) and IPv4 address space (0..2^32-1).
 */
export type Interval = readonly [lo: number, hi: number];

export class IntervalSet {
  private constructor(readonly intervals: readonly Interval[]) {}

  static readonly EMPTY = new IntervalSet([]);

  static of(lo: number, hi: number): IntervalSet {
    return lo > hi ? IntervalSet.EMPTY : new IntervalSet([[lo, hi]]);
  }

  /** Normalises any list of intervals (unsorted, overlapping) into a set. */
  static from(list: Iterable<Interval>): IntervalSet {
    const sorted = [...list].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [lo, hi] of sorted) {
      const last = out[out.length - 1];
      if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
      else out.push([lo, hi]);
    }
    return new IntervalSet(out);
  }

  isEmpty(): boolean {
    return this.intervals.length === 0;
  }

  contains(n: number): boolean {
    for (const [lo, hi] of this.intervals) {
      if (n < lo) return false;
      if (n <= hi) return true;
    }
    return false;
  }

  covers(lo: number, hi: number): boolean {
    return this.intervals.some(([a, b]) => a <= lo && b >= hi);
  }

  /** True when `other` is a subset of this set. */
  containsSet(other: IntervalSet): boolean {
    return other.subtract(this).isEmpty();
  }

  equals(other: IntervalSet): boolean {
    if (this.intervals.length !== other.intervals.length) return false;
    return this.intervals.every(([lo, hi], i) => lo === other.intervals[i][0] && hi === other.intervals[i][1]);
  }

  union(other: IntervalSet): IntervalSet {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    return IntervalSet.from([...this.intervals, ...other.intervals]);
  }

  intersect(other: IntervalSet): IntervalSet {
    const out: Interval[] = [];
    let i = 0;
    let j = 0;
    const a = this.intervals;
    const b = other.intervals;
    while (i < a.length && j < b.length) {
      const lo = Math.max(a[i][0], b[j][0]);
      const hi = Math.min(a[i][1], b[j][1]);
      if (lo <= hi) out.push([lo, hi]);
      if (a[i][1] < b[j][1]) i++;
      else j++;
    }
    return out.length === 0 ? IntervalSet.EMPTY : new IntervalSet(out);
  }

  subtract(other: IntervalSet): IntervalSet {
    if (this.isEmpty() || other.isEmpty()) return this;
    const out: Interval[] = [];
    let j = 0;
    const b = other.intervals;
    for (const [lo0, hi] of this.intervals) {
      let lo = lo0;
      while (j < b.length && b[j][1] < lo) j++;
      let k = j;
      while (k < b.length && b[k][0] <= hi) {
        if (b[k][0] > lo) out.push([lo, b[k][0] - 1]);
        lo = Math.max(lo, b[k][1] + 1);
        if (b[k][1] >= hi) break;
        k++;
      }
      if (lo <= hi) out.push([lo, hi]);
    }
    return out.length === 0 ? IntervalSet.EMPTY : new IntervalSet(out);
  }

  /** `80,8080-8090` — the np-guard spelling. */
  toString(): string {
    return this.intervals.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
  }
}
