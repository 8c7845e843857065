/** Flow records as parsers produce them, and the aggregates the store keeps. */

/** IANA protocol numbers we name; anything else is kept as its number. */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

export function protocolName(n: number): string {
  return PROTOCOL_NAMES[n] ?? String(n);
}

export function protocolNumber(name: string): number | undefined {
  const upper = name.toUpperCase();
  for (const [num, n] of Object.entries(PROTOCOL_NAMES)) if (n === upper) return Number(num);
  const asNum = Number(name);
  return Number.isInteger(asNum) && asNum >= 0 && asNum <= 255 ? asNum : undefined;
}

export type FlowAction = 'ACCEPT' | 'REJECT';

/** One record from any flow source, normalised. Times are epoch seconds. */
export interface FlowRecord {
  srcIp: string;
  dstIp: string;
  /** 0 when the protocol has no ports (ICMP) or the source did not record them. */
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  action: FlowAction;
  /** OR of the TCP flags seen in the window (AWS tcp-flags), when recorded. */
  tcpFlags?: number;
  /** Relative to the observing interface, when recorded (AWS flow-direction). */
  direction?: 'ingress' | 'egress';
  /** The observation point (ENI / interface / node). Used to de-duplicate a flow logged at both ends. */
  observer?: string;
  /**
   * Set when the source itself knows the direction (Hubble `is_reply`, a capture's SYN, Zeek's originator): true when
   * this record is the server's side, false when it is the client's. Direction then needs no port heuristic.
   */
  reply?: boolean;
  /**
   * Who the source says holds each address (Hubble knows its endpoints): an `identityId` (`ns/name[Kind]`,
   * `reserved:world`…). Attribution uses it instead of the address.
   */
  srcIdentity?: string;
  dstIdentity?: string;
}

/** An address a DNS answer named, valid from `first` to `last` (the answer's time plus its TTL), epoch seconds. */
export interface DnsEvidence {
  ip: string;
  name: string;
  first: number;
  last: number;
}

/** Reserved (non-workload) identities a source can name; `identityEndpoint` maps them to endpoint kinds. */
export const RESERVED_IDENTITIES = ['world', 'host', 'remote-node', 'kube-apiserver', 'health', 'init', 'unmanaged', 'ingress'] as const;

/**
 * The endpoint an identity names, for an address `ip`: `ns/name[Kind]` → the workload; `reserved:world` → External;
 * `reserved:host` / `remote-node` / `health` → Node (by address); `reserved:kube-apiserver` → the `default/kubernetes`
 * Service. Undefined for anything else (then the address decides).
 */
export function identityEndpoint(identity: string, ip: string): { kind: string; namespace?: string; name?: string; ip?: string } | undefined {
  const m = /^([^/]*)\/([^[]+)\[([A-Za-z]+)\]$/.exec(identity);
  if (m) return { kind: m[3], namespace: m[1], name: m[2] };
  switch (identity) {
    case 'reserved:world': return { kind: 'External', ip };
    case 'reserved:host': case 'reserved:remote-node': case 'reserved:health': return { kind: 'Node', ip };
    case 'reserved:kube-apiserver': return { kind: 'Service', namespace: 'default', name: 'kubernetes' };
    default: return undefined;
  }
}

/** TCP flag bits as AWS records them. */
export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 } as const;

/**
 * IP-level aggregate kept by the store. One of the two ports may be 0 when ingest already knew it was the
 * client's ephemeral port (folding it is what keeps a week of logs small); when it could not tell, both are kept
 * and the analyzer decides with the cluster's listening ports.
 */
export interface FlowAggregate {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  /** Start of the time bucket, epoch seconds. */
  bucket: number;
  action: FlowAction;
  flows: number;
  packets: number;
  bytes: number;
  tcpFlags: number;
  firstSeen: number;
  lastSeen: number;
  observer: string;
  /** The source's identities of the two ends ('' or absent: the address decides). */
  srcIdentity?: string;
  dstIdentity?: string;
}

/** An aggregate as the analyzer sees it: already de-duplicated across observers, with the inputs that carried it. */
export interface ObservedAggregate extends Omit<FlowAggregate, 'observer'> {
  inputIds: number[];
}

/**
 * Aggregates as the store streams them: chunks, so a network-backed store can await between them and a pass pays one
 * await per chunk, not per row. A plain array of arrays is a valid source too (tests, in-memory estates).
 */
export type AggregateChunks = AsyncIterable<readonly ObservedAggregate[]> | Iterable<readonly ObservedAggregate[]>;

