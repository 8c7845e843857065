/**
 * Friction and zero-trust coverage of a policy proposal. Pure.
 *
 * - Friction: observed legitimate (allowed) flows a set of manifests would block. NetworkPolicies are replayed with the
 *   engine (`replay`); the blocked edges are charged to the manifest of the pod whose side denied them. Istio and
 *   Linkerd manifests are evaluated as the meshes do (principal / identity + port, TCP only) against the observed edges.
 * - Coverage: per namespace, how its observed edges are admitted — by identity (pod / namespace selectors, mTLS
 *   principals), by address (ipBlock), or open — under a policy engine (the cluster's policies, or the proposal).
 */
import {
  COVERAGE_CLASSES, endpointId, isWorkloadKind,
  type CoverageClass, type CoverageFigures, type DeniedEdge, type Edge, type Endpoint, type Friction, type K8sObject,
  type NamespaceRisk, type WorkloadRisk,
} from '../model/index.js';
import { podPeer } from './findings.js';
import type { IdentityIndex, Workload } from './identity.js';
import { isProtocol } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { IntervalSet } from './policy/intervals.js';
import { parseCidr, parseIpv4 } from './policy/ipv4.js';
import { npPeerMatches } from './policy/rules.js';
import type { DirectionDecision, NpPeerSelector, Peer, PodPeer } from './policy/types.js';

export const noFriction = (replayedFlows = 0): Friction => ({ replayedFlows, blockedFlows: 0, blockedEdges: 0 });

const edgeKey = (e: Pick<Edge, 'src' | 'dst' | 'protocol' | 'port'>) => `${endpointId(e.src)}|${endpointId(e.dst)}|${e.protocol}|${e.port}`;

/**
 * Blocked edges charged to the workload whose policy denied them: the client on egress, the server on ingress. Keys
 * are workload ids; an edge whose deciding end is not a workload (cannot happen with NetworkPolicies) is left out.
 */
export function chargeDenied(denied: readonly DeniedEdge[]): Map<string, { flows: number; edges: number }> {
  const out = new Map<string, { flows: number; edges: number }>();
  for (const e of denied) {
    const side = e.decidedBy.direction === 'egress' ? e.src : e.dst;
    if (!isWorkloadKind(side.kind)) continue;
    const k = endpointId(side);
    const t = out.get(k) ?? out.set(k, { flows: 0, edges: 0 }).get(k)!;
    t.flows += e.flows;
    t.edges++;
  }
  return out;
}

// ---- mesh evaluation (Istio, Linkerd) ----

export interface MeshEvalInput {
  /** Observed allowed edges. */
  edges: readonly Edge[];
  workloads: readonly Workload[];
  /** Default `cluster.local`. */
  trustDomain?: string;
}

/** Per manifest (keyed by the caller), what it blocks; and the edges admitted by an mTLS identity (coverage). */
export interface MeshEvaluation {
  friction: Map<string, Friction>;
  /** Edge keys (`src|dst|protocol|port`) some manifest admits by principal / mesh identity. */
  admitted: Set<string>;
}

interface MeshServer { w: Workload; labels: Record<string, string> }

const matchLabels = (sel: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);

function workloadLabels(w: Workload): Record<string, string> {
  return { ...w.labels, ...(w.pod?.metadata.labels ?? {}) };
}

/** The number a Server's named port stands for on the workload (`portNames` holds `TCP/8080` → name). */
function resolvePort(w: Workload, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port !== 'string') return undefined;
  const hit = Object.entries(w.portNames ?? {}).find(([, name]) => name === port);
  return hit ? Number(hit[0].split('/')[1]) : Number.isInteger(Number(port)) ? Number(port) : undefined;
}

