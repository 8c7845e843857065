/**
 * `segmap policies`, and the web UI's view of it: observed graph → intents → manifests, then the proof (every
 * observed allowed flow replayed against the generated NetworkPolicies), the attack-surface reduction, and the
 * rollout plan. Nothing is written here; the CLI writes files, the server serves the same result.
 */
import { ciliumDefaultDeny, ciliumPolicy } from '../analyzer/emit/cilium.js';
import { defaultDenyPolicy, networkPolicy } from '../analyzer/emit/networkpolicy.js';
import { rolloutMarkdown, rolloutPlan, type RolloutPlan } from '../analyzer/emit/plan.js';
import { istioAuthorizationPolicy, istioPeerAuthentication } from '../analyzer/emit/istio.js';
import { linkerdPolicies } from '../analyzer/emit/linkerd.js';
import type { MeshOptions } from '../analyzer/emit/mesh.js';
import { meshReadme } from '../analyzer/emit/mesh-readme.js';
import { outputReadme } from '../analyzer/emit/readme.js';
import { manifestNames, type Emitted } from '../analyzer/emit/yaml.js';
import { podPeer } from '../analyzer/findings.js';
import type { IdentityIndex } from '../analyzer/identity.js';
import { buildIntents } from '../analyzer/intents.js';
import { MAX_PORT, MIN_PORT, PROTOCOLS } from '../analyzer/policy/connections.js';
import type { PolicyEngine } from '../analyzer/policy/engine.js';
import { ALL_IPV4 } from '../analyzer/policy/ipv4.js';
import type { Direction, NpPeerSelector, Peer, PodPeer } from '../analyzer/policy/types.js';
import { replay, type DeniedEdge } from '../analyzer/replay.js';
import { sharedAccounts } from '../analyzer/sa-audit.js';
import { endpointId, isWorkloadKind, type Endpoint, type Graph, type IntentSet, type K8sObject } from '../model/index.js';
import type { FlowStore } from '../store/backend.js';
import { analyzeGraph, loadIdentity, policyEngine, type AnalysisOptions } from './pipeline.js';
import { mergePolicies } from './policy-input.js';


export const POLICY_TARGETS = ['k8s', 'cilium', 'istio', 'linkerd'] as const;
export type PolicyTarget = (typeof POLICY_TARGETS)[number];
/** What `policies` writes unless told otherwise. */
export const DEFAULT_TARGETS: readonly PolicyTarget[] = ['k8s', 'cilium'];

export interface ProposeOptions extends AnalysisOptions {
  /** Default: DEFAULT_TARGETS. */
  targets?: readonly PolicyTarget[];
  /** Istio / Linkerd: the mesh trust domain (default `cluster.local`). */
  trustDomain?: string;
  /** Istio: AuthorizationPolicies marked `istio.io/dry-run`. */
  istioDryRun?: boolean;
  /** Also a default-deny per namespace (DNS kept open for every pod). */
  defaultDeny?: boolean;
}

export interface GeneratedManifest {
  namespace: string;
  /** `ns/name[Kind]`; `ns/*` for a namespace's default-deny. */
  workload: string;
  target: PolicyTarget;
  /** Relative to the output directory: `<ns>/<workload>.<target>.yaml`. */
  path: string;
  yaml: string;
}

export interface Surface {
  /** Ordered pairs of workloads (plus "any outside address") that may connect at all. */
  pairs: number;
  /** Allowed (src, dst, protocol/port) triples over those pairs. */
  triples: number;
}

export interface Proof {
  replayedFlows: number;
  /** Observed allowed flows the generated policies would drop: must be 0. */
  deniedFlows: number;
  denied: DeniedEdge[];
  /** Flows with an `Unknown` end: no policy is written for them (reported in the plan), so they are not proven. */
  unknown: DeniedEdge[];
  unknownFlows: number;
  /** ICMP and other protocols policies cannot name by port: counted, not judged. */
  notEvaluatedFlows: number;
}

