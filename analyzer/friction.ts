/**
 * Friction and zero-trust coverage of a policy proposal. Pure.
 *
 * - Friction: observed legitimate (allowed) flows a set of manifests would block. NetworkPolicies are replayed with the
 *   engine (`replay`); the blocked edges are charged to the manifest of the pod whose side denied them. Istio and
 *   Linkerd manifests are evaluated as the meshes decide (mTLS mode per port, then principal / identity or source
 *   address, and port; TCP only) against the observed edges.
 * - Coverage: per namespace, how its observed edges are admitted — by identity (pod / namespace selectors, mTLS
 *   principals), by address (ipBlock, mesh ipBlocks / NetworkAuthentication), or open — under a policy engine (the
 *   cluster's policies, or the proposal).
 */
import {
  COVERAGE_CLASSES, endpointId, isWorkloadKind,
  type CoverageClass, type CoverageFigures, type DeniedEdge, type Edge, type Endpoint, type Friction, type K8sObject,
  type NamespaceRisk, type WorkloadRisk,
} from '../model/index.js';
import { podPeer } from './findings.js';
import { serviceBackendsOf, type ServiceBackends } from './services.js';
import type { IdentityIndex, Workload } from './identity.js';
import { isProtocol, type Protocol } from './policy/connections.js';
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
  /** Istio's root namespace: its PeerAuthentications without selector, and its AuthorizationPolicies, apply mesh-wide. Default `istio-system`. */
  istioRootNamespace?: string;
}

/** Per manifest (keyed by the caller), what it blocks; and how the edges it admits are admitted (coverage). */
export interface MeshEvaluation {
  friction: Map<string, Friction>;
  /** Edge keys (`src|dst|protocol|port`) some authorization admits by the client's mesh identity (principal / identity). */
  admitted: Set<string>;
  /** Edge keys admitted by the client's source address (Istio `ipBlocks`, Linkerd `NetworkAuthentication`) narrower than half the address space. */
  admittedByAddress: Set<string>;
}

type Admission = 'identity' | 'address' | 'open';
const ADMISSION_RANK: Record<Admission, number> = { identity: 0, address: 1, open: 2 };
const better = (a: Admission | undefined, b: Admission | undefined) => (!a ? b : !b ? a : ADMISSION_RANK[b] < ADMISSION_RANK[a] ? b : a);

/** One object of one manifest. */
interface Placed { key: string; o: K8sObject }

/** The client of an edge as a mesh proxy sees it: its mesh identity (a meshed pod), and its source address. */
interface MeshPeer { identity?: { ns: string; sa: string }; address?: IntervalSet }

/** A mesh's verdict on one edge: the manifests whose objects apply to it, those that block it, and how it passed. */
interface MeshVerdict { covering: Set<string>; blocking: Set<string>; admittedAs?: Admission }

const istioGroup = (o: K8sObject) => o.apiVersion.startsWith('security.istio.io/');
const linkerdGroup = (o: K8sObject) => o.apiVersion.startsWith('policy.linkerd.io/');
const nsOfObject = (o: K8sObject) => o.metadata.namespace ?? 'default';

function workloadLabels(w: Workload): Record<string, string> {
  return { ...w.labels, ...(w.pod?.metadata.labels ?? {}) };
}

/** Istio `selector.matchLabels`: absent or empty selects every workload (of the namespace). */
const istioSelects = (sel: Record<string, string> | undefined, labels: Record<string, string>) =>
  !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);

/** A Kubernetes label selector (Linkerd's `podSelector`): `{}` selects every pod. */
function selectorMatches(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  if (!Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v)) return false;
  return (sel.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
}

/** The number a Server's named port stands for on the workload (`portNames` holds `TCP/8080` → name). */
function resolvePort(w: Workload, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port !== 'string') return undefined;
  const hit = Object.entries(w.portNames ?? {}).find(([, name]) => name === port);
  return hit ? Number(hit[0].split('/')[1]) : Number.isInteger(Number(port)) ? Number(port) : undefined;
}

