import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { K8S_NAME_ALPHABET, Prng } from './fixtures-adapter.js';

/**
 * A synthetic cluster for the connectivity benchmark, written as multi-document YAML manifests (one file per
 * namespace, as a GitOps repo holds them): Namespaces, Pods (with controller ownerReferences, pod-template-hash
 * labels, named container ports, pod IPs) and NetworkPolicies in a realistic mix:
 *
 * - a default-deny per namespace (ingress everywhere, ingress+egress in a third of them);
 * - DNS egress to CoreDNS in every egress-locked namespace;
 * - ipBlock egress (internet minus RFC 1918, or a managed-service range, sometimes with `except`);
 * - app-to-egress allows for the egress-locked namespaces' dependencies;
 * - app-to-app ingress with podSelector, namespaceSelector+podSelector, named and numeric ports, some endPort
 *   ranges, and Prometheus scraping the named `metrics` port from the monitoring namespace.
 */

export const CLUSTER_MODEL_VERSION = 1;

export interface ClusterParams { seed: string; pods: number; namespaces: number; policies: number }

export function defaultClusterParams(): ClusterParams {
  return { seed: 'segmap-bench-cluster', pods: 2000, namespaces: 300, policies: 1000 };
}

export interface ClusterStats { pods: number; namespaces: number; policies: number; workloads: number; files: number; bytes: number; seconds: number }

type Obj = Record<string, unknown>;

interface Workload { ns: string; app: string; kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; port: number; portName: string; replicas: number }

const APP_NAMES = ['api', 'web', 'frontend', 'worker', 'cart', 'checkout', 'payments', 'search', 'catalog', 'auth', 'orders', 'inventory', 'notifier', 'gateway', 'reports', 'billing', 'profile', 'media', 'ledger', 'scheduler'];
const STATEFUL = [{ app: 'postgres', port: 5432, name: 'postgres' }, { app: 'redis', port: 6379, name: 'redis' }, { app: 'kafka', port: 9092, name: 'kafka' }];
const APP_PORTS = [{ port: 8080, name: 'http' }, { port: 9090, name: 'grpc' }, { port: 8443, name: 'https' }, { port: 3000, name: 'http' }];
const ENVS = ['prod', 'staging', 'dev'];

