import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, Edge, Endpoint, Graph, K8sObject } from '../model/index.js';
import { buildIdentity, workloadSelector } from './identity.js';
import { buildIntents, mergeCidrs } from './intents.js';
import { parseIpv4 } from './policy/ipv4.js';

const T0 = Date.parse('2026-11-01T10:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function pod(name: string, ip: string, labels: Record<string, string>, owner?: { kind: string; name: string }, extra: { ns?: string; ports?: { containerPort: number; name?: string; protocol?: string }[]; node?: string } = {}): K8sObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: extra.ns ?? 'shop', uid: `uid-${name}`, labels, creationTimestamp: iso(T0 - 3600),
      ownerReferences: owner ? [{ kind: owner.kind, name: owner.name, controller: true }] : undefined },
    spec: { nodeName: extra.node ?? 'n1', containers: [{ name: 'c', ports: extra.ports ?? [] }] },
    status: { phase: 'Running', podIP: ip },
  };
}
const obj = (kind: string, name: string, spec: unknown, ns = 'shop'): K8sObject => ({ apiVersion: 'apps/v1', kind, metadata: { name, namespace: ns, uid: `uid-${kind}-${name}` }, spec });

const wl = (ns: string, name: string, kind: Endpoint['kind'] = 'Deployment'): Endpoint => ({ kind, namespace: ns, name });
function edge(src: Endpoint, dst: Endpoint, protocol: string, port: number, flows = 5): Edge {
  return { src, dst, protocol, port, verdict: 'allowed', flows, bytes: 100, firstSeen: iso(T0), lastSeen: iso(T0 + 600), sources: ['/in/flows.log'] };
}
const graph = (edges: Edge[]): Graph => ({ window: { since: null, until: null }, nodes: [], edges });

const snapshot: ClusterSnapshot = { takenAt: T0, objects: [
  obj('Deployment', 'web', { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } } } }),
  { ...obj('ReplicaSet', 'web-5d8f', { selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8f' } } }),
    metadata: { name: 'web-5d8f', namespace: 'shop', uid: 'uid-rs', ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] } },
  pod('web-5d8f-a', '10.1.0.1', { app: 'web', 'pod-template-hash': '5d8f' }, { kind: 'ReplicaSet', name: 'web-5d8f' }, { ports: [{ containerPort: 8080, name: 'http' }] }),
  obj('Deployment', 'api', { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } } } }),
  pod('api-77-b', '10.1.0.2', { app: 'api', 'pod-template-hash': '77' }, { kind: 'ReplicaSet', name: 'api-77' }),
  obj('CronJob', 'report', { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels: { app: 'report' } } } } } }),
  { ...obj('Job', 'report-123', { selector: { matchLabels: { 'controller-uid': 'x' } } }),
    metadata: { name: 'report-123', namespace: 'shop', uid: 'uid-job', ownerReferences: [{ kind: 'CronJob', name: 'report', controller: true }] } },
  { ...pod('report-123-z', '10.1.0.3', { app: 'report', 'job-name': 'report-123', 'controller-uid': 'x' }, { kind: 'Job', name: 'report-123' }) },
  obj('Deployment', 'coredns', { selector: { matchLabels: { 'k8s-app': 'kube-dns' } } }, 'kube-system'),
  pod('coredns-1-a', '10.1.9.9', { 'k8s-app': 'kube-dns', 'pod-template-hash': '1' }, { kind: 'ReplicaSet', name: 'coredns-1' }, { ns: 'kube-system', ports: [{ containerPort: 5353, name: 'dns', protocol: 'UDP' }, { containerPort: 5353, name: 'dns-tcp', protocol: 'TCP' }] }),
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { selector: { 'k8s-app': 'kube-dns' }, clusterIP: '10.96.0.10',
    ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 }, { name: 'metrics', port: 9153 }] } },
] };
const identity = buildIdentity([snapshot]);

