import { endpointId, protocolName, type DeniedEdge, type Endpoint, type AggregateChunks, type K8sObject, type ObservedAggregate } from '../model/index.js';
import { EdgeTally, isReply, iso, orient, sortEdges, type Oriented } from './graph.js';
import type { Holder, IdentityIndex, Interval } from './identity.js';
import { isProtocol, type Protocol } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { IntervalSet } from './policy/intervals.js';
import { formatIpv4, parseIpv4 } from './policy/ipv4.js';
import type { DecidedBy, Decision, Peer, PodPeer } from './policy/types.js';
import { serviceBackendsOf, type ServiceBackends } from './services.js';

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

/** Where a connection to a Service address is judged: one backend's peer, on its target port. */
export interface BackendPeer { peer: Peer; port: number }

/** Turns the holders of observed addresses into the evaluator's peers, one stable object per pod and per address. */
export class PeerMapper {
  private readonly pods = new WeakMap<Holder, PodPeer>();
  private readonly externals = new Map<string, Peer>();
  private services: ServiceBackends | undefined;
  private readonly backendPods = new WeakMap<K8sObject, PodPeer>();
  private readonly backendCache = new WeakMap<Holder, Map<number, readonly BackendPeer[]>>();

  constructor(private readonly identity: IdentityIndex) {}

  /**
   * A Service holder's backends as the evaluator's peers, for one of its ports (`protocol` number, port): policies are
   * enforced after kube-proxy's DNAT, so a connection to the ClusterIP is one to a backend on its target port. Backends
   * that every policy must see alike (same namespace, labels, container ports, target port) are asked once. Empty for
   * holders that are no Service, and for Services whose backends are unknown. Cached per holder and port.
   */
  serviceBackends(h: Holder, protocol: number, port: number): readonly BackendPeer[] {
    if (h.endpoint.kind !== 'Service') return [];
    let byPort = this.backendCache.get(h);
    if (!byPort) this.backendCache.set(h, (byPort = new Map()));
    const pk = port * 256 + protocol;
    let out = byPort.get(pk);
    if (out) return out;
    this.services ??= serviceBackendsOf(this.identity);
    const list: BackendPeer[] = [];
    const seen = new Set<string>();
    for (const b of this.services.resolve(h.endpoint.namespace ?? 'default', h.endpoint.name ?? '', protocolName(protocol), port)) {
      let peer: Peer;
      let key: string;
      if (b.pod && !b.pod.spec?.hostNetwork) {
        peer = this.backendPod(b.pod);
        key = `pod|${JSON.stringify([(peer as PodPeer).namespace, (peer as PodPeer).labels, (peer as PodPeer).containerPorts])}|${b.port}`;
      } else {
        // A host-network pod answers on its node's address; a plain endpoint address is an address too (ipBlock).
        const ip = b.ip ?? String(b.pod?.status?.podIP ?? '');
        peer = this.address(ip);
        key = `ip|${ip}|${b.port}`;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      list.push({ peer, port: b.port });
    }
    byPort.set(pk, (out = list));
    return out;
  }

  private backendPod(pod: K8sObject): PodPeer {
    let p = this.backendPods.get(pod);
    if (!p) {
      const namespace = pod.metadata.namespace ?? 'default';
      p = {
        kind: 'pod', namespace, name: pod.metadata.name, labels: pod.metadata.labels ?? {},
        containerPorts: (pod.spec?.containers ?? []).flatMap((c: { ports?: [] }) => c.ports ?? []),
        namespaceLabels: this.identity.namespaceLabels(namespace),
        ...(typeof pod.status?.podIP === 'string' ? { ip: pod.status.podIP } : {}),
      };
      this.backendPods.set(pod, p);
    }
    return p;
  }

  private address(ip: string): Peer {
    let e = this.externals.get(ip);
    if (!e) {
      const n = parseIpv4(ip);
      e = { kind: 'external', addresses: n === undefined ? IntervalSet.EMPTY : IntervalSet.of(n, n) };
      this.externals.set(ip, e);
    }
    return e;
  }

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
    // Nodes, host-network pods, outside addresses and Services whose backends are unknown: policies see them only as
    // addresses (ipBlock). Service addresses with backends are judged at the backends (`serviceBackends`).
    return this.address(ip);
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
    // Pods are decided per pod, Services per Service (at their backends); anything else per address (ipBlocks see
    // addresses).
    const ck = clientHolder.pod ? clientHolder : clientIp;
    const sk = serverHolder.pod || serverHolder.endpoint.kind === 'Service' ? serverHolder : serverIp;
    let byServer = slots.get(ck);
    if (!byServer) slots.set(ck, (byServer = new Map()));
    let byPort = byServer.get(sk);
    if (!byPort) byServer.set(sk, (byPort = new Map()));
    const pk = port * 256 + a.protocol;
    let slot = byPort.get(pk);
    if (!slot) {
      const o = orient(a, identity);
      slot = decideSlot(o, a.protocol, peers.peer(clientHolder, clientIp), peers.peer(serverHolder, serverIp), engine, allowed, denied, others,
        peers.serviceBackends(serverHolder, a.protocol, port));
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
  backends: readonly BackendPeer[] = [],
): Slot {
  const protocol = protocolName(protocolNumber);
  const key = `${endpointId(o.client)}|${endpointId(o.server)}|${protocol}|${o.port}`;
  if (!isProtocol(protocol)) return { tally: tally(others, key, o, protocol), denied: false };
  const d = decideVia(engine, src, dst, protocol, o.port, backends).decision;
  if (d.allowed) return { tally: tally(allowed, key, o, protocol), denied: false };
  let t = denied.get(key);
  // Several pod pairs make one edge: the first denied pair's decision names the rule.
  if (!t) denied.set(key, (t = { tally: new EdgeTally(o.client, o.server, protocol, o.port, 'denied'), decidedBy: d.decidedBy }));
  return { tally: t.tally, denied: true };
}

/**
 * One connection's verdict. To a Service address with known backends: judged at every backend on its target port,
 * allowed only when allowed to all of them (kube-proxy may pick any), the first denying backend naming the rule; the
 * edge keeps showing the Service. Otherwise: `dst` itself on `port`.
 */
export function decideVia(
  engine: PolicyEngine, src: Peer, dst: Peer, protocol: Protocol, port: number, backends: readonly BackendPeer[],
): { decision: Decision; peer: Peer } {
  if (backends.length === 0) return { decision: engine.decide(src, dst, protocol, port), peer: dst };
  let first: { decision: Decision; peer: Peer } | undefined;
  for (const b of backends) {
    const decision = engine.decide(src, b.peer, protocol, b.port);
    if (!decision.allowed) return { decision, peer: b.peer };
    first ??= { decision, peer: b.peer };
  }
  return first!;
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
    const via = decideVia(engine, src, peers.peer(o.serverHolder, o.reply ? a.srcIp : a.dstIp), protocol, o.port, peers.serviceBackends(o.serverHolder, a.protocol, o.port));
    const dst = via.peer;
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
      srcPeer: peerName(src),
      dstPeer: peerName(dst),
      decision: via.decision,
      egressPolicies: names(src, 'egress'),
      ingressPolicies: names(dst, 'ingress'),
    };
  }
  return undefined;
}

/** A pod as `ns/name`, addresses as dotted quads (ranges `lo-hi`). */
function peerName(p: Peer): string {
  if (p.kind === 'pod') return `${p.namespace}/${p.name}`;
  return p.addresses.intervals.map(([lo, hi]) => (lo === hi ? formatIpv4(lo) : `${formatIpv4(lo)}-${formatIpv4(hi)}`)).join(',');
}