export interface Proposal {
  manifests: GeneratedManifest[];
  proof: Proof;
  surface: { before: Surface; after: Surface };
  plan: RolloutPlan;
  /** `README.md` and `ROLLOUT.md` of the output directory. */
  readme: string;
  rollout: string;
  /** Problems in the cluster's current policies or in the generated ones (the latter would be a bug). */
  problems: string[];
  intents: IntentSet;
}

/** Flow sources that cannot see traffic staying on one node. */
const SAME_NODE_BLIND_FORMATS = ['aws-vpc', 'gcp-vpc', 'azure-flow'];

export async function proposePolicies(store: FlowStore, opts: ProposeOptions = {}): Promise<Proposal> {
  const targets = opts.targets ?? DEFAULT_TARGETS;
  const identity = await loadIdentity(store);
  const graph = await analyzeGraph(store, opts, identity);
  const sameNodeBlind = (await store.inputs()).some((i) => SAME_NODE_BLIND_FORMATS.includes(i.format));
  const intents = buildIntents(identity, graph, { namespace: opts.namespace, sameNodeBlind });
  const mesh: MeshOptions = { trustDomain: opts.trustDomain, dryRun: opts.istioDryRun, accounts: new Map(identity.workloads.map((w) => [endpointId(w.endpoint), w.serviceAccount])) };
  const { manifests, netpols } = emitAll(intents, targets, opts.defaultDeny ?? false, mesh);

  // Prove the emitted objects (their YAML text round-trips to them; the emitters' tests hold that), on top of the
  // cluster's own policies, as they will be in force once applied.
  const after = policyEngine(mergePolicies(identity.current, netpols));
  const before = policyEngine(identity.current);
  const proof = await prove(identity, store, opts, after.engine);

  const perNs = new Map<string, number>();
  for (const m of manifests) perNs.set(m.namespace, (perNs.get(m.namespace) ?? 0) + 1);
  const plan = rolloutPlan(intents, { defaultDeny: opts.defaultDeny ?? false, policiesPerNamespace: perNs });
  const scope = new Set(intents.namespaces.map((n) => n.namespace));
  const surface = { before: attackSurface(identity, before.engine, scope), after: attackSurface(identity, after.engine, scope) };
  const readme = outputReadme({
    targets, defaultDeny: opts.defaultDeny ?? false, window: intents.window, files: manifests.map((m) => m.path),
    proof: { replayedFlows: proof.replayedFlows, deniedFlows: proof.deniedFlows, unknownFlows: proof.unknownFlows }, surface,
  }) + (targets.includes('istio') || targets.includes('linkerd') ? meshSection(intents, targets, mesh, identity, graph) : '');
  return {
    manifests, proof, surface, plan, readme, rollout: rolloutMarkdown(plan), intents,
    problems: [...new Set([...before.problems, ...after.problems])],
  };
}

