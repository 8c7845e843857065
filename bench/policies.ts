/**
 * Policy synthesis + proof on a generated 2,000-workload estate (target: under 10 s). The estate is built in memory
 * and written straight into a temporary store: 100 team namespaces of 20 Deployments, CoreDNS, 50 nodes; every
 * workload calls three others (one in another namespace), CoreDNS, and now and then an outside address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowAggregate, K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { proposePolicies } from '../ui/policies.js';

const NAMESPACES = 100;
const PER_NAMESPACE = 20;
const NODES = 50;
const BUCKETS = 4;
const T0 = Date.parse('2026-11-01T10:00:00Z') / 1000;
const TARGET_S = 10;

const ip = (i: number) => `10.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const meta = (kind: string, name: string, namespace?: string, extra: object = {}) => ({ kind, metadata: { name, ...(namespace ? { namespace } : {}), uid: `${kind}-${namespace}-${name}`, creationTimestamp: new Date((T0 - 86400) * 1000).toISOString(), ...extra } });

function deployment(ns: string, app: string, index: number, port: { containerPort: number; name: string; protocol?: string }[]): K8sObject[] {
  const labels = { app };
  return [
    { apiVersion: 'apps/v1', ...meta('Deployment', app, ns), spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', ports: port }] } } } },
    {
      apiVersion: 'v1', ...meta('Pod', `${app}-5d8f-x`, ns, { labels: { ...labels, 'pod-template-hash': '5d8f' }, ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-5d8f`, controller: true }] }),
      spec: { nodeName: `node-${index % NODES}`, containers: [{ name: 'c', ports: port }] }, status: { phase: 'Running', podIP: ip(index) },
    },
  ];
}

function estate(): { objects: K8sObject[]; aggregates: FlowAggregate[] } {
  const objects: K8sObject[] = [];
  for (let n = 0; n < NODES; n++) objects.push({ apiVersion: 'v1', ...meta('Node', `node-${n}`), status: { addresses: [{ type: 'InternalIP', address: `10.250.0.${n + 1}` }] } });
  for (const ns of ['kube-system', ...Array.from({ length: NAMESPACES }, (_, i) => `team${i}`)]) {
    objects.push({ apiVersion: 'v1', ...meta('Namespace', ns, undefined, { labels: { 'kubernetes.io/metadata.name': ns } }) });
  }
  const dnsIndex = 60000;
  objects.push(...deployment('kube-system', 'coredns', dnsIndex, [{ containerPort: 53, name: 'dns', protocol: 'UDP' }, { containerPort: 53, name: 'dns-tcp' }]));
  objects.push({ apiVersion: 'v1', ...meta('Service', 'kube-dns', 'kube-system'), spec: { selector: { app: 'coredns' }, clusterIP: '10.96.0.10', ports: [{ port: 53, protocol: 'UDP', targetPort: 53 }, { port: 53, protocol: 'TCP', targetPort: 53 }] } });
  const workloads = NAMESPACES * PER_NAMESPACE;
  for (let i = 0; i < workloads; i++) objects.push(...deployment(`team${Math.floor(i / PER_NAMESPACE)}`, `app${i % PER_NAMESPACE}`, i, [{ containerPort: 8080, name: 'http' }]));

  const aggregates: FlowAggregate[] = [];
  const flow = (src: number, dst: string, port: number, protocol: number, b: number) => aggregates.push({
    srcIp: ip(src), dstIp: dst, srcPort: 0, dstPort: port, protocol, bucket: T0 + b * 300, action: 'ACCEPT', flows: 3, packets: 30, bytes: 3000,
    tcpFlags: 0, firstSeen: T0 + b * 300, lastSeen: T0 + b * 300 + 60, observer: 'eni-bench',
  });
  for (let i = 0; i < workloads; i++) {
    const ns = Math.floor(i / PER_NAMESPACE);
    const peers = [ns * PER_NAMESPACE + ((i + 1) % PER_NAMESPACE), ns * PER_NAMESPACE + ((i + 7) % PER_NAMESPACE), (i + 137) % workloads];
    for (let b = 0; b < BUCKETS; b++) {
      for (const p of peers) flow(i, ip(p), 8080, 6, b);
      flow(i, ip(dnsIndex), 53, 17, b);
      if (i % 10 === 0) flow(i, `52.${i % 200}.7.${b + 1}`, 443, 6, b);
    }
  }
  return { objects, aggregates };
}

export async function benchPolicies(): Promise<{ label: string; value: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'segmap-bench-policies-'));
  const store = SqliteStore.open(join(dir, 'bench.db'));
  try {
    const { objects, aggregates } = estate();
    const cluster = await store.beginInput('bench/cluster.json', 'bench-cluster', 'k8s-dump');
    await cluster.addSnapshot(T0, objects);
    await cluster.commit({ read: objects.length, skipped: {} }, [], true);
    const flows = await store.beginInput('bench/flows.log', 'bench-flows', 'aws-vpc');
    await flows.addAggregates(aggregates);
    await flows.commit({ read: aggregates.length, skipped: {} }, [], true);

    const t0 = performance.now();
    const p = await proposePolicies(store, { defaultDeny: true });
    const seconds = (performance.now() - t0) / 1000;
    return [
      { label: 'policies: estate', value: `${NAMESPACES * PER_NAMESPACE + 1} workloads, ${NAMESPACES + 1} namespaces, ${aggregates.length.toLocaleString('en-US')} aggregates` },
      { label: 'policies: synthesis + proof + surface', value: `${seconds.toFixed(2)} s (target < ${TARGET_S} s) ${seconds < TARGET_S ? '✓' : '✗'}` },
      { label: 'policies: manifests', value: `${p.manifests.length.toLocaleString('en-US')}` },
      { label: 'policies: proof', value: `${p.proof.replayedFlows.toLocaleString('en-US')} flows replayed, ${p.proof.deniedFlows} denied` },
      { label: 'policies: surface (pairs)', value: `${p.surface.before.pairs.toLocaleString('en-US')} → ${p.surface.after.pairs.toLocaleString('en-US')}` },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
