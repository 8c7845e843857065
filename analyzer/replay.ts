import { endpointId, protocolName, type DeniedEdge, type Endpoint, type AggregateChunks, type ObservedAggregate } from '../model/index.js';
import { EdgeTally, isReply, iso, orient, sortEdges, type Oriented } from './graph.js';
import type { Holder, IdentityIndex, Interval } from './identity.js';
import { isProtocol, type Protocol } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { IntervalSet } from './policy/intervals.js';
import { parseIpv4 } from './policy/ipv4.js';
import type { DecidedBy, Decision, Peer, PodPeer } from './policy/types.js';

export type { DeniedEdge } from '../model/index.js';

export interface ReplayResult {
  denied: DeniedEdge[];
  allowedFlows: number;
  deniedFlows: number;
  /** ICMP and other protocols policies cannot name port by port: counted, not judged. */
  notEvaluatedFlows: number;
  /** How many aggregates were replayed (for throughput figures). */
  aggregates: number;
}

/** Turns the holders of observed addresses into the evaluator's peers, one stable object per pod and per address. */
export class PeerMapper {
  private readonly pods = new WeakMap<Holder, PodPeer>();
  private readonly externals = new Map<string, Peer>();

  constructor(private readonly identity: IdentityIndex) {}

  peer(h: Holder, ip: string): Peer {
    if (h.pod) {
      let p = this.pods.get(h);
      if (!p) {
        p = {
          kind: 'pod', namespace: h.pod.namespace, name: h.pod.name, labels: h.pod.labels, containerPorts: h.pod.containerPorts, ip,
          namespaceLabels: this.identity.namespaceLabels(h.pod.namespace),
        };
        this.pods.set(h, p);
      }
      return p;
    }
    // Nodes, Service VIPs, host-network pods and outside addresses: policies see them only as addresses (ipBlock).
    let e = this.externals.get(ip);
    if (!e) {
      const n = parseIpv4(ip);
      e = { kind: 'external', addresses: n === undefined ? IntervalSet.EMPTY : IntervalSet.of(n, n) };
      this.externals.set(ip, e);
    }
    return e;
  }
}

interface DeniedTally { tally: EdgeTally; decidedBy: DecidedBy }

/** The verdict and the edge totals for one (client, server, protocol, port), computed once and reused. */
interface Slot { tally: EdgeTally; denied: boolean }

/**
 * Replays every observed *allowed* aggregate against a policy engine: which of today's flows would the policies drop,
 * and which rule decides. A reply is judged as its request (policies are stateful), and counted once with it.
 *
 * Millions of aggregates repeat a few thousand (pod, pod, port) combinations, so each combination is decided once:
 * the cache is keyed by the holder objects themselves (stable per pod and time interval) and never builds a string
 * per aggregate.
 */
export async function replay(identity: IdentityIndex, aggregates: AggregateChunks, engine: PolicyEngine): Promise<ReplayResult> {
  const peers = new PeerMapper(identity);
  const slots = new Map<unknown, Map<unknown, Map<number, Slot>>>();
  const allowed = new Map<string, EdgeTally>();
  const denied = new Map<string, DeniedTally>();
  const others = new Map<string, EdgeTally>();
  let count = 0;
  // The store yields aggregates grouped by conversation, time ascending: consecutive ones usually differ only in their
  // bucket. While both addresses keep their holders, the previous aggregate's slot is this one's too.
  let last: ObservedAggregate | undefined;
  let lastSrc: Readonly<Interval> | undefined;
  let lastDst: Readonly<Interval> | undefined;
  let lastSlot: Slot | undefined;
  let lastReply = false;
  for await (const chunk of aggregates) for (const a of chunk) {
    if (a.action !== 'ACCEPT') continue;
    count++;
    const t = (a.firstSeen + a.lastSeen) / 2;
    if (last && lastSlot && a.srcPort === last.srcPort && a.dstPort === last.dstPort && a.protocol === last.protocol
      && a.tcpFlags === last.tcpFlags && a.srcIp === last.srcIp && a.dstIp === last.dstIp
      && a.srcIdentity === last.srcIdentity && a.dstIdentity === last.dstIdentity
      && t >= lastSrc!.start && t < lastSrc!.end && t >= lastDst!.start && t < lastDst!.end) {
      lastSlot.tally.add(a, lastReply);
      continue;
    }
    // Orientation without allocating (this loop runs per aggregate): the same rules as `orient`.
    const srcIv = identity.resolveWithIdentity(a.srcIp, t, a.srcIdentity);
    const dstIv = identity.resolveWithIdentity(a.dstIp, t, a.dstIdentity);
    const srcHolder = srcIv.holder;
    const dstHolder = dstIv.holder;
    const reply = isReply(a, srcHolder, dstHolder);
    const clientHolder = reply ? dstHolder : srcHolder;
    const serverHolder = reply ? srcHolder : dstHolder;
    const clientIp = reply ? a.dstIp : a.srcIp;
    const serverIp = reply ? a.srcIp : a.dstIp;
    const port = reply ? a.srcPort : a.dstPort;
    // Pods are decided per pod; anything else per address (ipBlocks see addresses).
    const ck = clientHolder.pod ? clientHolder : clientIp;
    const sk = serverHolder.pod ? serverHolder : serverIp;
    let byServer = slots.get(ck);
    if (!byServer) slots.set(ck, (byServer = new Map()));
    let byPort = byServer.get(sk);
    if (!byPort) byServer.set(sk, (byPort = new Map()));
    const pk = port * 256 + a.protocol;
    let slot = byPort.get(pk);
    if (!slot) {
      const o = orient(a, identity);
      slot = decideSlot(o, a.protocol, peers.peer(clientHolder, clientIp), peers.peer(serverHolder, serverIp), engine, allowed, denied, others);
      byPort.set(pk, slot);
    }
    slot.tally.add(a, reply);
    last = a;
    lastSrc = srcIv;
    lastDst = dstIv;
    lastSlot = slot;
    lastReply = reply;
  }
  const sum = (m: Iterable<{ flows: number }>) => [...m].reduce((s, t) => s + t.flows, 0);
  const deniedEdges = sortEdges([...denied.values()].map(({ tally: t, decidedBy }) => ({
    src: t.src, dst: t.dst, protocol: t.protocol, port: t.port, flows: t.flows, firstSeen: iso(t.first), lastSeen: iso(t.last), decidedBy,
  })));
  return {
    denied: deniedEdges,
    allowedFlows: sum(allowed.values()),
    deniedFlows: sum(deniedEdges),
    notEvaluatedFlows: sum(others.values()),
    aggregates: count,
  };
}