/** One manifest per workload and target, then the namespaces' default-denies (sorted by path); and the NetworkPolicies. */
export function emitAll(
  intents: IntentSet, targets: readonly PolicyTarget[], defaultDeny: boolean, mesh: MeshOptions = { accounts: new Map() },
): { manifests: GeneratedManifest[]; netpols: K8sObject[] } {
  const names = manifestNames(intents.workloads);
  const out: GeneratedManifest[] = [];
  const netpols: K8sObject[] = [];
  const add = (namespace: string, workload: string, base: string, target: PolicyTarget, e: Emitted) => {
    out.push({ namespace, workload, target, path: `${namespace}/${base}.${target}.yaml`, yaml: e.yaml });
    if (target === 'k8s') netpols.push(e.object as K8sObject);
  };
  for (const w of intents.workloads) {
    const base = names.get(w.id)!;
    if (targets.includes('k8s')) add(w.namespace, w.id, base, 'k8s', networkPolicy(w, base, intents));
    if (targets.includes('cilium')) add(w.namespace, w.id, base, 'cilium', ciliumPolicy(w, base, intents));
    const istio = targets.includes('istio') ? istioAuthorizationPolicy(w, base, mesh) : undefined;
    if (istio) add(w.namespace, w.id, base, 'istio', istio);
    const linkerd = targets.includes('linkerd') ? linkerdPolicies(w, base, mesh) : undefined;
    if (linkerd) add(w.namespace, w.id, base, 'linkerd', { object: linkerd.objects[0], yaml: linkerd.yaml });
  }
  if (targets.includes('istio')) {
    for (const { namespace } of intents.namespaces) {
      add(namespace, `${namespace}/*`, 'mtls-permissive', 'istio', istioPeerAuthentication(namespace, 'PERMISSIVE'));
      add(namespace, `${namespace}/*`, 'mtls-strict', 'istio', istioPeerAuthentication(namespace, 'STRICT'));
    }
  }
  if (defaultDeny) {
    for (const { namespace } of intents.namespaces) {
      if (targets.includes('k8s')) add(namespace, `${namespace}/*`, 'default-deny', 'k8s', defaultDenyPolicy(namespace, intents.dns));
      if (targets.includes('cilium')) add(namespace, `${namespace}/*`, 'default-deny', 'cilium', ciliumDefaultDeny(namespace, intents.dns));
    }
  }
  return { manifests: out.sort((a, b) => a.path.localeCompare(b.path)), netpols };
}

export async function prove(identity: IdentityIndex, store: FlowStore, window: AnalysisOptions, engine: PolicyEngine): Promise<Proof> {
  const r = await replay(identity, store.aggregates(window), engine);
  // Not provable: an Unknown end, or a workload known only from a flow source's identity (Hubble without a cluster
  // dump of its namespace): no labels to evaluate a selector against.
  const known = new Set(identity.workloads.map((w) => endpointId(w.endpoint)));
  const unlabelled = (ep: Endpoint) => isWorkloadKind(ep.kind) && !known.has(endpointId(ep));
  const isUnknown = (e: DeniedEdge) => e.src.kind === 'Unknown' || e.dst.kind === 'Unknown' || unlabelled(e.src) || unlabelled(e.dst);
  const denied = r.denied.filter((e) => !isUnknown(e));
  const unknown = r.denied.filter(isUnknown);
  const sum = (es: DeniedEdge[]) => es.reduce((s, e) => s + e.flows, 0);
  return {
    replayedFlows: r.allowedFlows + r.deniedFlows, deniedFlows: sum(denied), denied, unknown, unknownFlows: sum(unknown),
    notEvaluatedFlows: r.notEvaluatedFlows,
  };
}

const INTERNET: Peer = { kind: 'external', addresses: ALL_IPV4 };
const ALL_TRIPLES = PROTOCOLS.length * (MAX_PORT - MIN_PORT + 1);

/**
 * What a set of policies allows, counted: every ordered pair of workloads with at least one end in scope, plus the
 * whole outside world as one peer each way. Host-network workloads are left out (policies do not apply to them).
 * Every counted pair is the engine's verdict; pairs a source's egress rules cannot match at all are skipped unasked.
 */
export function attackSurface(identity: IdentityIndex, engine: PolicyEngine, scope: ReadonlySet<string>): Surface {
  const pods = identity.workloads.filter((w) => w.pod && !w.hostNetwork).map((w) => podPeer(w.pod!, identity));
  const index = new PodIndex(pods);
  // Pods no policy selects in a direction: between such ends everything is allowed, no need to ask.
  const open = (d: Direction) => new Set(pods.filter((p) => {
    const s = engine.selectingPolicies(p, d);
    return s.networkPolicies.length === 0 && s.adminPolicies.length === 0 && !s.baseline;
  }));
  const egressOpen = open('egress');
  const ingressOpen = open('ingress');
  let pairs = 0;
  let triples = 0;
  const count = (src: Peer, dst: Peer) => {
    if (egressOpen.has(src as PodPeer) && ingressOpen.has(dst as PodPeer)) {
      pairs++;
      triples += ALL_TRIPLES;
      return;
    }
    const c = engine.allowedConnections(src, dst);
    if (c.isEmpty()) return;
    pairs++;
    for (const p of PROTOCOLS) for (const [lo, hi] of c.portsOf(p).intervals) triples += hi - lo + 1;
  };
  for (const a of pods) {
    const aIn = scope.has(a.namespace);
    for (const b of egressCandidates(engine, a, index) ?? pods) if (a !== b && (aIn || scope.has(b.namespace))) count(a, b);
    if (aIn) {
      count(a, INTERNET);
      count(INTERNET, a);
    }
  }
  return { pairs, triples };
}