/** Istio's string match: exact, `*` (present at all), `prefix*`, `*suffix`. */
function istioGlob(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** Whether the client's address (an address, or the block an aggregate stands for) lies in one of the blocks; IPv4 only. */
function inBlocks(address: IntervalSet | undefined, blocks: readonly string[]): { hit: boolean; narrow: boolean } {
  if (!address) return { hit: false, narrow: false };
  let hit = false;
  let narrow = false;
  for (const b of blocks) {
    const set = parseCidr(String(b));
    if (!set || !set.containsSet(address)) continue;
    hit = true;
    if (sizeOf(set) < WHOLE_SPACE) narrow = true;
  }
  return { hit, narrow };
}
const overlapsBlocks = (address: IntervalSet | undefined, blocks: readonly string[]) =>
  !!address && blocks.some((b) => { const set = parseCidr(String(b)); return !!set && !set.intersect(address).isEmpty(); });

/** Objects sharing kind, namespace and name are one object: the one applied last (caller's order: paths sorted, as `kubectl apply -f DIR`) wins. */
function lastApplied(placed: readonly Placed[]): Placed[] {
  const byName = new Map<string, Placed>();
  for (const p of placed) {
    const k = `${p.o.apiVersion.split('/')[0]}|${p.o.kind}|${nsOfObject(p.o)}|${p.o.metadata.name}`;
    byName.delete(k); // keep the order of the last application
    byName.set(k, p);
  }
  return [...byName.values()];
}

/**
 * Ports the sidecar injector leaves out of inbound capture (`excludeInboundPorts`): pilot-agent's 15020 (merged metrics,
 * and the kubelet probes Istio rewrites to it), the 15021 health check and Envoy's 15090 Prometheus endpoint. Neither
 * PeerAuthentication nor AuthorizationPolicy applies to them.
 */
const ISTIO_UNCAPTURED_PORTS = [15020, 15021, 15090];

/** Source fields of Istio rules that flow records cannot show: assumed to match in ALLOW rules, and not to in DENY rules. */
const ISTIO_UNJUDGED_SOURCE = ['requestPrincipals', 'notRequestPrincipals'];
const ISTIO_UNJUDGED_OPERATION = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'];

interface IstioContext { port: number; principal?: string; ns?: string; sa?: string; trustDomain?: string; address?: IntervalSet }

/** How an Istio `source` admits the client (undefined: it does not). */
function istioSource(src: Record<string, any>, c: IstioContext, action: 'ALLOW' | 'DENY'): Admission | undefined {
  if (action === 'DENY' && ISTIO_UNJUDGED_SOURCE.some((f) => src[f] !== undefined)) return undefined;
  let cls: Admission = 'open';
  const list = (f: string): string[] | undefined => (Array.isArray(src[f]) ? src[f].map(String) : undefined);
  const positive = (f: string, value: string | undefined) => {
    const l = list(f);
    return !l || l.some((p) => istioGlob(p, value));
  };
  const negative = (f: string, value: string | undefined) => {
    const l = list(f);
    return !l || value === undefined || !l.some((p) => istioGlob(p, value));
  };
  // Identity fields need an mTLS peer: a plaintext client has no principal, so they never match it.
  if (!positive('principals', c.principal) || !negative('notPrincipals', c.principal)) return undefined;
  if (!positive('namespaces', c.ns) || !negative('notNamespaces', c.ns)) return undefined;
  const account = c.ns !== undefined && c.sa !== undefined ? `${c.ns}/${c.sa}` : undefined;
  if (!positive('serviceAccounts', account) || !negative('notServiceAccounts', account)) return undefined;
  if (!positive('trustDomains', c.trustDomain) || !negative('notTrustDomains', c.trustDomain)) return undefined;
  if (list('principals') || list('namespaces') || list('serviceAccounts')) cls = 'identity';
  // Without X-Forwarded-For / PROXY protocol, the remote address is the connection's source.
  for (const f of ['ipBlocks', 'remoteIpBlocks']) {
    const l = list(f);
    if (!l) continue;
    const m = inBlocks(c.address, l);
    if (!m.hit) return undefined;
    if (cls === 'open' && m.narrow) cls = 'address';
  }
  for (const f of ['notIpBlocks', 'notRemoteIpBlocks']) if (list(f) && overlapsBlocks(c.address, list(f)!)) return undefined;
  return cls;
}

function istioOperation(op: Record<string, any>, port: number, action: 'ALLOW' | 'DENY'): boolean {
  if (action === 'DENY' && ISTIO_UNJUDGED_OPERATION.some((f) => op[f] !== undefined)) return false;
  if (Array.isArray(op.ports) && !op.ports.map(String).includes(String(port))) return false;
  if (Array.isArray(op.notPorts) && op.notPorts.map(String).includes(String(port))) return false;
  return true;
}

/** How a rule admits (ALLOW) or matches (DENY) the connection; undefined: it does not. */
function istioRule(rule: Record<string, any>, c: IstioContext, action: 'ALLOW' | 'DENY'): Admission | undefined {
  if (action === 'DENY' && rule.when !== undefined) return undefined;
  const to = Array.isArray(rule.to) ? rule.to : undefined;
  if (to && to.length > 0 && !to.some((t: any) => istioOperation(t?.operation ?? {}, c.port, action))) return undefined;
  const from = Array.isArray(rule.from) ? rule.from : undefined;
  if (!from || from.length === 0) return 'open';
  return from.map((f: any) => istioSource(f?.source ?? {}, c, action)).reduce(better, undefined as Admission | undefined);
}

/**
 * Istio, for one TCP edge into workload `w` on `port` (not one of the sidecar's own, uncaptured ports):
 * 1. mTLS mode: the workload-level PeerAuthentication selecting it (its `portLevelMtls` entry for the port, then its
 *    `mtls.mode`), else the namespace's, else the root namespace's, else PERMISSIVE (`UNSET` inherits). STRICT refuses a
 *    client without a mesh identity, charged to the PeerAuthentication that set the mode; DISABLE strips identities.
 * 2. Authorization: a matching DENY rule blocks; when ALLOW policies select the workload, one of their rules must
 *    match (principals / namespaces / service accounts of the mTLS peer, `ipBlocks` of its source address, ports),
 *    else every such ALLOW policy's manifest is charged.
 */
function istioDecide(objects: readonly Placed[], w: Workload, port: number, client: MeshPeer, td: string, root: string): MeshVerdict | undefined {
  if (ISTIO_UNCAPTURED_PORTS.includes(port)) return undefined;
  const ns = w.endpoint.namespace;
  const labels = workloadLabels(w);
  const pas = objects.filter((p) => p.o.kind === 'PeerAuthentication');
  const aps = objects.filter((p) => p.o.kind === 'AuthorizationPolicy' && (nsOfObject(p.o) === ns || nsOfObject(p.o) === root)
    && istioSelects(p.o.spec?.selector?.matchLabels, labels));
  const workloadPa = pas.find((p) => nsOfObject(p.o) === ns && Object.keys(p.o.spec?.selector?.matchLabels ?? {}).length > 0 && istioSelects(p.o.spec.selector.matchLabels, labels));
  const namespacePa = pas.find((p) => nsOfObject(p.o) === ns && Object.keys(p.o.spec?.selector?.matchLabels ?? {}).length === 0);
  const rootPa = ns === root ? undefined : pas.find((p) => nsOfObject(p.o) === root && Object.keys(p.o.spec?.selector?.matchLabels ?? {}).length === 0);
  const covering = new Set([workloadPa, namespacePa, rootPa, ...aps].filter((p): p is Placed => !!p).map((p) => p.key));
  if (covering.size === 0) return undefined;
  const blocking = new Set<string>();
  const set = (m: unknown) => (typeof m === 'string' && m !== 'UNSET' ? m : undefined);
  let mode: string | undefined;
  let decider: Placed | undefined;
  for (const [p, m] of [
    [workloadPa, workloadPa?.o.spec?.portLevelMtls?.[String(port)]?.mode],
    [workloadPa, workloadPa?.o.spec?.mtls?.mode],
    [namespacePa, namespacePa?.o.spec?.mtls?.mode],
    [rootPa, rootPa?.o.spec?.mtls?.mode],
  ] as [Placed | undefined, unknown][]) {
    if (p && set(m)) {
      mode = set(m);
      decider = p;
      break;
    }
  }
  if (mode === 'STRICT' && !client.identity) return { covering, blocking: new Set([decider!.key]) };
  const peer = mode === 'DISABLE' ? undefined : client.identity;
  const c: IstioContext = {
    port, address: client.address,
    ...(peer ? { principal: `${td}/ns/${peer.ns}/sa/${peer.sa}`, ns: peer.ns, sa: peer.sa, trustDomain: td } : {}),
  };
  const action = (p: Placed) => String(p.o.spec?.action ?? 'ALLOW');
  const rules = (p: Placed): Record<string, any>[] => (Array.isArray(p.o.spec?.rules) ? p.o.spec.rules : []);
  for (const d of aps.filter((p) => action(p) === 'DENY')) if (rules(d).some((r) => istioRule(r, c, 'DENY'))) blocking.add(d.key);
  if (blocking.size > 0) return { covering, blocking };
  const allow = aps.filter((p) => action(p) === 'ALLOW');
  if (allow.length === 0) return { covering, blocking };
  const admittedAs = allow.flatMap((p) => rules(p).map((r) => istioRule(r, c, 'ALLOW'))).reduce(better, undefined);
  if (!admittedAs) return { covering, blocking: new Set(allow.map((p) => p.key)) };
  return { covering, blocking, admittedAs };
}

/**
 * Linkerd, for one TCP edge into workload `w` on `port`: the Server selecting its pods on that port (none: Linkerd's
 * default inbound policy, which segmap does not see, decides). Authorized when an AuthorizationPolicy targeting the
 * Server (or its namespace) has every required authentication satisfied: a MeshTLSAuthentication naming the client's
 * identity, a NetworkAuthentication holding its source address, a ServiceAccount. Else the Server's `accessPolicy`
 * (default deny) decides, charged to the Server's manifest.
 */
function linkerdDecide(objects: readonly Placed[], w: Workload, port: number, client: MeshPeer, td: string): MeshVerdict | undefined {
  const ns = w.endpoint.namespace;
  const labels = workloadLabels(w);
  const server = objects.find((p) => p.o.kind === 'Server' && nsOfObject(p.o) === ns && selectorMatches(p.o.spec?.podSelector, labels) && resolvePort(w, p.o.spec?.port) === port);
  if (!server) return undefined;
  const find = (kind: string, name: string, namespace: string) => objects.find((p) => p.o.kind === kind && p.o.metadata.name === name && nsOfObject(p.o) === namespace);
  const authz = objects.filter((p) => p.o.kind === 'AuthorizationPolicy' && nsOfObject(p.o) === ns && (
    (p.o.spec?.targetRef?.kind === 'Server' && p.o.spec.targetRef.name === server.o.metadata.name)
    || (p.o.spec?.targetRef?.kind === 'Namespace' && (p.o.spec.targetRef.name ?? ns) === ns)));
  const identity = client.identity ? `${client.identity.sa}.${client.identity.ns}.serviceaccount.identity.linkerd.${td}` : undefined;
  const linkerdGlob = (pattern: string) => !!identity && (pattern === '*' || pattern === identity || (pattern.startsWith('*.') && identity.endsWith(pattern.slice(1))));
  const authn = (ref: Record<string, any>, ownNs: string): Admission | undefined => {
    const refNs = String(ref.namespace ?? ownNs);
    if (ref.kind === 'ServiceAccount') return client.identity && client.identity.sa === ref.name && client.identity.ns === refNs ? 'identity' : undefined;
    const obj = find(String(ref.kind), String(ref.name), refNs);
    if (!obj) return undefined; // a reference that resolves to nothing authorizes nothing
    if (ref.kind === 'MeshTLSAuthentication') {
      if (!client.identity) return undefined;
      const ids: string[] = (obj.o.spec?.identities ?? []).map(String);
      const refs: Record<string, any>[] = obj.o.spec?.identityRefs ?? [];
      const byRef = refs.some((r) => (r.kind === 'ServiceAccount' && (r.name === '*' || r.name === client.identity!.sa) && String(r.namespace ?? refNs) === client.identity!.ns)
        || (r.kind === 'Namespace' && (r.name === '*' || r.name === client.identity!.ns)));
      return ids.some(linkerdGlob) || byRef ? 'identity' : undefined;
    }
    if (ref.kind === 'NetworkAuthentication') {
      const networks: { cidr?: string; except?: string[] }[] = obj.o.spec?.networks ?? [];
      let cls: Admission | undefined;
      for (const n of networks) {
        const m = inBlocks(client.address, [String(n.cidr ?? '')]);
        if (m.hit && !overlapsBlocks(client.address, n.except ?? [])) cls = better(cls, m.narrow ? 'address' : 'open');
      }
      return cls;
    }
    return undefined;
  };
  const covering = new Set([server.key, ...authz.map((p) => p.key)]);
  let admittedAs: Admission | undefined;
  for (const a of authz) {
    const refs: Record<string, any>[] = a.o.spec?.requiredAuthenticationRefs ?? [];
    const each = refs.map((r) => authn(r, ns));
    if (each.some((x) => !x)) continue;
    admittedAs = better(admittedAs, each.reduce(better, undefined as Admission | undefined) ?? 'open');
  }
  if (admittedAs) return { covering, blocking: new Set(), admittedAs };
  const fallback = String(server.o.spec?.accessPolicy ?? 'deny');
  const passes = fallback === 'all-unauthenticated' || fallback === 'cluster-unauthenticated' || fallback === 'audit'
    || ((fallback === 'all-authenticated' || fallback === 'cluster-authenticated') && !!client.identity);
  return { covering, blocking: passes ? new Set() : new Set([server.key]), admittedAs: passes ? 'open' : undefined };
}

/**
 * Evaluate mesh objects as the meshes decide, against the observed TCP edges into workloads (UDP is never
 * intercepted: not judged). All objects together make the end state — Istio and Linkerd apart, objects with the same
 * name replaced by the last applied — and each edge is charged to the manifests whose objects refuse it:
 * - Istio: see `istioDecide` (PeerAuthentication modes with `portLevelMtls`, AuthorizationPolicy ALLOW / DENY rules
 *   by principal, namespace, service account, `ipBlocks` and port);
 * - Linkerd: see `linkerdDecide` (Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication).
 * A client is a mesh identity when it is a known, non-host-network workload (its service account); its address is its
 * pod's, or the observed address / block of an outside, node or unattributed peer.
 * `manifests` maps a caller's key (the manifest path) to its objects; per key, `replayedFlows` counts the edges its
 * objects apply to.
 */
export function evaluateMesh(input: MeshEvalInput, manifests: ReadonlyMap<string, readonly K8sObject[]>): MeshEvaluation {
  const td = input.trustDomain ?? 'cluster.local';
  const root = input.istioRootNamespace ?? 'istio-system';
  const byId = new Map(input.workloads.map((w) => [endpointId(w.endpoint), w]));
  const placed: Placed[] = [...manifests].flatMap(([key, objects]) => objects.map((o) => ({ key, o })));
  const istio = lastApplied(placed.filter((p) => typeof p.o?.apiVersion === 'string' && istioGroup(p.o)));
  const linkerd = lastApplied(placed.filter((p) => typeof p.o?.apiVersion === 'string' && linkerdGroup(p.o)));
  const tally = new Map([...manifests.keys()].map((k) => [k, { judged: new Set<string>(), blocked: new Set<string>(), judgedFlows: 0, blockedFlows: 0 }]));
  const admitted = new Set<string>();
  const admittedByAddress = new Set<string>();
  for (const e of input.edges) {
    const w = e.verdict === 'allowed' && e.protocol === 'TCP' && isWorkloadKind(e.dst.kind) ? byId.get(endpointId(e.dst)) : undefined;
    if (!w) continue;
    const client = meshPeer(e.src, byId);
    const k = edgeKey(e);
    for (const v of [istioDecide(istio, w, e.port, client, td, root), linkerdDecide(linkerd, w, e.port, client, td)]) {
      if (!v) continue;
      for (const key of v.covering) {
        const t = tally.get(key)!;
        if (t.judged.has(k)) continue;
        t.judged.add(k);
        t.judgedFlows += e.flows;
      }
      for (const key of v.blocking) {
        const t = tally.get(key)!;
        if (t.blocked.has(k)) continue;
        t.blocked.add(k);
        t.blockedFlows += e.flows;
      }
      if (v.blocking.size === 0 && v.admittedAs === 'identity') admitted.add(k);
      if (v.blocking.size === 0 && v.admittedAs === 'address') admittedByAddress.add(k);
    }
  }
  for (const k of admitted) admittedByAddress.delete(k);
  const friction = new Map([...tally].map(([key, t]) => [key, { replayedFlows: t.judgedFlows, blockedFlows: t.blockedFlows, blockedEdges: t.blocked.size }]));
  return { friction, admitted, admittedByAddress };
}

/** The client end of an edge as a mesh proxy sees it. */
function meshPeer(ep: Endpoint, byId: ReadonlyMap<string, Workload>): MeshPeer {
  if (isWorkloadKind(ep.kind)) {
    const c = byId.get(endpointId(ep));
    if (!c) return {};
    const ip = String(c.pod?.status?.podIP ?? (c.hostNetwork ? c.pod?.status?.hostIP ?? '' : ''));
    const address = ip ? parseCidr(ip) : undefined;
    // Host-network pods get no sidecar / proxy: no mesh identity, only the node's address.
    return { ...(c.hostNetwork || !c.serviceAccount ? {} : { identity: { ns: c.endpoint.namespace, sa: c.serviceAccount } }), ...(address ? { address } : {}) };
  }
  const address = ep.cidr ? parseCidr(ep.cidr) : ep.ip ? parseCidr(ep.ip) : undefined;
  return address ? { address } : {};
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
  /** Edge keys a mesh admits by the client's source address (from `evaluateMesh`). */
  meshAddress?: ReadonlySet<string>;
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

const nsOf = (ep: Endpoint) => (isWorkloadKind(ep.kind) || ep.kind === 'Service' ? ep.namespace : undefined);

/**
 * Per namespace, its observed allowed edges (an end in it) by how `engine` admits them: each edge takes the better
 * class of its two ends (identity > address > open); blocked when either end drops it; unattributed when an end
 * cannot be judged. An mTLS principal admitting the edge makes it identity.
 */
export function coverage(input: CoverageInput, engine: PolicyEngine): Map<string, CoverageFigures> {
  const byId = new Map(input.identity.workloads.map((w) => [endpointId(w.endpoint), w]));
  const pods = new Map<Workload, PodPeer>();
  const services = serviceBackendsOf(input.identity);
  const out = new Map(input.namespaces.map((ns) => [ns, emptyFigures()]));
  for (const e of input.edges) {
    if (e.verdict !== 'allowed') continue;
    const nss = [...new Set([nsOf(e.src), nsOf(e.dst)])].filter((ns): ns is string => !!ns && out.has(ns));
    if (nss.length === 0) continue;
    const cls = edgeClass(e, engine, input, byId, pods, services);
    for (const ns of nss) {
      const f = out.get(ns)!;
      f.flows[cls] += e.flows;
      f.edges[cls]++;
    }
  }
  return out;
}

function edgeClass(
  e: Edge, engine: PolicyEngine, input: CoverageInput, byId: ReadonlyMap<string, Workload>, pods: Map<Workload, PodPeer>, services: ServiceBackends,
): CoverageClass {
  const src = peerOf(e.src, byId, input.identity, pods);
  if (!src) return 'unattributed';
  if (!isProtocol(e.protocol)) return 'open'; // ICMP and the like: policies cannot name them port by port
  // Seen before kube-proxy's DNAT (a capture in the pod): policies judge it at the Service's backends, so the edge is
  // as well covered as its worst-covered backend (kube-proxy may pick any).
  if (e.dst.kind === 'Service') {
    const backends = services.resolve(e.dst.namespace ?? 'default', e.dst.name ?? '', e.protocol, e.port);
    if (backends.length === 0) return 'unattributed';
    let worst: CoverageClass = 'identity';
    for (const b of backends) {
      const dst: Peer | undefined = b.pod && !b.pod.spec?.hostNetwork ? podPeer(b.pod, input.identity)
        : b.ip ? (() => { const set = parseCidr(b.ip!); return set ? { kind: 'external' as const, addresses: set } : undefined; })() : undefined;
      const cls = dst ? judged(e, engine, input, src, dst, b.port) : 'unattributed';
      if (RANK[cls] > RANK[worst]) worst = cls;
    }
    return worst;
  }
  const dst = peerOf(e.dst, byId, input.identity, pods);
  if (!dst) return 'unattributed';
  return judged(e, engine, input, src, dst, e.port);
}

function judged(e: Edge, engine: PolicyEngine, input: CoverageInput, src: Peer, dst: Peer, port: number): CoverageClass {
  const d = engine.decide(src, dst, e.protocol as Protocol, port);
  if (!d.allowed) return 'blocked';
  const sides: CoverageClass[] = [];
  if (src.kind === 'pod') sides.push(sideClass(engine, d.egress, dst, 'egress'));
  if (dst.kind === 'pod') sides.push(sideClass(engine, d.ingress, src, 'ingress'));
  if (input.meshAdmitted?.has(edgeKey(e))) sides.push('identity');
  if (input.meshAddress?.has(edgeKey(e))) sides.push('address');
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