/**
 * Evaluate the emitted mesh objects against the observed TCP edges into the workloads they select:
 * - Istio `AuthorizationPolicy` (ALLOW): an edge into a selected workload passes when a rule names the client's
 *   principal and the port; anything else (outside addresses, nodes, unknown clients) is blocked.
 * - Istio `PeerAuthentication` STRICT: edges into the workloads it covers from clients with no mesh identity.
 * - Linkerd `Server` + `AuthorizationPolicy` + `MeshTLSAuthentication`: an edge to a Server's port passes when an
 *   authorization of that Server names the client's identity.
 * UDP is never intercepted by either mesh: not judged. `manifests` maps a caller's key (the manifest path) to its objects.
 */
export function evaluateMesh(input: MeshEvalInput, manifests: ReadonlyMap<string, readonly K8sObject[]>): MeshEvaluation {
  const td = input.trustDomain ?? 'cluster.local';
  const byId = new Map(input.workloads.map((w) => [endpointId(w.endpoint), w]));
  const servers: MeshServer[] = input.workloads.map((w) => ({ w, labels: workloadLabels(w) }));
  const tcpInto = (pred: (w: Workload, e: Edge) => boolean) => input.edges.filter((e) => {
    const w = e.verdict === 'allowed' && e.protocol === 'TCP' && isWorkloadKind(e.dst.kind) ? byId.get(endpointId(e.dst)) : undefined;
    return !!w && pred(w, e);
  });
  const clientSa = (e: Edge) => {
    const c = isWorkloadKind(e.src.kind) ? byId.get(endpointId(e.src)) : undefined;
    return c ? { ns: c.endpoint.namespace, sa: c.serviceAccount } : undefined;
  };
  const friction = new Map<string, Friction>();
  const admitted = new Set<string>();
  const linkerdAuthn = new Map<string, string[]>(); // ns/name → identities
  const linkerdAuthz: { ns: string; server: string; authn: string[] }[] = [];
  const all = [...manifests.values()].flat();
  for (const o of all) {
    if (o.kind === 'MeshTLSAuthentication') linkerdAuthn.set(`${o.metadata.namespace}/${o.metadata.name}`, o.spec?.identities ?? []);
    if (o.kind === 'AuthorizationPolicy' && o.apiVersion.startsWith('policy.linkerd.io')) {
      linkerdAuthz.push({
        ns: o.metadata.namespace ?? 'default', server: o.spec?.targetRef?.name,
        authn: (o.spec?.requiredAuthenticationRefs ?? []).filter((r: { kind?: string }) => r.kind === 'MeshTLSAuthentication').map((r: { name: string }) => r.name),
      });
    }
  }
  for (const [key, objects] of manifests) {
    const blocked = new Set<string>();
    const judgedEdges = new Set<string>();
    let flows = 0;
    let judged = 0;
    const judge = (e: Edge) => {
      const k = edgeKey(e);
      if (judgedEdges.has(k)) return;
      judgedEdges.add(k);
      judged += e.flows;
    };
    const block = (e: Edge) => {
      const k = edgeKey(e);
      if (blocked.has(k)) return;
      blocked.add(k);
      flows += e.flows;
    };
    for (const o of objects) {
      const ns = o.metadata.namespace ?? 'default';
      if (o.kind === 'AuthorizationPolicy' && o.apiVersion.startsWith('security.istio.io') && (o.spec?.action ?? 'ALLOW') === 'ALLOW') {
        const selected = new Set(servers.filter((s) => s.w.endpoint.namespace === ns && matchLabels(o.spec?.selector?.matchLabels, s.labels)).map((s) => s.w));
        const rules: { principals: string[]; ports: string[] }[] = (o.spec?.rules ?? []).map((r: any) => ({
          principals: (r.from ?? []).flatMap((f: any) => f.source?.principals ?? []),
          ports: (r.to ?? []).flatMap((t: any) => t.operation?.ports ?? []),
        }));
        for (const e of tcpInto((w) => selected.has(w))) {
          judge(e);
          const c = clientSa(e);
          const principal = c && `${td}/ns/${c.ns}/sa/${c.sa}`;
          if (principal && rules.some((r) => r.principals.includes(principal) && (r.ports.length === 0 || r.ports.includes(String(e.port))))) admitted.add(edgeKey(e));
          else block(e);
        }
      }
      if (o.kind === 'PeerAuthentication' && o.spec?.mtls?.mode === 'STRICT') {
        const sel = o.spec?.selector?.matchLabels as Record<string, string> | undefined;
        for (const e of tcpInto((w) => w.endpoint.namespace === ns && (!sel || matchLabels(sel, workloadLabels(w))))) {
          judge(e);
          if (!clientSa(e)) block(e);
        }
      }
      if (o.kind === 'Server' && o.apiVersion.startsWith('policy.linkerd.io')) {
        const sel = o.spec?.podSelector as { matchLabels?: Record<string, string> } | undefined;
        const identities = linkerdAuthz.filter((a) => a.ns === ns && a.server === o.metadata.name)
          .flatMap((a) => a.authn.flatMap((n) => linkerdAuthn.get(`${ns}/${n}`) ?? []));
        for (const e of tcpInto((w, e) => w.endpoint.namespace === ns && matchLabels(sel?.matchLabels, workloadLabels(w)) && resolvePort(w, o.spec?.port) === e.port)) {
          judge(e);
          const c = clientSa(e);
          const id = c && `${c.sa}.${c.ns}.serviceaccount.identity.linkerd.${td}`;
          if (id && identities.includes(id)) admitted.add(edgeKey(e));
          else block(e);
        }
      }
    }
    friction.set(key, { replayedFlows: judged, blockedFlows: flows, blockedEdges: blocked.size });
  }
  return { friction, admitted };
}

