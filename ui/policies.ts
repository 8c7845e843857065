/**
 * `segmap policies`, and the web UI's view of it: observed graph → intents → manifests, then the proof (every
 * observed allowed flow replayed against the generated NetworkPolicies), the attack-surface reduction, and the
 * rollout plan. Nothing is written here; the CLI writes files, the server serves the same result.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ciliumDefaultDeny, ciliumPolicy } from '../analyzer/emit/cilium.js';
import { defaultDenyPolicy, networkPolicy } from '../analyzer/emit/networkpolicy.js';
import { rolloutMarkdown, rolloutPlan, type RolloutPlan } from '../analyzer/emit/plan.js';
import { istioAuthorizationPolicy, istioPeerAuthentication, istioWorkloadPeerAuthentication, namespaceEndMode, tierMtlsMode, type PlaintextException } from '../analyzer/emit/istio.js';
import { linkerdPolicies } from '../analyzer/emit/linkerd.js';
import { meshPlan, plaintextPorts, type MeshOptions } from '../analyzer/emit/mesh.js';
import { meshReadme } from '../analyzer/emit/mesh-readme.js';
import { outputReadme, type TargetFriction } from '../analyzer/emit/readme.js';
import { manifestNames, type Emitted } from '../analyzer/emit/yaml.js';
import { podPeer } from '../analyzer/findings.js';
import type { IdentityIndex } from '../analyzer/identity.js';
import { chargeDenied, coverage, evaluateMesh, namespaceRisk, noFriction } from '../analyzer/friction.js';
import { buildIntents } from '../analyzer/intents.js';
import { applyTiers, assignTiers, validateTierConfig, type TierConfig } from '../analyzer/tiers.js';
import { MAX_PORT, MIN_PORT, PROTOCOLS } from '../analyzer/policy/connections.js';
import type { PolicyEngine } from '../analyzer/policy/engine.js';
import { ALL_IPV4 } from '../analyzer/policy/ipv4.js';
import type { Direction, NpPeerSelector, Peer, PodPeer } from '../analyzer/policy/types.js';
import { replay, type DeniedEdge } from '../analyzer/replay.js';
import { sharedAccounts } from '../analyzer/sa-audit.js';
import {
  endpointId, isWorkloadKind,
  type Endpoint, type Friction, type Graph, type IntentSet, type K8sObject, type NamespaceCoverage, type Tier,
} from '../model/index.js';
import type { FlowStore } from '../store/backend.js';
import { analyzeFindings, analyzeGraph, loadIdentity, policyEngine, type AnalysisOptions } from './pipeline.js';
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
  /** Also a default-deny per namespace (DNS kept open for every pod). Tier-3 namespaces get one regardless. */
  defaultDeny?: boolean;
  /** A validated tier config (`readTierConfig`); tiers also come from `segmap.io/tier` labels. */
  tiers?: TierConfig;
}

export interface GeneratedManifest {
  namespace: string;
  /** `ns/name[Kind]`; `ns/*` for a namespace's default-deny. */
  workload: string;
  target: PolicyTarget;
  /** Relative to the output directory: `<ns>/<workload>.<target>.yaml`. */
  path: string;
  yaml: string;
  /** Its tier (also its `segmap.io/tier` annotation), when tiers are in use. */
  tier?: Tier;
  /**
   * Observed legitimate flows it would block: NetworkPolicies replayed with the engine (blocked edges charged to the
   * manifest of the end that denies them), Istio / Linkerd evaluated as the meshes decide; null where segmap cannot
   * evaluate the target (Cilium: generated from the same intents as the NetworkPolicies, not replayed).
   */
  friction: Friction | null;
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
  /** Problems in the cluster's current policies or in the generated ones (the latter would be a bug); tier warnings. */
  problems: string[];
  intents: IntentSet;
  /** Per target: what its manifests together would block (null: not evaluated). */
  friction: TargetFriction[];
  /** Per namespace in scope: its observed traffic by how it is admitted, now and with the proposal. */
  coverage: NamespaceCoverage[];
  /** Tiers in use: per namespace, its own tier and its workloads per tier. Empty when untiered. */
  tiers: { namespace: string; tier: Tier; source: string; workloads: Record<Tier, number> }[];
}

/** Read and validate a tier config file (YAML or JSON); errors say `FILE[:LINE]: reason`. */
export async function readTierConfig(path: string): Promise<TierConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new Error(`${path}${err.linePos ? `:${err.linePos[0].line}` : ''}: not YAML or JSON (${reason})`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
  }
  return validateTierConfig(value, path);
}

