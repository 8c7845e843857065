import { describe, expect, it } from 'vitest';
import type { K8sObject, ObservedAggregate } from '../model/index.js';
import { buildIdentity } from './identity.js';
import { PolicyEngine } from './policy/engine.js';
import { parsePolicies } from './policy/parse-policies.js';
import { explain, replay } from './replay.js';

const T = Date.parse('2026-11-01T10:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();
const pod = (name: string, ip: string, app: string, from: number, port?: number): K8sObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: 'shop', uid: name, labels: { app }, creationTimestamp: iso(from) },
  spec: { containers: [{ name: 'c', ports: port ? [{ containerPort: port }] : [] }] },
  status: { phase: 'Running', podIP: ip },
});
const agg = (src: string, dst: string, at: number, extra: Partial<ObservedAggregate> = {}): ObservedAggregate => ({
  srcIp: src, dstIp: dst, srcPort: 0, dstPort: 5432, protocol: 6, bucket: at, action: 'ACCEPT', flows: 2, packets: 2, bytes: 200, tcpFlags: 2,
  firstSeen: at, lastSeen: at + 60, inputIds: [1], ...extra,
});

describe('replay', () => {
  // 10.0.0.9 belongs to `web` until T+1800, then to `batch`; only `web` may reach the database.
  const objects: K8sObject[] = [
    pod('web', '10.0.0.9', 'web', T - 3600), pod('db', '10.0.0.2', 'db', T - 3600, 5432),
    { ...pod('web', '10.0.0.9', 'web', T - 3600), metadata: { ...pod('web', '10.0.0.9', 'web', T - 3600).metadata, deletionTimestamp: iso(T + 1770) } },
    pod('batch', '10.0.0.9', 'batch', T + 1800),
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'db-in', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] } },
  ];
  const identity = buildIdentity([{ takenAt: T + 3600, objects }]);
  const engine = new PolicyEngine(parsePolicies(objects).policies);

  it('judges each aggregate with the holder of its time, even inside one run of the same conversation', async () => {
    const run = [0, 600, 1200, 2400, 3000].map((dt) => agg('10.0.0.9', '10.0.0.2', T + dt));
    const r = await replay(identity, [run], engine);
    expect(r.aggregates).toBe(5);
    expect(r.allowedFlows).toBe(6);
    expect(r.deniedFlows).toBe(4);
    expect(r.denied).toHaveLength(1);
    expect(r.denied[0]).toMatchObject({ src: { name: 'batch' }, dst: { name: 'db' }, port: 5432, flows: 4,
      decidedBy: { kind: 'NetworkPolicy', name: 'db-in', direction: 'ingress', rule: 'default-deny' } });
  });

  it('counts a reply with its request, never on its own, and leaves rejected records out', async () => {
    const r = await replay(identity, [[
      agg('10.0.0.9', '10.0.0.2', T + 2400),
      agg('10.0.0.2', '10.0.0.9', T + 2400, { srcPort: 5432, dstPort: 0, tcpFlags: 18 }),
      agg('10.0.0.9', '10.0.0.2', T + 3000, { action: 'REJECT' }),
    ]], engine);
    expect(r.aggregates).toBe(2);
    expect(r.denied).toHaveLength(1);
    expect(r.denied[0].flows).toBe(2);
  });

  it('explains an observed edge: the deciding rule and every policy in play', async () => {
    const x = await explain(identity, [[agg('10.0.0.9', '10.0.0.2', T)]], engine, { src: 'shop/web[Pod]', dst: 'shop/db[Pod]', protocol: 'TCP', port: 5432 });
    expect(x?.decision.allowed).toBe(true);
    expect(x?.decision.ingress.decidedBy).toMatchObject({ name: 'db-in', rule: 0 });
    expect(x?.ingressPolicies).toEqual(['NetworkPolicy shop/db-in']);
    expect(await explain(identity, [[agg('10.0.0.9', '10.0.0.2', T)]], engine, { src: 'shop/x[Pod]', dst: 'shop/db[Pod]', protocol: 'TCP', port: 5432 })).toBeUndefined();
  });
});