/** Group any iterable of aggregates into chunks of `size`. */
export function* inChunks(aggregates: Iterable<ObservedAggregate>, size = 4096): Generator<ObservedAggregate[]> {
  let chunk: ObservedAggregate[] = [];
  for (const a of aggregates) {
    chunk.push(a);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

/**
 * Aggregates in columns: what ingest moves between threads (the typed arrays transfer without a copy) and what the
 * store inserts. Row i's addresses and observer are `names[src[i]]`, `names[dst[i]]`, `names[observer[i]]`.
 */
export interface AggregateBatch {
  size: number;
  names: string[];
  src: Uint32Array;
  dst: Uint32Array;
  observer: Uint32Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  protocol: Uint8Array;
  accepted: Uint8Array;
  tcpFlags: Uint16Array;
  bucket: Float64Array;
  flows: Float64Array;
  packets: Float64Array;
  bytes: Float64Array;
  firstSeen: Float64Array;
  lastSeen: Float64Array;
  /** Identities as indexes into `names` (the empty name: none). Absent: no row has one. */
  srcIdentity?: Uint32Array;
  dstIdentity?: Uint32Array;
  /** DNS evidence the input carried (answers, Hubble destination names). */
  dns?: DnsEvidence[];
}

export function emptyBatch(size: number): AggregateBatch {
  return {
    size, names: [], src: new Uint32Array(size), dst: new Uint32Array(size), observer: new Uint32Array(size),
    srcPort: new Uint16Array(size), dstPort: new Uint16Array(size), protocol: new Uint8Array(size), accepted: new Uint8Array(size),
    tcpFlags: new Uint16Array(size), bucket: new Float64Array(size), flows: new Float64Array(size), packets: new Float64Array(size),
    bytes: new Float64Array(size), firstSeen: new Float64Array(size), lastSeen: new Float64Array(size),
  };
}

/** The buffers to list as transferables when posting a batch to another thread. */
export function batchBuffers(b: AggregateBatch): ArrayBuffer[] {
  return [b.src, b.dst, b.observer, b.srcPort, b.dstPort, b.protocol, b.accepted, b.tcpFlags, b.bucket, b.flows, b.packets, b.bytes, b.firstSeen, b.lastSeen]
    .concat(b.srcIdentity && b.dstIdentity ? [b.srcIdentity, b.dstIdentity] : [])
    .map((a) => a.buffer as ArrayBuffer);
}

export function batchRows(b: AggregateBatch): FlowAggregate[] {
  const out: FlowAggregate[] = [];
  for (let i = 0; i < b.size; i++) {
    out.push({
      srcIp: b.names[b.src[i]], dstIp: b.names[b.dst[i]], srcPort: b.srcPort[i], dstPort: b.dstPort[i], protocol: b.protocol[i],
      bucket: b.bucket[i], action: b.accepted[i] ? 'ACCEPT' : 'REJECT', flows: b.flows[i], packets: b.packets[i], bytes: b.bytes[i],
      tcpFlags: b.tcpFlags[i], firstSeen: b.firstSeen[i], lastSeen: b.lastSeen[i], observer: b.names[b.observer[i]],
      ...(b.srcIdentity && b.names[b.srcIdentity[i]] ? { srcIdentity: b.names[b.srcIdentity[i]] } : {}),
      ...(b.dstIdentity && b.names[b.dstIdentity[i]] ? { dstIdentity: b.names[b.dstIdentity[i]] } : {}),
    });
  }
  return out;
}

export function batchFromAggregates(aggs: readonly FlowAggregate[]): AggregateBatch {
  const b = emptyBatch(aggs.length);
  const index = new Map<string, number>();
  const name = (s: string) => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = b.names.push(s) - 1));
    return i;
  };
  aggs.forEach((a, i) => {
    b.src[i] = name(a.srcIp); b.dst[i] = name(a.dstIp); b.observer[i] = name(a.observer);
    b.srcPort[i] = a.srcPort; b.dstPort[i] = a.dstPort; b.protocol[i] = a.protocol; b.accepted[i] = a.action === 'ACCEPT' ? 1 : 0;
    b.tcpFlags[i] = a.tcpFlags; b.bucket[i] = a.bucket; b.flows[i] = a.flows; b.packets[i] = a.packets; b.bytes[i] = a.bytes;
    b.firstSeen[i] = a.firstSeen; b.lastSeen[i] = a.lastSeen;
  });
  if (aggs.some((a) => a.srcIdentity || a.dstIdentity)) {
    b.srcIdentity = new Uint32Array(aggs.length);
    b.dstIdentity = new Uint32Array(aggs.length);
    aggs.forEach((a, i) => { b.srcIdentity![i] = name(a.srcIdentity ?? ''); b.dstIdentity![i] = name(a.dstIdentity ?? ''); });
  }
  return b;
}