/** Flow sources that cannot see traffic staying on one node. */
const SAME_NODE_BLIND_FORMATS = ['aws-vpc', 'gcp-vpc', 'azure-flow'];

export async function proposePolicies(store: FlowStore, opts: ProposeOptions = {}): Promise<Proposal> {
  const targets = opts.targets ?? DEFAULT_TARGETS;
  const identity = await loadIdentity(store);
  const graph = await analyzeGraph(store, opts, identity);
  const sameNodeBlind = (await store.inputs()).some((i) => SAME_NODE_BLIND_FORMATS.includes(i.format));
  const tiering = assignTiers({ workloads: identity.workloads, current: identity.current, config: opts.tiers });
  const exactEgress = tiering.enabled ? (id: string) => tiering.workloads.get(id)?.tier === 3 : undefined;
  const intents = applyTiers(buildIntents(identity, graph, { namespace: opts.namespace, sameNodeBlind, exactEgress }), tiering);
  const mesh: MeshOptions = { trustDomain: opts.trustDomain, dryRun: opts.istioDryRun, accounts: new Map(identity.workloads.map((w) => [endpointId(w.endpoint), w.serviceAccount])) };
  const { manifests, netpols, objects } = emitAll(intents, targets, opts.defaultDeny ?? false, mesh);

  // Prove the emitted objects (their YAML text round-trips to them; the emitters' tests hold that), on top of the
  // cluster's own policies, as they will be in force once applied.
  const after = policyEngine(mergePolicies(identity.current, netpols));
  const before = policyEngine(identity.current);
  const proof = await prove(identity, store, opts, after.engine);

  // Friction: what each manifest (and each target as a whole) would block of the observed traffic.
  const figures = frictionAndCoverage(identity, graph, intents, manifests, objects, proof, before.engine, after.engine, opts.trustDomain);
  // Risk: the per-workload ranking (findings, egress risk, service accounts) folded per namespace, for the plan's order.
  const { risk } = await analyzeFindings(store, opts, identity, graph);

  const perNs = new Map<string, number>();
  for (const m of manifests) perNs.set(m.namespace, (perNs.get(m.namespace) ?? 0) + 1);
  const plan = rolloutPlan(intents, {
    defaultDeny: opts.defaultDeny ?? false, policiesPerNamespace: perNs,
    risk: namespaceRisk(risk), friction: figures.namespaceFriction, coverage: new Map(figures.coverage.map((c) => [c.namespace, c])),
  });
  const scope = new Set(intents.namespaces.map((n) => n.namespace));
  const surface = { before: attackSurface(identity, before.engine, scope), after: attackSurface(identity, after.engine, scope) };
  const tiers = tierSummary(intents);
  const readme = outputReadme({
    targets, defaultDeny: opts.defaultDeny ?? false, window: intents.window, files: manifests.map((m) => m.path),
    proof: { replayedFlows: proof.replayedFlows, deniedFlows: proof.deniedFlows, unknownFlows: proof.unknownFlows }, surface,
    friction: figures.targets, coverage: figures.coverage, tiers,
  }) + (targets.includes('istio') || targets.includes('linkerd') ? meshSection(intents, targets, mesh, identity, graph) : '');
  return {
    manifests, proof, surface, plan, readme, rollout: rolloutMarkdown(plan), intents,
    problems: [...new Set([...before.problems, ...after.problems, ...tiering.warnings])],
    friction: figures.targets, coverage: figures.coverage, tiers,
  };
}

function tierSummary(intents: IntentSet): Proposal['tiers'] {
  if (!intents.tiered) return [];
  return intents.namespaces.filter((n) => n.tier).map((n) => {
    const workloads: Record<Tier, number> = { 1: 0, 2: 0, 3: 0 };
    for (const w of intents.workloads) if (w.namespace === n.namespace && w.tier) workloads[w.tier.tier]++;
    return { namespace: n.namespace, tier: n.tier!.tier, source: n.tier!.source, workloads };
  });
}

/**
 * Friction per manifest and per target, and zero-trust coverage per namespace. NetworkPolicies: the proof's replay,
 * each blocked edge charged to the manifest of the workload whose side denied it (else its namespace's default-deny).
 * Istio / Linkerd: their objects evaluated as the meshes decide against the observed edges. Sets `friction` on the
 * manifests in place.
 */
