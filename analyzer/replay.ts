import { endpointId, protocolName, type Endpoint, type ObservedAggregate } from '../model/index.js';
import { compareEdges, EdgeTally, iso, orient, type Oriented } from './graph.js';
import type { Holder, IdentityIndex } from './identity.js';
import { isProtocol, type Protocol } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { IntervalSet } from './policy/intervals.js';
import { parseIpv4 } from './policy/ipv4.js';
import type { DecidedBy, Decision, Peer, PodPeer } from './policy/types.js';

/** Observed allowed traffic that the replayed policies would drop, per edge as in `graph`. */
export interface DeniedEdge {
  src: Endpoint;
  dst: Endpoint;
  protocol: string;
  port: number;
  flows: number;
  firstSeen: string;
  lastSeen: string;
  decidedBy: DecidedBy;
}

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
  private readonly pods = new Map<string, PodPeer>();
  private readonly externals = new Map<string, Peer>();

  constructor(private readonly identity: IdentityIndex) {}

  peer(h: Holder, ip: string): Peer {
    if (h.pod) {
      const key = `${h.pod.namespace}/${h.pod.name}`;
      let p = this.pods.get(key);
      if (!p) {
        p = {
          kind: 'pod', namespace: h.pod.namespace, name: h.pod.name, labels: h.pod.labels, containerPorts: h.pod.containerPorts, ip,
          namespaceLabels: this.identity.namespaceLabels(h.pod.namespace),
        };
        this.pods.set(key, p);
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

/**
 * Replays every observed *allowed* aggregate against a policy engine: which of today's flows would the policies drop,
 * and which rule decides. A reply is judged as its request (policies are stateful), and counted once with it.
 */
export function replay(identity: IdentityIndex, aggregates: Iterable<ObservedAggregate>, engine: PolicyEngine): ReplayResult {
  const peers = new PeerMapper(identity);
  const decisions = new Map<string, Decision>();
  const allowedTallies = new Map<string, EdgeTally>();
  const denied = new Map<string, DeniedTally>();
  const others = new Map<string, EdgeTally>();
  let count = 0;
  for (const a of aggregates) {
    if (a.action !== 'ACCEPT') continue;
    count++;
    const o = orient(a, identity);
    const protocol = protocolName(a.protocol);
    const key = `${endpointId(o.client)}|${endpointId(o.server)}|${protocol}|${o.port}`;
    if (!isProtocol(protocol)) {
      tally(others, key, o, protocol).add(a, o.reply);
      continue;
    }
    const src = peers.peer(o.clientHolder, o.reply ? a.dstIp : a.srcIp);
    const dst = peers.peer(o.serverHolder, o.reply ? a.srcIp : a.dstIp);
    const d = decide(engine, decisions, src, dst, protocol, o.port);
    if (d.allowed) {
      tally(allowedTallies, key, o, protocol).add(a, o.reply);
      continue;
    }
    let t = denied.get(key);
    if (!t) denied.set(key, (t = { tally: new EdgeTally(o.client, o.server, protocol, o.port, 'denied'), decidedBy: d.decidedBy }));
    t.tally.add(a, o.reply);
  }
  const sum = (m: Iterable<{ flows: number }>) => [...m].reduce((s, t) => s + t.flows, 0);
  const deniedEdges = [...denied.values()].map(({ tally: t, decidedBy }) => ({
    src: t.src, dst: t.dst, protocol: t.protocol, port: t.port, flows: t.flows, firstSeen: iso(t.first), lastSeen: iso(t.last), decidedBy,
  }));
  deniedEdges.sort((x, y) => compareEdges({ ...x, verdict: 'denied' }, { ...y, verdict: 'denied' }));
  return {
    denied: deniedEdges,
    allowedFlows: sum(allowedTallies.values()),
    deniedFlows: sum(deniedEdges),
    notEvaluatedFlows: sum(others.values()),
    aggregates: count,
  };
}

function tally(m: Map<string, EdgeTally>, key: string, o: Oriented, protocol: string): EdgeTally {
  let t = m.get(key);
  if (!t) m.set(key, (t = new EdgeTally(o.client, o.server, protocol, o.port, 'allowed')));
  return t;
}

/** Decisions repeat for every aggregate of the same pod pair and port: cache them (peers are stable objects). */
function decide(engine: PolicyEngine, cache: Map<string, Decision>, src: Peer, dst: Peer, protocol: Protocol, port: number): Decision {
  const key = `${peerKey(src)}>${peerKey(dst)}>${protocol}/${port}`;
  let d = cache.get(key);
  if (!d) cache.set(key, (d = engine.decide(src, dst, protocol, port)));
  return d;
}

function peerKey(p: Peer): string {
  return p.kind === 'pod' ? `${p.namespace}/${p.name}` : p.addresses.toString();
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
export function explain(identity: IdentityIndex, aggregates: Iterable<ObservedAggregate>, engine: PolicyEngine, spec: FlowSpec): Explanation | undefined {
  const peers = new PeerMapper(identity);
  for (const a of aggregates) {
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
