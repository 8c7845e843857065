import { describe, expect, it } from 'vitest';
import { IntervalSet } from './intervals.js';
import { ConnectionSet } from './connections.js';
import { disjointRanges, formatRange, ipBlockSet } from './ipv4.js';

describe('IntervalSet', () => {
  it('normalises, subtracts and intersects', () => {
    const a = IntervalSet.from([[5, 10], [1, 3], [4, 4]]);
    expect(a.toString()).toBe('1-10');
    expect(a.subtract(IntervalSet.of(3, 5)).toString()).toBe('1-2,6-10');
    expect(a.intersect(IntervalSet.from([[0, 1], [9, 20]])).toString()).toBe('1,9-10');
    expect(a.containsSet(IntervalSet.of(2, 9))).toBe(true);
  });
});

describe('ConnectionSet spelling', () => {
  it('prints np-guard style', () => {
    expect(ConnectionSet.ALL.toString()).toBe('All Connections');
    expect(ConnectionSet.NONE.toString()).toBe('No Connections');
    expect(ConnectionSet.range('UDP', 53, 53).union(ConnectionSet.range('TCP', 80, 81)).toString()).toBe('TCP 80-81,UDP 53');
  });
});

describe('external ranges', () => {
  it('split the IPv4 space on every ipBlock and except boundary', () => {
    const blocks = disjointRanges([ipBlockSet('10.0.0.0/8', ['10.1.0.0/16'])!]).map(formatRange);
    expect(blocks).toEqual(['0.0.0.0-9.255.255.255', '10.0.0.0-10.0.255.255', '10.1.0.0-10.1.255.255', '10.2.0.0-10.255.255.255', '11.0.0.0-255.255.255.255']);
    expect(disjointRanges([]).map(formatRange)).toEqual(['0.0.0.0-255.255.255.255']);
  });
});