/** Pods by `key=value` label and by namespace: a superset of the pods a rule peer can select. */
class PodIndex {
  private readonly byLabel = new Map<string, PodPeer[]>();
  private readonly byNamespace = new Map<string, PodPeer[]>();

  constructor(readonly all: PodPeer[]) {
    const push = (m: Map<string, PodPeer[]>, k: string, p: PodPeer) => (m.get(k) ?? m.set(k, []).get(k)!).push(p);
    for (const p of all) {
      for (const [k, v] of Object.entries(p.labels)) push(this.byLabel, `${k}=${v}`, p);
      push(this.byNamespace, p.namespace, p);
    }
  }

  /** Undefined: the peer may select any pod. */
  candidates(peer: NpPeerSelector, policyNamespace: string): readonly PodPeer[] | undefined {
    const label = Object.entries(peer.podSelector?.matchLabels ?? {})[0];
    if (label) return this.byLabel.get(`${label[0]}=${label[1]}`) ?? [];
    if (!peer.namespaceSelector) return this.byNamespace.get(policyNamespace) ?? [];
    const ns = peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'];
    return ns !== undefined ? this.byNamespace.get(ns) ?? [] : undefined;
  }
}

/**
 * Pods the source's egress could reach: when only NetworkPolicies isolate its egress, a pod none of their rule
 * peers can select gets nothing, so the engine need not be asked. Undefined: every pod is a candidate.
 */
function egressCandidates(engine: PolicyEngine, src: PodPeer, index: PodIndex): readonly PodPeer[] | undefined {
  const s = engine.selectingPolicies(src, 'egress');
  if (s.adminPolicies.length > 0 || s.baseline || s.networkPolicies.length === 0) return undefined;
  const out = new Set<PodPeer>();
  for (const np of s.networkPolicies) {
    for (const rule of np.egress) {
      if (rule.peers.length === 0) return undefined;
      for (const peer of rule.peers) {
        if (peer.ipBlock) continue;
        const c = index.candidates(peer, np.namespace);
        if (!c) return undefined;
        for (const p of c) out.add(p);
      }
    }
  }
  return [...out];
}

/** README section for the mesh targets: who is not admitted, shared service accounts, workloads left out. */
function meshSection(intents: IntentSet, targets: readonly PolicyTarget[], mesh: MeshOptions, identity: IdentityIndex, graph: Graph): string {
  const byAccount = new Map<string, { namespace: string; name: string; workloads: { id: string }[] }>();
  for (const w of identity.workloads) {
    const k = `${w.endpoint.namespace}/${w.serviceAccount}`;
    (byAccount.get(k) ?? byAccount.set(k, { namespace: w.endpoint.namespace, name: w.serviceAccount, workloads: [] }).get(k)!).workloads.push({ id: endpointId(w.endpoint) });
  }
  const scope = new Set(intents.namespaces.map((n) => n.namespace));
  const shared = sharedAccounts([...byAccount.values()].filter((a) => scope.has(a.namespace)), graph.edges);
  const skipped = targets.includes('istio') ? intents.workloads.filter((w) => !istioAuthorizationPolicy(w, 'x', mesh)).map((w) => w.id) : [];
  return `\n${meshReadme(intents, targets, mesh, shared, skipped)}`;
}