describe('identity: stable selectors', () => {
  it('uses the controller\'s selector without per-revision keys, and a CronJob\'s template labels', async () => {
    const byName = new Map(identity.workloads.map((w) => [w.endpoint.name, w]));
    expect(byName.get('web')!.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(byName.get('report')!.endpoint.kind).toBe('CronJob');
    expect(byName.get('report')!.selector).toEqual({ matchLabels: { app: 'report' } });
    expect(byName.get('report')!.schedule).toEqual({ cron: '0 3 * * *' });
    expect(byName.get('web')!.portNames).toEqual({ 'TCP/8080': 'http' });
    expect(workloadSelector('ReplicaSet', obj('ReplicaSet', 'x', { selector: { matchLabels: { 'pod-template-hash': 'h' } } }), {})).toBeUndefined();
  });
});

describe('intents', () => {
  const set = buildIntents(identity, graph([
    edge(wl('shop', 'web'), wl('shop', 'api'), 'TCP', 9000),
    edge(wl('shop', 'api'), wl('kube-system', 'coredns'), 'UDP', 5353),
    edge({ kind: 'External', ip: '198.51.100.7' }, wl('shop', 'web'), 'TCP', 8080),
    edge({ kind: 'Unknown', ip: '10.1.0.77' }, wl('shop', 'api'), 'TCP', 9000),
    edge(wl('shop', 'report', 'CronJob'), { kind: 'External', ip: '203.0.113.5', name: 'api.example.com' }, 'TCP', 443),
  ]));
  const byId = new Map(set.workloads.map((w) => [w.id, w]));

  it('finds DNS behind the kube-dns Service, on the pods\' target ports', async () => {
    expect(set.dns.foundBy).toBe('service');
    expect(set.dns.servers.map((s) => s.selector)).toEqual([{ matchLabels: { 'k8s-app': 'kube-dns' } }]);
    expect(set.dns.ports).toEqual([{ protocol: 'TCP', port: 5353 }, { protocol: 'UDP', port: 5353 }]);
    expect(byId.get('shop/api[Deployment]')!.dnsEvidence?.flows).toBe(5);
    expect(set.skippedNamespaces.map((s) => s.namespace)).toEqual(['kube-system']);
  });

  it('turns edges into ingress and egress rules with named ports; DNS names are kept for Cilium', async () => {
    const web = byId.get('shop/web[Deployment]')!;
    expect(web.egress).toEqual([expect.objectContaining({ peer: expect.objectContaining({ id: 'shop/api[Deployment]' }), ports: [{ protocol: 'TCP', port: 9000 }] })]);
    expect(web.ingress).toEqual([expect.objectContaining({ peer: expect.objectContaining({ kind: 'external', cidrs: ['198.51.100.7/32'] }), ports: [{ protocol: 'TCP', port: 8080, name: 'http' }] })]);
    const report = byId.get('shop/report[CronJob]')!;
    expect(report.egress[0].peer).toEqual({ kind: 'external', id: 'api.example.com', cidrs: ['203.0.113.5/32'], fqdns: ['api.example.com'] });
  });

  it('reports Unknown peers instead of guessing, and CronJobs with their schedules', async () => {
    const api = byId.get('shop/api[Deployment]')!;
    expect(api.ingress.map((r) => r.peer.id)).toEqual(['shop/web[Deployment]']);
    const shop = set.namespaces.find((n) => n.namespace === 'shop')!;
    expect(shop.unknownPeers).toEqual([{ edge: '10.1.0.77[Unknown] => shop/api[Deployment] : TCP 9000', flows: 5 }]);
    expect(shop.cronJobs).toEqual([{ id: 'shop/report[CronJob]', schedule: '0 3 * * *', observed: true }]);
  });
});

describe('mergeCidrs: merge only where safe, never /0 unless traffic came from everywhere', () => {
  const none = () => false;
  it('merges addresses of one /24 into their smallest block when no cluster address is inside', async () => {
    expect(mergeCidrs(['52.1.2.3/32', '52.1.2.6/32', '52.9.0.1/32'], 'egress', none).cidrs).toEqual(['52.1.2.0/29', '52.9.0.1/32']);
  });
  it('keeps single addresses when a cluster address falls inside the block', async () => {
    const held = parseIpv4('52.1.2.4')!;
    expect(mergeCidrs(['52.1.2.3/32', '52.1.2.6/32'], 'egress', (n) => n === held).cidrs).toEqual(['52.1.2.3/32', '52.1.2.6/32']);
  });
  it('writes the internet minus private ranges only for ingress from many public networks', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `${60 + i}.1.2.3/32`);
    expect(mergeCidrs(many, 'ingress', none)).toEqual({ cidrs: ['0.0.0.0/0'], except: expect.arrayContaining(['10.0.0.0/8', '192.168.0.0/16']) });
    expect(mergeCidrs(many, 'egress', none).cidrs).toHaveLength(40);
    expect(mergeCidrs([...many, '10.0.0.5/32'], 'ingress', none).cidrs).not.toContain('0.0.0.0/0');
  });
});