export function writeCluster(dir: string, p: ClusterParams): ClusterStats {
  const t0 = performance.now();
  const rng = new Prng(`${p.seed}/v${CLUSTER_MODEL_VERSION}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  // Namespaces: the platform ones, then teams.
  const platform = ['kube-system', 'monitoring', 'ingress-nginx'];
  const nsNames = [...platform];
  for (let i = 0; nsNames.length < p.namespaces; i++) nsNames.push(`team${String(i).padStart(3, '0')}-${rng.pick(APP_NAMES)}`);
  const nsLabels = new Map<string, Record<string, string>>();
  for (const ns of nsNames) {
    nsLabels.set(ns, platform.includes(ns)
      ? { 'kubernetes.io/metadata.name': ns, tier: 'platform' }
      : { 'kubernetes.io/metadata.name': ns, team: `t${rng.int(0, 59)}`, env: rng.pick(ENVS) });
  }

  // Workloads and their pods until the pod budget is spent; the platform namespaces get theirs first.
  const workloads: Workload[] = [
    { ns: 'kube-system', app: 'coredns', kind: 'Deployment', port: 53, portName: 'dns', replicas: 2 },
    { ns: 'monitoring', app: 'prometheus', kind: 'StatefulSet', port: 9090, portName: 'web', replicas: 2 },
    { ns: 'monitoring', app: 'node-exporter', kind: 'DaemonSet', port: 9100, portName: 'metrics', replicas: 24 },
    { ns: 'ingress-nginx', app: 'ingress-nginx-controller', kind: 'Deployment', port: 443, portName: 'https', replicas: 3 },
  ];
  let pods = workloads.reduce((s, w) => s + w.replicas, 0);
  const teamNs = nsNames.slice(platform.length);
  for (let round = 0; pods < p.pods; round++) {
    for (const ns of teamNs) {
      if (pods >= p.pods) break;
      if (round > 0 && rng.chance(0.4)) continue;
      const stateful = rng.chance(0.15);
      const s = rng.pick(STATEFUL);
      const ap = rng.pick(APP_PORTS);
      const taken = new Set(workloads.filter((w) => w.ns === ns).map((w) => w.app));
      let app = stateful ? s.app : rng.pick(APP_NAMES);
      if (taken.has(app)) app = `${app}-${rng.chars(4, K8S_NAME_ALPHABET)}`;
      const replicas = Math.min(p.pods - pods, stateful ? rng.int(1, 3) : rng.int(1, 5));
      workloads.push(stateful
        ? { ns, app, kind: 'StatefulSet', port: s.port, portName: s.name, replicas }
        : { ns, app, kind: 'Deployment', port: ap.port, portName: ap.name, replicas });
      pods += replicas;
    }
  }

  const docs = new Map<string, Obj[]>(nsNames.map((ns) => [ns, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: nsLabels.get(ns) } }]]));
  let ipSeq = 0;
  for (const w of workloads) {
    const hash = rng.chars(10, K8S_NAME_ALPHABET);
    const ownerUid = rng.uuid();
    for (let i = 0; i < w.replicas; i++) {
      const ip = `10.20.${Math.floor(ipSeq / 254)}.${(ipSeq % 254) + 1}`;
      ipSeq++;
      const name = w.kind === 'StatefulSet' ? `${w.app}-${i}` : `${w.app}-${w.kind === 'Deployment' ? `${hash}-` : ''}${rng.chars(5, K8S_NAME_ALPHABET)}`;
      const labels: Record<string, string> = { app: w.app, 'app.kubernetes.io/name': w.app };
      if (w.kind === 'Deployment') labels['pod-template-hash'] = hash;
      else labels['controller-revision-hash'] = `${w.app}-${hash.slice(0, 8)}`;
      if (w.app === 'coredns') labels['k8s-app'] = 'kube-dns';
      const owner = w.kind === 'Deployment' ? { kind: 'ReplicaSet', name: `${w.app}-${hash}` } : { kind: w.kind, name: w.app };
      const ports: Obj[] = w.app === 'coredns'
        ? [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }]
        : [{ name: w.portName, containerPort: w.port, protocol: 'TCP' }, { name: 'metrics', containerPort: 9102, protocol: 'TCP' }];
      docs.get(w.ns)!.push({
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          name, namespace: w.ns, labels, uid: rng.uuid(),
          ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: ownerUid, controller: true, blockOwnerDeletion: true }],
        },
        spec: { containers: [{ name: w.app, image: `registry.example.com/${w.app}:1.${rng.int(0, 30)}.${rng.int(0, 9)}`, ports }] },
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: `10.0.${rng.int(0, 2)}.${rng.int(10, 33)}` },
      });
    }
  }

  // Policies.
  const policies: Obj[] = [];
  const np = (ns: string, name: string, spec: Obj): Obj => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
  const egressLocked = new Set(teamNs.filter((_, i) => i % 3 === 0));
  for (const ns of nsNames) {
    if (policies.length >= p.policies) break;
    const both = egressLocked.has(ns);
    policies.push(np(ns, 'default-deny', { podSelector: {}, policyTypes: both ? ['Ingress', 'Egress'] : ['Ingress'] }));
  }
  const dnsPeer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
  for (const ns of egressLocked) {
    if (policies.length >= p.policies) break;
    policies.push(np(ns, 'allow-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [dnsPeer], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] }));
  }
  const byNs = new Map<string, Workload[]>();
  for (const w of workloads) byNs.set(w.ns, [...(byNs.get(w.ns) ?? []), w]);
  const teamWorkloads = workloads.filter((w) => teamNs.includes(w.ns));
  const quota = (share: number) => Math.min(p.policies, policies.length + Math.round(p.policies * share));
  // ipBlock egress: ~8% of the policies.
  const ipQuota = quota(0.08);
  for (let i = 0; policies.length < ipQuota; i++) {
    const w = teamWorkloads[(i * 7) % teamWorkloads.length];
    const internet = rng.chance(0.6);
    const to = internet
      ? [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.169.254/32'] } }]
      : [{ ipBlock: { cidr: `${rng.pick(['52.94', '3.5', '54.231', '34.120'])}.${rng.int(0, 15) * 16}.0/20` } }];
    policies.push(np(w.ns, `${w.app}-egress-ext-${i}`, {
      podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Egress'],
      egress: [{ to, ports: internet ? [{ protocol: 'TCP', port: 443 }] : [{ protocol: 'TCP', port: 5432 }, { protocol: 'TCP', port: 8000, endPort: 8100 }] }],
    }));
  }
  // App egress for the egress-locked namespaces: ~6%.
  const egQuota = quota(0.06);
  const locked = teamWorkloads.filter((w) => egressLocked.has(w.ns));
  for (let i = 0; policies.length < egQuota && locked.length > 0; i++) {
    const w = locked[i % locked.length];
    const dep = rng.pick(teamWorkloads);
    policies.push(np(w.ns, `${w.app}-to-${dep.app}-${i}`, {
      podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dep.ns } }, podSelector: { matchLabels: { app: dep.app } } }], ports: [{ protocol: 'TCP', port: dep.port }] }],
    }));
  }
  // App-to-app ingress: the rest.
  for (let i = 0; policies.length < p.policies; i++) {
    const w = teamWorkloads[(i * 13) % teamWorkloads.length];
    const roll = rng.next();
    let spec: Obj;
    let name: string;
    if (roll < 0.15) {
      name = `${w.app}-allow-prometheus-${i}`;
      spec = { podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ port: 'metrics' }] }] };
    } else if (roll < 0.3) {
      name = `${w.app}-allow-ingress-nginx-${i}`;
      spec = { podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { tier: 'platform' } }, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['ingress-nginx-controller'] }] } }], ports: [{ port: w.portName }] }] };
    } else if (roll < 0.6) {
      const peers = byNs.get(w.ns)!.filter((o) => o !== w);
      const from = peers.length > 0 ? [{ podSelector: { matchLabels: { app: rng.pick(peers).app } } }] : [{ podSelector: {} }];
      name = `${w.app}-allow-same-ns-${i}`;
      spec = { podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Ingress'], ingress: [{ from, ports: [{ protocol: 'TCP', port: rng.chance(0.5) ? w.portName : w.port }] }] };
    } else {
      const client = rng.pick(teamWorkloads);
      const nsSel = rng.chance(0.5)
        ? { matchLabels: { team: nsLabels.get(client.ns)!.team } }
        : { matchExpressions: [{ key: 'env', operator: 'In', values: [nsLabels.get(client.ns)!.env, 'staging'] }] };
      const ports: Obj[] = rng.chance(0.1) ? [{ protocol: 'TCP', port: 8000, endPort: 9000 }] : [{ protocol: 'TCP', port: w.portName }, { protocol: 'TCP', port: 'metrics' }];
      name = `${w.app}-allow-${client.app}-${i}`;
      spec = { podSelector: { matchLabels: { app: w.app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: nsSel, podSelector: { matchLabels: { app: client.app } } }], ports }] };
    }
    policies.push(np(w.ns, name, spec));
  }
  for (const pol of policies) docs.get((pol.metadata as { namespace: string }).namespace)!.push(pol);

  let bytes = 0;
  let files = 0;
  for (const [ns, objs] of docs) {
    const text = objs.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
    writeFileSync(join(dir, `${ns}.yaml`), text);
    bytes += Buffer.byteLength(text);
    files++;
  }
  return {
    pods, namespaces: nsNames.length, policies: policies.length, workloads: workloads.length, files, bytes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Regenerate only when the parameters (or the model) changed. */
export function ensureCluster(dir: string, p: ClusterParams): { stats: ClusterStats; reused: boolean } {
  const metaPath = `${dir}.meta.json`;
  const key = JSON.stringify({ model: CLUSTER_MODEL_VERSION, params: p });
  if (existsSync(dir) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { key: string; stats: ClusterStats };
      if (meta.key === key) return { stats: meta.stats, reused: true };
    } catch { /* regenerate */ }
  }
  rmSync(metaPath, { force: true });
  const stats = writeCluster(dir, p);
  writeFileSync(metaPath, JSON.stringify({ key, stats }, null, 2) + '\n');
  return { stats, reused: false };
}
