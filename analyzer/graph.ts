import {
  endpointId, protocolName, TCP,
  type AggregateChunks, type Edge, type Endpoint, type Graph, type GraphNode, type ObservedAggregate,
} from '../model/index.js';
import { portKey, type Holder, type IdentityIndex } from './identity.js';

export interface GraphOptions {
  /** Epoch seconds; only used to label the window (filtering happens in the store query). */
  since?: number;
  until?: number;
  namespace?: string;
  /** Input id → file path, for each edge's `sources`. */
  sourceName?: (inputId: number) => string;
}

/** Which end of an aggregate is the server, and on which port. */
export interface Oriented {
  client: Endpoint;
  server: Endpoint;
  port: number;
  /** True when the record was the server's reply (its bytes count, its flows do not open a new edge). */
  reply: boolean;
  /** Who held each address at the time: the pod-level detail policy evaluation needs. */
  clientHolder: Holder;
  serverHolder: Holder;
}

export const iso = (s: number) => new Date(s * 1000).toISOString();

/** Running totals of one edge. A request and its reply are one conversation: `flows` is the larger of the two counts. */
export class EdgeTally {
  forwardFlows = 0;
  replyFlows = 0;
  bytes = 0;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;
  readonly sources = new Set<number>();
  private lastSource = -1;

  constructor(readonly src: Endpoint, readonly dst: Endpoint, readonly protocol: string, readonly port: number, readonly verdict: Edge['verdict']) {}

  add(a: ObservedAggregate, reply: boolean): void {
    if (reply) this.replyFlows += a.flows; else this.forwardFlows += a.flows;
    this.bytes += a.bytes;
    if (a.firstSeen < this.first) this.first = a.firstSeen;
    if (a.lastSeen > this.last) this.last = a.lastSeen;
    // Nearly every aggregate carries one input, often the previous one's: skip the Set for repeats.
    if (a.inputIds.length === 1 && a.inputIds[0] === this.lastSource) return;
    for (const id of a.inputIds) this.sources.add(id);
    this.lastSource = a.inputIds.length === 1 ? a.inputIds[0] : -1;
  }

  get flows(): number {
    return Math.max(this.forwardFlows, this.replyFlows);
  }

  toEdge(sourceName: (id: number) => string): Edge {
    return {
      src: this.src, dst: this.dst, protocol: this.protocol, port: this.port, verdict: this.verdict, flows: this.flows, bytes: this.bytes,
      firstSeen: iso(this.first), lastSeen: iso(this.last), sources: [...this.sources].map(sourceName).sort(),
    };
  }
}

export function edgeKey(o: Oriented, protocol: string, verdict: string): string {
  return `${endpointId(o.client)}|${endpointId(o.server)}|${protocol}|${o.port}|${verdict}`;
}

/** The server's endpoint for a port: a node's address resolves to the host-network workload listening there. */
function serverEndpoint(h: Holder, protocol: string, port: number): Endpoint {
  return h.hostListeners?.get(portKey(protocol, port)) ?? h.endpoint;
}

/**
 * Direction, strongest evidence first: a port ingest already knew was ephemeral; the cluster's listening ports;
 * the TCP handshake flags; and only then the lower-port heuristic.
 */
export function orient(a: ObservedAggregate, identity: IdentityIndex): Oriented {
  const t = (a.firstSeen + a.lastSeen) / 2;
  // A source that knew its endpoints (Hubble) decides attribution; otherwise the address at time t.
  const src = identity.resolveWithIdentity(a.srcIp, t, a.srcIdentity).holder;
  const dst = identity.resolveWithIdentity(a.dstIp, t, a.dstIdentity).holder;
  const proto = protocolName(a.protocol);
  return isReply(a, src, dst)
    ? { client: dst.endpoint, server: serverEndpoint(src, proto, a.srcPort), port: a.srcPort, reply: true, clientHolder: dst, serverHolder: src }
    : { client: src.endpoint, server: serverEndpoint(dst, proto, a.dstPort), port: a.dstPort, reply: false, clientHolder: src, serverHolder: dst };
}

/** Whether the aggregate is the server's side of the conversation (`src` and `dst` hold its addresses). */
export function isReply(a: ObservedAggregate, src: Holder, dst: Holder): boolean {
  if (a.srcPort === 0 && a.dstPort !== 0) return false;
  if (a.dstPort === 0 && a.srcPort !== 0) return true;
  const proto = protocolName(a.protocol);
  const dstListens = dst.listens.has(portKey(proto, a.dstPort));
  const srcListens = src.listens.has(portKey(proto, a.srcPort));
  if (dstListens !== srcListens) return srcListens;
  if (a.protocol === 6 && a.tcpFlags & TCP.SYN) return (a.tcpFlags & TCP.ACK) !== 0;
  return a.dstPort > a.srcPort;
}

/** Workload dependency graph from attributed aggregates. Pure: same inputs, same (sorted) output. */
export async function buildGraph(identity: IdentityIndex, aggregates: AggregateChunks, opts: GraphOptions = {}): Promise<Graph> {
  const edges = new Map<string, EdgeTally>();
  for await (const chunk of aggregates) for (const a of chunk) {
    const o = orient(a, identity);
    const protocol = protocolName(a.protocol);
    const verdict = a.action === 'ACCEPT' ? 'allowed' : 'denied';
    const key = edgeKey(o, protocol, verdict);
    let e = edges.get(key);
    if (!e) edges.set(key, (e = new EdgeTally(o.client, o.server, protocol, o.port, verdict)));
    e.add(a, o.reply);
  }
  const ns = opts.namespace;
  const inNs = (ep: Endpoint) => ep.namespace === ns;
  const name = opts.sourceName ?? ((id: number) => String(id));
  const outEdges: Edge[] = sortEdges([...edges.values()].filter((e) => !ns || inNs(e.src) || inNs(e.dst)).map((e) => e.toEdge(name)));

  const nodes = new Map<string, GraphNode>();
  for (const w of identity.workloads) {
    if (ns && w.endpoint.namespace !== ns) continue;
    const id = endpointId(w.endpoint);
    nodes.set(id, { ...w.endpoint, id, serviceAccount: w.serviceAccount, labels: w.labels });
  }
  for (const e of outEdges) for (const ep of [e.src, e.dst]) {
    const id = endpointId(ep);
    if (!nodes.has(id)) nodes.set(id, { ...ep, id });
  }
  return {
    window: { since: opts.since !== undefined ? iso(opts.since) : null, until: opts.until !== undefined ? iso(opts.until) : null },
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: outEdges,
  };
}

type EdgeLike = Pick<Edge, 'src' | 'dst' | 'protocol' | 'port'> & { verdict?: string };

/** Edges in the contract's order (src id, dst id, protocol, port, verdict); ids are computed once per edge, not per comparison. */
export function sortEdges<T extends EdgeLike>(edges: T[]): T[] {
  const keyed = edges.map((e) => ({ e, s: endpointId(e.src), d: endpointId(e.dst) }));
  keyed.sort((x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : x.d < y.d ? -1 : x.d > y.d ? 1 : 0)
    || x.e.protocol.localeCompare(y.e.protocol) || x.e.port - y.e.port || (x.e.verdict ?? '').localeCompare(y.e.verdict ?? ''));
  return keyed.map((k) => k.e);
}