function frictionAndCoverage(
  identity: IdentityIndex, graph: Graph, intents: IntentSet, manifests: GeneratedManifest[], objects: ReadonlyMap<string, K8sObject[]>,
  proof: Proof, before: PolicyEngine, after: PolicyEngine, trustDomain?: string,
): { targets: TargetFriction[]; namespaceFriction: Map<string, Friction>; coverage: NamespaceCoverage[] } {
  const replayed = proof.replayedFlows;
  const charged = chargeDenied(proof.denied);
  const k8sByWorkload = new Map(manifests.filter((m) => m.target === 'k8s' && !m.workload.endsWith('/*')).map((m) => [m.workload, m]));
  const k8sDefaultDeny = new Map(manifests.filter((m) => m.target === 'k8s' && m.workload.endsWith('/*')).map((m) => [m.namespace, m]));
  const k8sFriction = new Map<GeneratedManifest, Friction>();
  const namespaceFriction = new Map(intents.namespaces.map((n) => [n.namespace, noFriction(replayed)]));
  let unchargedFlows = 0;
  let unchargedEdges = 0;
  for (const [workload, t] of charged) {
    const ns = workload.split('/')[0];
    const m = k8sByWorkload.get(workload) ?? k8sDefaultDeny.get(ns);
    if (m) {
      const f = k8sFriction.get(m) ?? noFriction(replayed);
      k8sFriction.set(m, { ...f, blockedFlows: f.blockedFlows + t.flows, blockedEdges: f.blockedEdges + t.edges });
    } else {
      unchargedFlows += t.flows;
      unchargedEdges += t.edges;
    }
    const nf = namespaceFriction.get(ns);
    if (nf) namespaceFriction.set(ns, { ...nf, blockedFlows: nf.blockedFlows + t.flows, blockedEdges: nf.blockedEdges + t.edges });
  }
  const edges = graph.edges.filter((e) => e.verdict === 'allowed');
  const meshPaths = new Map(manifests.filter((m) => m.target === 'istio' || m.target === 'linkerd').map((m) => [m.path, objects.get(m.path) ?? []]));
  const mesh = evaluateMesh({ edges, workloads: identity.workloads, trustDomain }, meshPaths);
  for (const m of manifests) {
    m.friction = m.target === 'k8s' ? k8sFriction.get(m) ?? noFriction(replayed)
      : m.target === 'cilium' ? null
        : mesh.friction.get(m.path) ?? null;
  }
  const targets: TargetFriction[] = [];
  for (const target of POLICY_TARGETS) {
    const ms = manifests.filter((m) => m.target === target);
    if (ms.length === 0) continue;
    if (target === 'k8s') {
      targets.push({ target, friction: { replayedFlows: replayed, blockedFlows: proof.deniedFlows, blockedEdges: proof.denied.length }, how: `replayed with the NetworkPolicy engine${unchargedFlows ? ` (${unchargedFlows} flows on ${unchargedEdges} edges denied by policies outside the proposal)` : ''}` });
    } else if (target === 'cilium') {
      targets.push({ target, friction: null, how: 'generated from the same intents as the NetworkPolicies; segmap\'s engine replays Kubernetes NetworkPolicy only' });
    } else {
      // All of the target's objects at once: an edge blocked by several of them (an AuthorizationPolicy and a STRICT
      // PeerAuthentication) counts once.
      const all = evaluateMesh({ edges, workloads: identity.workloads, trustDomain }, new Map([['all', ms.flatMap((m) => objects.get(m.path) ?? [])]])).friction.get('all') ?? noFriction();
      targets.push({
        target, friction: all,
        how: `evaluated as ${target === 'istio' ? 'Istio' : 'Linkerd'} decides (${target === 'istio' ? 'mTLS mode per port, then principal or source address (ipBlocks) and port' : 'Server, then mesh identity or source network and port'}) against the observed TCP edges into the workloads it covers; clients without a mesh identity are admitted by address (see "mTLS" below)`,
      });
    }
  }
  const namespaces = intents.namespaces.map((n) => n.namespace);
  const cin = { identity, edges, namespaces };
  const now = coverage(cin, before);
  const proposed = coverage({ ...cin, meshAdmitted: mesh.admitted, meshAddress: mesh.admittedByAddress }, after);
  return {
    targets, namespaceFriction,
    coverage: namespaces.map((ns) => ({ namespace: ns, before: now.get(ns)!, after: proposed.get(ns)! })),
  };
}

