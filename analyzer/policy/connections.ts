import { IntervalSet } from './intervals.js';

/** The protocols NetworkPolicy / AdminNetworkPolicy can name. */
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const MIN_PORT = 1;
export const MAX_PORT = 65535;
const ALL_PORTS = IntervalSet.of(MIN_PORT, MAX_PORT);

export function isProtocol(p: string): p is Protocol {
  return (PROTOCOLS as readonly string[]).includes(p);
}

/** A set of (protocol, port) pairs: protocol → port intervals. Immutable. */
export class ConnectionSet {
  private constructor(private readonly ports: Readonly<Record<Protocol, IntervalSet>>) {}

  static readonly NONE = new ConnectionSet({ TCP: IntervalSet.EMPTY, UDP: IntervalSet.EMPTY, SCTP: IntervalSet.EMPTY });
  static readonly ALL = new ConnectionSet({ TCP: ALL_PORTS, UDP: ALL_PORTS, SCTP: ALL_PORTS });

  static ports(protocol: Protocol, ports: IntervalSet): ConnectionSet {
    return ConnectionSet.NONE.with(protocol, ports.intersect(ALL_PORTS));
  }

  static range(protocol: Protocol, lo: number, hi: number): ConnectionSet {
    return ConnectionSet.ports(protocol, IntervalSet.of(lo, hi));
  }

  static allPorts(protocol: Protocol): ConnectionSet {
    return ConnectionSet.ports(protocol, ALL_PORTS);
  }

  portsOf(protocol: Protocol): IntervalSet {
    return this.ports[protocol];
  }

  private with(protocol: Protocol, ports: IntervalSet): ConnectionSet {
    return new ConnectionSet({ ...this.ports, [protocol]: ports });
  }

  private combine(other: ConnectionSet, op: (a: IntervalSet, b: IntervalSet) => IntervalSet): ConnectionSet {
    return new ConnectionSet({
      TCP: op(this.ports.TCP, other.ports.TCP),
      UDP: op(this.ports.UDP, other.ports.UDP),
      SCTP: op(this.ports.SCTP, other.ports.SCTP),
    });
  }

  union(other: ConnectionSet): ConnectionSet {
    if (other.isEmpty() || this.isAll()) return this;
    if (this.isEmpty() || other.isAll()) return other;
    return this.combine(other, (a, b) => a.union(b));
  }

  intersect(other: ConnectionSet): ConnectionSet {
    if (this.isEmpty() || other.isAll()) return this;
    if (other.isEmpty() || this.isAll()) return other;
    return this.combine(other, (a, b) => a.intersect(b));
  }

  subtract(other: ConnectionSet): ConnectionSet {
    if (this.isEmpty() || other.isEmpty()) return this;
    return this.combine(other, (a, b) => a.subtract(b));
  }

  isEmpty(): boolean {
    if (this === ConnectionSet.NONE) return true;
    return this.ports.TCP.isEmpty() && this.ports.UDP.isEmpty() && this.ports.SCTP.isEmpty();
  }

  isAll(): boolean {
    if (this === ConnectionSet.ALL) return true;
    return this.ports.TCP.equals(ALL_PORTS) && this.ports.UDP.equals(ALL_PORTS) && this.ports.SCTP.equals(ALL_PORTS);
  }

  equals(other: ConnectionSet): boolean {
    return PROTOCOLS.every((p) => this.ports[p].equals(other.ports[p]));
  }

  contains(protocol: Protocol, port: number): boolean {
    return this.ports[protocol].contains(port);
  }

  /** np-guard's spelling: `All Connections`, `No Connections`, or `SCTP 9003,TCP 80-81,UDP 53` (protocols sorted by name). */
  toString(): string {
    if (this.isAll()) return 'All Connections';
    if (this.isEmpty()) return 'No Connections';
    return PROTOCOLS.filter((p) => !this.ports[p].isEmpty())
      .map((p) => `${p} ${this.ports[p].toString()}`)
      .sort()
      .join(',');
  }
}
