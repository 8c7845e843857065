import { describe, expect, it } from 'vitest';
import { batchRows, type FlowAggregate, type FlowRecord } from '../model/index.js';
import { FlowAggregator, foldEphemeralPort } from './aggregate.js';

const r = (sp: number, dp: number, extra: Partial<FlowRecord> = {}): FlowRecord => ({
  srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: sp, dstPort: dp, protocol: 6, packets: 1, bytes: 100, start: 1000, end: 1060, action: 'ACCEPT', ...extra,
});

describe('foldEphemeralPort', () => {
  it('trusts the handshake: SYN marks the client, SYN-ACK the server', () => {
    expect(foldEphemeralPort(r(41000, 50051, { tcpFlags: 2 }))).toEqual([0, 50051]);
    expect(foldEphemeralPort(r(50051, 41000, { tcpFlags: 18 }))).toEqual([50051, 0]);
    expect(foldEphemeralPort(r(50051, 41000, { tcpFlags: 19 }))).toEqual([50051, 0]);
  });
  it('folds a port in the ephemeral range only when the other is not', () => {
    expect(foldEphemeralPort(r(41000, 8080))).toEqual([0, 8080]);
    expect(foldEphemeralPort(r(8080, 41000))).toEqual([8080, 0]);
    expect(foldEphemeralPort(r(41000, 50051))).toEqual([41000, 50051]); // ambiguous: the analyzer decides
    expect(foldEphemeralPort(r(20641, 22))).toEqual([20641, 22]);
    expect(foldEphemeralPort(r(0, 0, { protocol: 1 }))).toEqual([0, 0]);
  });
});

describe('FlowAggregator', () => {
  it('folds records of one conversation and bucket, keeps observers apart, and flushes when full', () => {
    const flushed: FlowAggregate[][] = [];
    const agg = new FlowAggregator((b) => flushed.push(batchRows(b)), { bucketSeconds: 300, maxEntries: 3 });
    agg.add(r(41000, 8080, { observer: 'eni-a' }));
    agg.add(r(42000, 8080, { observer: 'eni-a', start: 1100, end: 1160, bytes: 50, tcpFlags: 2 }));
    agg.add(r(41000, 8080, { observer: 'eni-b' }));
    expect(flushed).toHaveLength(0);
    agg.add(r(41000, 8080, { observer: 'eni-a', start: 1300, end: 1360 })); // next bucket → third entry → flush
    expect(flushed).toHaveLength(1);
    const [a, b, c] = flushed[0];
    expect(a).toMatchObject({ srcPort: 0, dstPort: 8080, bucket: 900, flows: 2, bytes: 150, tcpFlags: 2, firstSeen: 1000, lastSeen: 1160, observer: 'eni-a' });
    expect(b).toMatchObject({ observer: 'eni-b', flows: 1 });
    expect(c).toMatchObject({ bucket: 1200 });
    agg.drain();
    expect(flushed).toHaveLength(1); // nothing left after the flush
    expect(agg.records).toBe(4);
  });
});