// ---- coverage ----

export interface CoverageInput {
  identity: IdentityIndex;
  /** Observed edges (allowed ones are judged). */
  edges: readonly Edge[];
  /** Namespaces to report. */
  namespaces: readonly string[];
  /** Edge keys (`src|dst|protocol|port`) admitted by an mTLS identity (from `evaluateMesh`). */
  meshAdmitted?: ReadonlySet<string>;
}

const RANK: Record<CoverageClass, number> = { identity: 0, address: 1, open: 2, blocked: 3, unattributed: 4 };
/** An ipBlock at least this large admits "anyone": it does not restrict the peer by address. */
const WHOLE_SPACE = 2 ** 31;

const sizeOf = (s: IntervalSet) => s.intervals.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
const specific = (sel: NpPeerSelector) => {
  const has = (l?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] }) => !!l && (Object.keys(l.matchLabels ?? {}).length > 0 || (l.matchExpressions?.length ?? 0) > 0);
  return has(sel.podSelector) || has(sel.namespaceSelector);
};

/** How one direction admitted the connection: the deciding rule's peers that match the other end. */
function sideClass(engine: PolicyEngine, d: DirectionDecision, other: Peer, direction: 'ingress' | 'egress'): CoverageClass {
  if (!d.allowed) return 'blocked';
  const by = d.decidedBy;
  if (by.kind === 'None') return 'open';
  if (by.kind !== 'NetworkPolicy' || typeof by.rule !== 'number') return other.kind === 'pod' ? 'identity' : 'address'; // admin tiers name peers explicitly
  const np = engine.policies.networkPolicies.find((p) => p.namespace === by.namespace && p.name === by.name);
  const rule = np?.[direction][by.rule];
  if (!np || !rule || rule.peers.length === 0) return 'open';
  const hits = rule.peers.filter((s) => npPeerMatches(np, s, other));
  if (other.kind === 'pod') return hits.some(specific) ? 'identity' : 'open';
  return hits.some((s) => s.ipBlock && sizeOf(s.ipBlock) < WHOLE_SPACE) ? 'address' : 'open';
}

