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
}

/** An aggregate as the analyzer sees it: already de-duplicated across observers, with the inputs that carried it. */
export interface ObservedAggregate extends Omit<FlowAggregate, 'observer'> {
  inputIds: number[];
}