describe('replay: flows to a Service address are judged at its backends, on their target ports (policies apply after DNAT)', () => {
  const P = (name: string, ip: string, labels: Record<string, string>, ns = 'shop', ports: { containerPort: number; name?: string; protocol?: string }[] = []): K8sObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, uid: name, labels, creationTimestamp: iso(T - 3600) },
    spec: { containers: [{ name: 'c', ports }] }, status: { phase: 'Running', podIP: ip },
  });
  const svc = (name: string, ns: string, clusterIP: string, spec: Record<string, unknown>): K8sObject =>
    ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP, ...spec } });
  const np = (name: string, ns: string, spec: Record<string, unknown>): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
  const ns = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const cluster: K8sObject[] = [
    ns('shop'), ns('kube-system'), ns('default'),
    P('web', '10.0.1.1', { app: 'web' }),
    P('api', '10.0.1.2', { app: 'api', track: 'stable' }, 'shop', [{ containerPort: 8080, name: 'http' }]),
    P('canary', '10.0.1.3', { app: 'api', track: 'canary' }, 'shop', [{ containerPort: 8080, name: 'http' }]),
    P('coredns', '10.0.9.9', { 'k8s-app': 'kube-dns' }, 'kube-system', [{ containerPort: 53, name: 'dns', protocol: 'UDP' }]),
    svc('api', 'shop', '10.96.0.20', { selector: { app: 'api', track: 'stable' }, ports: [{ port: 80, targetPort: 8080 }] }),
    svc('api-named', 'shop', '10.96.0.21', { selector: { app: 'api', track: 'stable' }, ports: [{ port: 80, targetPort: 'http' }] }),
    svc('api-all', 'shop', '10.96.0.24', { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 8080 }] }),
    svc('ledger', 'shop', '10.96.0.22', { ports: [{ name: 'pg', port: 15432, targetPort: 5432 }] }),
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ledger', namespace: 'shop' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'pg', port: 5432 }] }] },
    svc('kube-dns', 'kube-system', '10.96.0.10', { selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }] }),
    svc('kubernetes', 'default', '10.96.0.1', { ports: [{ name: 'https', port: 443, targetPort: 6443 }] }),
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.100'] }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
  ];
  const policies: K8sObject[] = [
    np('web', 'shop', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [
      { to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 8080 }] },
      { to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ port: 5432 }] },
      { to: [{ ipBlock: { cidr: '10.0.0.100/32' } }], ports: [{ port: 6443 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }] },
    ] }),
    np('api', 'shop', { podSelector: { matchLabels: { app: 'api', track: 'stable' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] }] }),
    np('canary', 'shop', { podSelector: { matchLabels: { track: 'canary' } }, ingress: [] }),
    np('coredns', 'kube-system', { podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }] }] }),
  ];
  const ident = buildIdentity([{ takenAt: T + 3600, objects: cluster }]);
  const engine = new PolicyEngine(parsePolicies(policies).policies);
  const to = (dst: string, dstPort: number, extra: Partial<ObservedAggregate> = {}) => agg('10.0.1.1', dst, T, { dstPort, ...extra });
  const run = async (aggs: ObservedAggregate[], e = engine) => replay(ident, [aggs], e);

  it('numeric targetPort: web → api:80 is web → the api pod on 8080', async () => {
    const r = await run([to('10.96.0.20', 80)]);
    expect(r).toMatchObject({ deniedFlows: 0, allowedFlows: 2 });
    // A policy written against the Service port does not admit it: after DNAT the pod is reached on 8080.
    const wrong = new PolicyEngine(parsePolicies([np('web', 'shop', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 80 }] }] })]).policies);
    const d = await run([to('10.96.0.20', 80)], wrong);
    expect(d.denied).toEqual([expect.objectContaining({ src: { kind: 'Pod', namespace: 'shop', name: 'web' }, dst: { kind: 'Service', namespace: 'shop', name: 'api' }, port: 80, flows: 2,
      decidedBy: expect.objectContaining({ name: 'web', direction: 'egress' }) })]);
  });

  it('named targetPort: resolved on the backing pod (http → 8080), matched by the policies\' port name and number alike', async () => {
    expect(await run([to('10.96.0.21', 80)])).toMatchObject({ deniedFlows: 0, allowedFlows: 2 });
  });

  it('no selector (Endpoints only): the endpoint address on its port, as an ipBlock sees it', async () => {
    expect(await run([to('10.96.0.22', 15432)])).toMatchObject({ deniedFlows: 0, allowedFlows: 2 });
  });

  it('kube-dns: DNS to the Service address is DNS to the CoreDNS pods', async () => {
    expect(await run([to('10.96.0.10', 53, { protocol: 17, tcpFlags: 0 })])).toMatchObject({ deniedFlows: 0, allowedFlows: 2 });
  });

  it('the kubernetes Service: the API server\'s endpoints on their port (6443)', async () => {
    expect(await run([to('10.96.0.1', 443)])).toMatchObject({ deniedFlows: 0, allowedFlows: 2 });
  });

  it('the reply (from the Service address: conntrack undoes the DNAT) is judged and counted with its request', async () => {
    const r = await run([to('10.96.0.20', 80), agg('10.96.0.20', '10.0.1.1', T, { srcPort: 80, dstPort: 0, tcpFlags: 18 })]);
    expect(r).toMatchObject({ aggregates: 2, deniedFlows: 0, allowedFlows: 2 });
    const d = await run([agg('10.96.0.24', '10.0.1.1', T, { srcPort: 80, dstPort: 0, tcpFlags: 18 })]);
    expect(d.denied).toEqual([expect.objectContaining({ dst: { kind: 'Service', namespace: 'shop', name: 'api-all' }, port: 80 })]);
  });

  it('backends with different labels: allowed only when allowed to every one of them (kube-proxy may pick any)', async () => {
    const r = await run([to('10.96.0.24', 80)]);
    expect(r.denied).toEqual([expect.objectContaining({ dst: { kind: 'Service', namespace: 'shop', name: 'api-all' }, port: 80, flows: 2,
      decidedBy: expect.objectContaining({ kind: 'NetworkPolicy', name: 'canary', direction: 'ingress' }) })]);
  });

  it('explains a Service edge at the backend that decides it', async () => {
    const x = await explain(ident, [[to('10.96.0.24', 80)]], engine, { src: 'shop/web[Pod]', dst: 'shop/api-all[Service]', protocol: 'TCP', port: 80 });
    expect(x).toMatchObject({ srcPeer: 'shop/web', dstPeer: 'shop/canary', decision: { allowed: false }, ingressPolicies: ['NetworkPolicy shop/canary'] });
    const k = await explain(ident, [[to('10.96.0.1', 443)]], engine, { src: 'shop/web[Pod]', dst: 'default/kubernetes[Service]', protocol: 'TCP', port: 443 });
    expect(k).toMatchObject({ dstPeer: '10.0.0.100', decision: { allowed: true } });
  });
});
