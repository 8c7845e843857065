import type { K8sObject } from '../../model/index.js';
import { clusterFromObjects, type ClusterModel, type WorkloadPod } from './cluster.js';
import type { ConnectionSet } from './connections.js';
import { PolicyEngine } from './engine.js';
import { ingressControllerTargets } from './ingress-controller.js';
import type { IntervalSet } from './intervals.js';
import { disjointRanges, formatRange } from './ipv4.js';
import type { ExternalPeer, PodPeer } from './types.js';

/** One allowed directed pair, spelled as np-guard's connlist prints it. */
export interface ConnLine { src: string; dst: string; conn: string }

export const INGRESS_CONTROLLER_ID = '{ingress-controller}';
const INGRESS_CONTROLLER: PodPeer = {
  kind: 'pod', namespace: 'ingress-controller-ns', name: 'ingress-controller', labels: {},
  namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-controller-ns' }, containerPorts: [],
};

interface ListPeer { id: string; peer: PodPeer | ExternalPeer }

export interface ConnlistResult { lines: ConnLine[]; errors: string[]; warnings: string[] }

/**
 * np-guard's connlist from manifests. `errors` lists input np-guard refuses (it then prints nothing); the lines are
 * still computed so callers can decide.
 */
export function connlistFromObjects(objects: readonly K8sObject[]): ConnlistResult {
  const cluster = clusterFromObjects(objects);
  const warnings = [...cluster.warnings];
  const lines = connlist(cluster, (w) => warnings.push(w));
  return { lines, errors: cluster.errors, warnings };
}

/** Allowed connectivity between every pair of workloads and external ranges, sorted by src then dst (byte order). */
export function connlist(cluster: ClusterModel, warn: (msg: string) => void = () => {}): ConnLine[] {
  if (cluster.pods.length === 0) return [];
  const engine = new PolicyEngine(cluster.policies);
  const workloads = representativePods(cluster.pods);
  const wlPeers: ListPeer[] = workloads.map((p) => ({ id: p.workload.id, peer: p }));
  const { sources, destinations } = externalRanges(cluster);
  const srcPeers = [...sources.map(externalPeer), ...wlPeers];
  const dstPeers = [...destinations.map(externalPeer), ...wlPeers];

  const lines: ConnLine[] = [];
  for (const s of srcPeers) {
    for (const d of dstPeers) {
      if (s.id === d.id || (s.peer.kind === 'external' && d.peer.kind === 'external')) continue;
      const conns = engine.allowedConnections(s.peer, d.peer);
      if (!conns.isEmpty()) lines.push({ src: s.id, dst: d.id, conn: conns.toString() });
    }
  }
  for (const t of ingressControllerTargets(workloads, cluster.services, cluster.routes, cluster.ingresses, warn)) {
    const conns: ConnectionSet = t.connections.intersect(engine.allowedConnections(INGRESS_CONTROLLER, t.pod));
    if (conns.isEmpty()) {
      warn(`${t.objects[0]} specified workload ${t.pod.workload.id} as a backend, but network policies are blocking ingress connections from an arbitrary in-cluster source to this workload`);
      continue;
    }
    lines.push({ src: INGRESS_CONTROLLER_ID, dst: t.pod.workload.id, conn: conns.toString() });
  }
  return lines.sort(compareLines);
}

function compareLines(a: ConnLine, b: ConnLine): number {
  if (a.src !== b.src) return a.src < b.src ? -1 : 1;
  if (a.dst !== b.dst) return a.dst < b.dst ? -1 : 1;
  return 0;
}

/** One pod per workload: the first seen (np-guard rejects inputs whose replicas differ in labels that policies use). */
function representativePods(pods: readonly WorkloadPod[]): WorkloadPod[] {
  const byId = new Map<string, WorkloadPod>();
  for (const p of pods) if (!byId.has(p.workload.id)) byId.set(p.workload.id, p);
  return [...byId.values()];
}

/** Sources are split on ingress ipBlocks, destinations on egress ipBlocks and (B)ANP networks. */
function externalRanges(cluster: ClusterModel): { sources: IntervalSet[]; destinations: IntervalSet[] } {
  const src: IntervalSet[] = [];
  const dst: IntervalSet[] = [];
  for (const np of cluster.policies.networkPolicies) {
    for (const r of np.ingress) for (const p of r.peers) if (p.ipBlock) src.push(p.ipBlock);
    for (const r of np.egress) for (const p of r.peers) if (p.ipBlock) dst.push(p.ipBlock);
  }
  const admin = [...cluster.policies.adminPolicies, ...(cluster.policies.baseline ? [cluster.policies.baseline] : [])];
  for (const a of admin) for (const r of a.egress) for (const p of r.peers) if ('networks' in p) dst.push(p.networks);
  return { sources: disjointRanges(src), destinations: disjointRanges(dst) };
}

function externalPeer(range: IntervalSet): ListPeer {
  return { id: `${formatRange(range)}[External]`, peer: { kind: 'external', addresses: range } };
}

export function formatConnlistTxt(lines: readonly ConnLine[]): string {
  return lines.map((l) => `${l.src} => ${l.dst} : ${l.conn}\n`).join('');
}

export function formatConnlistJson(lines: readonly ConnLine[]): string {
  return `${JSON.stringify(lines.map((l) => ({ src: l.src, dst: l.dst, conn: l.conn })), null, 2)}\n`;
}