function decideSlot(
  o: Oriented, protocolNumber: number, src: Peer, dst: Peer, engine: PolicyEngine,
  allowed: Map<string, EdgeTally>, denied: Map<string, DeniedTally>, others: Map<string, EdgeTally>,
): Slot {
  const protocol = protocolName(protocolNumber);
  const key = `${endpointId(o.client)}|${endpointId(o.server)}|${protocol}|${o.port}`;
  if (!isProtocol(protocol)) return { tally: tally(others, key, o, protocol), denied: false };
  const d = engine.decide(src, dst, protocol, o.port);
  if (d.allowed) return { tally: tally(allowed, key, o, protocol), denied: false };
  let t = denied.get(key);
  // Several pod pairs make one edge: the first denied pair's decision names the rule.
  if (!t) denied.set(key, (t = { tally: new EdgeTally(o.client, o.server, protocol, o.port, 'denied'), decidedBy: d.decidedBy }));
  return { tally: t.tally, denied: true };
}

function tally(m: Map<string, EdgeTally>, key: string, o: Oriented, protocol: string): EdgeTally {
  let t = m.get(key);
  if (!t) m.set(key, (t = new EdgeTally(o.client, o.server, protocol, o.port, 'allowed')));
  return t;
}

/** One observed edge, explained: the verdict of each direction, the deciding rule, and every policy in play. */
export interface Explanation {
  src: Endpoint;
  dst: Endpoint;
  protocol: Protocol;
  port: number;
  /** The pods the explanation was computed for (the first observed pair of the edge). */
  srcPeer: string;
  dstPeer: string;
  decision: Decision;
  egressPolicies: string[];
  ingressPolicies: string[];
}

export interface FlowSpec { src: string; dst: string; protocol: string; port: number }

/** Explain the first observed aggregate of the edge `spec` (endpoint ids as `graph` prints them); undefined if never seen. */
export async function explain(identity: IdentityIndex, aggregates: AggregateChunks, engine: PolicyEngine, spec: FlowSpec): Promise<Explanation | undefined> {
  const peers = new PeerMapper(identity);
  for await (const chunk of aggregates) for (const a of chunk) {
    const o = orient(a, identity);
    const protocol = protocolName(a.protocol);
    if (protocol !== spec.protocol || o.port !== spec.port || endpointId(o.client) !== spec.src || endpointId(o.server) !== spec.dst) continue;
    if (!isProtocol(protocol)) return undefined;
    const src = peers.peer(o.clientHolder, o.reply ? a.dstIp : a.srcIp);
    const dst = peers.peer(o.serverHolder, o.reply ? a.srcIp : a.dstIp);
    const names = (p: Peer, direction: 'ingress' | 'egress') => {
      if (p.kind !== 'pod') return [];
      const s = engine.selectingPolicies(p, direction);
      return [
        ...s.adminPolicies.map((x) => `AdminNetworkPolicy ${x.name} (priority ${x.priority})`),
        ...s.networkPolicies.map((x) => `NetworkPolicy ${x.namespace}/${x.name}`),
        ...(s.baseline ? ['BaselineAdminNetworkPolicy default'] : []),
      ];
    };
    return {
      src: o.client, dst: o.server, protocol, port: o.port,
      srcPeer: src.kind === 'pod' ? `${src.namespace}/${src.name}` : src.addresses.toString(),
      dstPeer: dst.kind === 'pod' ? `${dst.namespace}/${dst.name}` : dst.addresses.toString(),
      decision: engine.decide(src, dst, protocol, o.port),
      egressPolicies: names(src, 'egress'),
      ingressPolicies: names(dst, 'ingress'),
    };
  }
  return undefined;
}