describe('intents: edges to a Service address (a capture inside a pod sees the ClusterIP, before kube-proxy\'s DNAT)', () => {
  const svc = (name: string, ns: string, spec: Record<string, unknown>): K8sObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec });
  const slice = (name: string, ns: string, service: string, endpoints: unknown[], ports: unknown[]): K8sObject => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', endpoints, ports,
  });
  const base = snapshot.objects.filter((o) => o.kind !== 'Service');
  const services: K8sObject[] = [
    ...snapshot.objects.filter((o) => o.kind === 'Service'), // kube-dns: UDP 53 → named port `dns` (5353) on CoreDNS
    svc('api', 'shop', { selector: { app: 'api' }, clusterIP: '10.96.0.20', ports: [{ name: 'tcp', port: 80, protocol: 'TCP', targetPort: 9000 }] }),
    svc('web', 'shop', { selector: { app: 'web' }, clusterIP: '10.96.0.21', ports: [{ name: 'web', port: 80, targetPort: 'http' }] }),
    // No selector: its endpoints are kept by hand (an outside database), as Endpoints.
    svc('ledger', 'shop', { clusterIP: '10.96.0.22', ports: [{ name: 'pg', port: 15432, protocol: 'TCP', targetPort: 5432 }] }),
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ledger', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }, { ip: '192.0.2.11' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }] },
    // kubeadm's API server: Service 443 → endpoints on 6443.
    svc('kubernetes', 'default', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] }),
    slice('kubernetes', 'default', 'kubernetes', [{ addresses: ['10.0.0.100'] }, { addresses: ['10.0.0.101'] }], [{ name: 'https', port: 6443, protocol: 'TCP' }]),
    svc('gone', 'shop', { selector: { app: 'gone' }, clusterIP: '10.96.0.23', ports: [{ port: 80, targetPort: 8080 }] }),
  ];
  const ident = buildIdentity([{ takenAt: T0, objects: [...base, ...services] }]);
  const S = (ns: string, name: string): Endpoint => ({ kind: 'Service', namespace: ns, name });
  const intents = (edges: Edge[]) => buildIntents(ident, graph(edges));
  const api = wl('shop', 'api');
  const web = wl('shop', 'web');

  it('numeric targetPort: egress to the backing workload and its ingress, on the target port, as if the pod had been dialled', () => {
    const viaService = intents([edge(web, S('shop', 'api'), 'TCP', 80)]);
    expect(viaService).toEqual(intents([edge(web, api, 'TCP', 9000)]));
    const w = viaService.workloads.find((x) => x.id === 'shop/web[Deployment]')!;
    expect(w.egress).toEqual([expect.objectContaining({ peer: { kind: 'workload', id: 'shop/api[Deployment]', namespace: 'shop', selector: { matchLabels: { app: 'api' } } }, ports: [{ protocol: 'TCP', port: 9000 }] })]);
    expect(viaService.workloads.find((x) => x.id === 'shop/api[Deployment]')!.ingress.map((r) => [r.peer.id, r.ports])).toEqual([['shop/web[Deployment]', [{ protocol: 'TCP', port: 9000 }]]]);
  });

  it('named targetPort: resolved on the backing pods\' containers (and written by name where they agree)', () => {
    const viaService = intents([edge(api, S('shop', 'web'), 'TCP', 80)]);
    expect(viaService).toEqual(intents([edge(api, web, 'TCP', 8080)]));
    expect(viaService.workloads.find((x) => x.id === 'shop/api[Deployment]')!.egress[0].ports).toEqual([{ protocol: 'TCP', port: 8080, name: 'http' }]);
  });

  it('no selector: the Endpoints\' addresses as ipBlocks on their port, never "undefined"', () => {
    const set = intents([edge(api, S('shop', 'ledger'), 'TCP', 15432)]);
    const egress = set.workloads.find((x) => x.id === 'shop/api[Deployment]')!.egress;
    expect(egress).toEqual([expect.objectContaining({ peer: expect.objectContaining({ kind: 'external', cidrs: ['192.0.2.10/31'] }), ports: [{ protocol: 'TCP', port: 5432 }] })]);
    expect(JSON.stringify(set)).not.toContain('undefined');
  });

  it('the kube-dns Service is DNS exactly as the CoreDNS pods are: evidence, no rule of its own', () => {
    const viaService = intents([edge(api, S('kube-system', 'kube-dns'), 'UDP', 53)]);
    expect(viaService).toEqual(intents([edge(api, wl('kube-system', 'coredns'), 'UDP', 5353)]));
    const a = viaService.workloads.find((x) => x.id === 'shop/api[Deployment]')!;
    expect(a.egress).toEqual([]);
    expect(a.dnsEvidence?.flows).toBe(5);
  });

  it('the kubernetes Service is the API server: its endpoints on their port (the apiserver peer), with or without EndpointSlices', () => {
    const set = intents([edge(api, S('default', 'kubernetes'), 'TCP', 443)]);
    const egress = set.workloads.find((x) => x.id === 'shop/api[Deployment]')!.egress;
    expect(egress).toEqual([expect.objectContaining({ peer: { kind: 'apiserver', id: 'kube-apiserver', cidrs: ['10.0.0.100/32', '10.0.0.101/32', '10.96.0.1/32'] }, ports: [{ protocol: 'TCP', port: 6443 }] })]);
    // A dump without its EndpointSlice: the addresses known for the API server, on the Service's target port.
    const bare = buildIdentity([{ takenAt: T0, objects: [...base, ...services.filter((o) => o.kind !== 'EndpointSlice')] }]);
    const fallback = buildIntents(bare, graph([edge(api, S('default', 'kubernetes'), 'TCP', 443)])).workloads.find((x) => x.id === 'shop/api[Deployment]')!.egress;
    expect(fallback).toEqual([expect.objectContaining({ peer: expect.objectContaining({ kind: 'apiserver' }), ports: [{ protocol: 'TCP', port: 6443 }] })]);
  });

  it('a Service whose backends are unknown gets no rule and is reported with the Unknown peers', () => {
    const set = intents([edge(api, S('shop', 'gone'), 'TCP', 80)]);
    expect(set.workloads.find((x) => x.id === 'shop/api[Deployment]')!.egress).toEqual([]);
    expect(set.namespaces.find((n) => n.namespace === 'shop')!.unknownPeers).toEqual([{ edge: 'shop/api[Deployment] => shop/gone[Service] : TCP 80', flows: 5 }]);
  });

  it('backends from the EndpointSlice beat the selector, on the slice\'s port', () => {
    // The slice names one api pod (by targetRef) on 9001, say mid-rollout to a new port; the selector would say 9000.
    const withSlice = buildIdentity([{ takenAt: T0, objects: [...base, ...services,
      slice('api-x', 'shop', 'api', [{ addresses: ['10.1.0.2'], targetRef: { kind: 'Pod', name: 'api-77-b', namespace: 'shop' } }], [{ name: 'tcp', port: 9001, protocol: 'TCP' }])] }]);
    const egress = buildIntents(withSlice, graph([edge(web, S('shop', 'api'), 'TCP', 80)])).workloads.find((x) => x.id === 'shop/web[Deployment]')!.egress;
    expect(egress.map((r) => [r.peer.id, r.ports])).toEqual([['shop/api[Deployment]', [{ protocol: 'TCP', port: 9001 }]]]);
  });
});
