import { TCP, type FlowAggregate, type FlowRecord } from '../model/index.js';

export interface AggregatorOptions {
  /** Time bucket width in seconds. Small enough for IP reuse within minutes to stay attributable. */
  bucketSeconds?: number;
  /** Flush to the store when this many distinct aggregates are held: memory stays flat whatever the file size. */
  maxEntries?: number;
}

export const DEFAULT_BUCKET_SECONDS = 300;

/** Linux's default ip_local_port_range starts here; clients pick their source port at or above it. */
const EPHEMERAL_MIN = 32768;

/**
 * Which of the two ports is the client's ephemeral port, when the record itself says so: the TCP handshake flags
 * first, then "one side in the ephemeral range, the other not". Returns the ports with the ephemeral one folded to
 * 0; when it cannot tell, both are kept and the analyzer decides with the cluster's listening ports.
 */
export function foldEphemeralPort(r: FlowRecord): [number, number] {
  const { srcPort: sp, dstPort: dp } = r;
  if (r.protocol !== 6 && r.protocol !== 17 && r.protocol !== 132) return [sp, dp];
  if (r.protocol === 6 && r.tcpFlags !== undefined && r.tcpFlags & TCP.SYN) {
    return r.tcpFlags & TCP.ACK ? [sp, 0] : [0, dp];
  }
  if (sp >= EPHEMERAL_MIN && dp < EPHEMERAL_MIN && dp !== 0) return [0, dp];
  if (dp >= EPHEMERAL_MIN && sp < EPHEMERAL_MIN && sp !== 0) return [sp, 0];
  return [sp, dp];
}

/** Folds records into IP-level aggregates (src, dst, ports, protocol, bucket, action, observer). */
export class FlowAggregator {
  private readonly bucketSeconds: number;
  private readonly maxEntries: number;
  private map = new Map<string, FlowAggregate>();
  private strings = new Map<string, string>();
  records = 0;

  constructor(private readonly flush: (aggs: Iterable<FlowAggregate>) => void, opts: AggregatorOptions = {}) {
    this.bucketSeconds = opts.bucketSeconds ?? DEFAULT_BUCKET_SECONDS;
    this.maxEntries = opts.maxEntries ?? 200_000;
  }

  add(r: FlowRecord): void {
    this.records++;
    const [sp, dp] = foldEphemeralPort(r);
    const bucket = r.start - (r.start % this.bucketSeconds);
    const observer = r.observer ?? '';
    const key = `${r.srcIp} ${r.dstIp} ${sp} ${dp} ${r.protocol} ${bucket} ${r.action} ${observer}`;
    const a = this.map.get(key);
    if (a) {
      a.flows++;
      a.packets += r.packets;
      a.bytes += r.bytes;
      a.tcpFlags |= r.tcpFlags ?? 0;
      if (r.start < a.firstSeen) a.firstSeen = r.start;
      if (r.end > a.lastSeen) a.lastSeen = r.end;
      return;
    }
    this.map.set(key, {
      srcIp: this.intern(r.srcIp), dstIp: this.intern(r.dstIp), srcPort: sp, dstPort: dp, protocol: r.protocol, bucket, action: r.action,
      flows: 1, packets: r.packets, bytes: r.bytes, tcpFlags: r.tcpFlags ?? 0, firstSeen: r.start, lastSeen: r.end, observer: this.intern(observer),
    });
    if (this.map.size >= this.maxEntries) this.drain();
  }

  /**
   * Parsers hand out slices of a 1 MiB read chunk, and in V8 a slice can keep its whole parent chunk alive. Kept
   * strings are copied once and shared, so held aggregates pin no chunk and repeated addresses cost nothing.
   */
  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    const copy = Buffer.from(s, 'utf8').toString('utf8');
    this.strings.set(copy, copy);
    return copy;
  }

  /** Hand everything held to the store. Partial aggregates of one key across flushes are summed by the store's query. */
  drain(): void {
    if (this.map.size === 0) return;
    this.flush(this.map.values());
    this.map = new Map();
    if (this.strings.size > this.maxEntries) this.strings = new Map();
  }
}