/** The policy engine's view of an edge's end; undefined when it cannot be judged (Unknown, unlabelled). */
function peerOf(ep: Endpoint, byId: ReadonlyMap<string, Workload>, identity: IdentityIndex, pods: Map<Workload, PodPeer>): Peer | undefined {
  if (isWorkloadKind(ep.kind)) {
    const w = byId.get(endpointId(ep));
    if (!w?.pod) return undefined;
    if (w.hostNetwork) {
      const n = parseIpv4(String(w.pod.status?.podIP ?? w.pod.status?.hostIP ?? ''));
      return n === undefined ? undefined : { kind: 'external', addresses: IntervalSet.of(n, n) };
    }
    let p = pods.get(w);
    if (!p) pods.set(w, (p = podPeer(w.pod, identity)));
    return p;
  }
  if (ep.kind === 'Unknown') return undefined;
  const set = ep.cidr ? parseCidr(ep.cidr) : ep.ip ? parseCidr(ep.ip) : undefined;
  return set ? { kind: 'external', addresses: set } : undefined;
}

const nsOf = (ep: Endpoint) => (isWorkloadKind(ep.kind) ? ep.namespace : undefined);

/**
 * Per namespace, its observed allowed edges (an end in it) by how `engine` admits them: each edge takes the better
 * class of its two ends (identity > address > open); blocked when either end drops it; unattributed when an end
 * cannot be judged. An mTLS principal admitting the edge makes it identity.
 */
export function coverage(input: CoverageInput, engine: PolicyEngine): Map<string, CoverageFigures> {
  const byId = new Map(input.identity.workloads.map((w) => [endpointId(w.endpoint), w]));
  const pods = new Map<Workload, PodPeer>();
  const out = new Map(input.namespaces.map((ns) => [ns, emptyFigures()]));
  for (const e of input.edges) {
    if (e.verdict !== 'allowed') continue;
    const nss = [...new Set([nsOf(e.src), nsOf(e.dst)])].filter((ns): ns is string => !!ns && out.has(ns));
    if (nss.length === 0) continue;
    const cls = edgeClass(e, engine, input, byId, pods);
    for (const ns of nss) {
      const f = out.get(ns)!;
      f.flows[cls] += e.flows;
      f.edges[cls]++;
    }
  }
  return out;
}

function edgeClass(e: Edge, engine: PolicyEngine, input: CoverageInput, byId: ReadonlyMap<string, Workload>, pods: Map<Workload, PodPeer>): CoverageClass {
  const src = peerOf(e.src, byId, input.identity, pods);
  const dst = peerOf(e.dst, byId, input.identity, pods);
  if (!src || !dst) return 'unattributed';
  if (!isProtocol(e.protocol)) return 'open'; // ICMP and the like: policies cannot name them port by port
  const d = engine.decide(src, dst, e.protocol, e.port);
  if (!d.allowed) return 'blocked';
  const sides: CoverageClass[] = [];
  if (src.kind === 'pod') sides.push(sideClass(engine, d.egress, dst, 'egress'));
  if (dst.kind === 'pod') sides.push(sideClass(engine, d.ingress, src, 'ingress'));
  if (input.meshAdmitted?.has(edgeKey(e))) sides.push('identity');
  return sides.length === 0 ? 'open' : sides.reduce((a, b) => (RANK[b] < RANK[a] ? b : a));
}

export function emptyFigures(): CoverageFigures {
  const zero = () => Object.fromEntries(COVERAGE_CLASSES.map((c) => [c, 0])) as Record<CoverageClass, number>;
  return { flows: zero(), edges: zero() };
}

// ---- risk per namespace ----

/** The ranking folded per namespace: its highest workload score, the sum, and its top workloads. */
export function namespaceRisk(ranking: readonly WorkloadRisk[]): Map<string, NamespaceRisk> {
  const out = new Map<string, NamespaceRisk>();
  const sorted = [...ranking].sort((a, b) => b.score - a.score || a.workload.localeCompare(b.workload));
  for (const r of sorted) {
    const n = out.get(r.namespace) ?? out.set(r.namespace, { namespace: r.namespace, score: 0, total: 0, top: [] }).get(r.namespace)!;
    n.score = Math.max(n.score, r.score);
    n.total += r.score;
    if (r.score > 0 && n.top.length < 3) n.top.push(r.workload);
  }
  return out;
}