/**
 * One manifest per workload and target, then the namespace-wide ones (sorted by path); the NetworkPolicies (for the
 * proof) and every manifest's objects (for the mesh evaluation). With tiers: a tier-3 namespace gets its default-deny
 * whatever `defaultDeny` says, and its Istio mTLS ends STRICT (tiers 1 and 2: PERMISSIVE), with a workload-level
 * PeerAuthentication where a workload's tier wants another mode than its namespace's.
 */
export function emitAll(
  intents: IntentSet, targets: readonly PolicyTarget[], defaultDeny: boolean, mesh: MeshOptions = { accounts: new Map() },
): { manifests: GeneratedManifest[]; netpols: K8sObject[]; objects: Map<string, K8sObject[]> } {
  const names = manifestNames(intents.workloads);
  const out: GeneratedManifest[] = [];
  const netpols: K8sObject[] = [];
  const objects = new Map<string, K8sObject[]>();
  const add = (namespace: string, workload: string, base: string, target: PolicyTarget, e: Emitted, tier?: Tier, all?: Emitted['object'][]) => {
    const path = `${namespace}/${base}.${target}.yaml`;
    out.push({ namespace, workload, target, path, yaml: e.yaml, ...(tier ? { tier } : {}), friction: null });
    objects.set(path, (all ?? [e.object]) as K8sObject[]);
    if (target === 'k8s') netpols.push(e.object as K8sObject);
  };
  const nsTier = new Map(intents.namespaces.map((n) => [n.namespace, n.tier]));
  const exceptions: (PlaintextException & { namespace: string })[] = [];
  for (const w of intents.workloads) {
    const base = names.get(w.id)!;
    const tier = w.tier?.tier;
    if (targets.includes('k8s')) add(w.namespace, w.id, base, 'k8s', networkPolicy(w, base, intents), tier);
    if (targets.includes('cilium')) add(w.namespace, w.id, base, 'cilium', ciliumPolicy(w, base, intents), tier);
    const istio = targets.includes('istio') ? istioAuthorizationPolicy(w, base, mesh) : undefined;
    if (istio) add(w.namespace, w.id, base, 'istio', istio, tier);
    // Its own PeerAuthentication: its tier wants another mode than its namespace's, and/or it ends STRICT while
    // clients without a mesh identity call it (those ports stay PERMISSIVE).
    const own = w.tier && tierMtlsMode(w.tier) !== tierMtlsMode(nsTier.get(w.namespace)) ? tierMtlsMode(w.tier) : undefined;
    const nsEnd = namespaceEndMode(nsTier.get(w.namespace));
    const pa = targets.includes('istio') ? istioWorkloadPeerAuthentication(w, base, own, nsEnd, mesh) : undefined;
    if (pa) add(w.namespace, w.id, `${base}.mtls`, 'istio', pa, tier);
    const plaintext = pa && (own ?? nsEnd) === 'STRICT' ? plaintextPorts(meshPlan(w, mesh)) : [];
    if (plaintext.length > 0) exceptions.push({ workload: w.id, ports: plaintext, file: `${base}.mtls.istio.yaml`, namespace: w.namespace });
    const linkerd = targets.includes('linkerd') ? linkerdPolicies(w, base, mesh) : undefined;
    if (linkerd) add(w.namespace, w.id, base, 'linkerd', { object: linkerd.objects[0], yaml: linkerd.yaml }, tier, linkerd.objects);
  }
  for (const { namespace, tier } of intents.namespaces) {
    if (targets.includes('istio')) {
      add(namespace, `${namespace}/*`, 'mtls-permissive', 'istio', istioPeerAuthentication(namespace, 'PERMISSIVE', tier), tier?.tier);
      // Untiered and tier 3 end STRICT (PERMISSIVE is their first step); tiers 1 and 2 stay PERMISSIVE.
      if (!tier || tier.tier === 3) add(namespace, `${namespace}/*`, 'mtls-strict', 'istio', istioPeerAuthentication(namespace, 'STRICT', tier, exceptions.filter((x) => x.namespace === namespace)), tier?.tier);
    }
    if (defaultDeny || tier?.tier === 3) {
      if (targets.includes('k8s')) add(namespace, `${namespace}/*`, 'default-deny', 'k8s', defaultDenyPolicy(namespace, intents.dns, tier), tier?.tier);
      if (targets.includes('cilium')) add(namespace, `${namespace}/*`, 'default-deny', 'cilium', ciliumDefaultDeny(namespace, intents.dns, tier), tier?.tier);
    }
  }
  return { manifests: out.sort((a, b) => a.path.localeCompare(b.path)), netpols, objects };
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
