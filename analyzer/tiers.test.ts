import { describe, expect, it } from 'vitest';
import { TIER_KEY, type ClusterSnapshot, type Edge, type Endpoint, type Graph, type K8sObject } from '../model/index.js';
import { ciliumPolicy } from './emit/cilium.js';
import { networkPolicy } from './emit/networkpolicy.js';
import { openPortRanges, rangesText } from './emit/tier-rules.js';
import { buildIdentity } from './identity.js';
import { buildIntents } from './intents.js';
import { PolicyEngine } from './policy/engine.js';
import { IntervalSet } from './policy/intervals.js';
import { parseIpv4 } from './policy/ipv4.js';
import { parsePolicies } from './policy/parse-policies.js';
import type { PodPeer } from './policy/types.js';
import { applyTiers, assignTiers, DEFAULT_TIER, parseTier, validateTierConfig } from './tiers.js';

const T0 = Date.parse('2026-11-01T10:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function deployment(name: string, ns: string, labels: Record<string, string> = {}, templateLabels: Record<string, string> = {}): K8sObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, uid: `uid-${ns}-${name}`, labels },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name, ...templateLabels } } } },
  };
}
function pod(name: string, ns: string, ip: string, app: string): K8sObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels: { app, 'pod-template-hash': 'h' }, creationTimestamp: iso(T0 - 3600),
      ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-h`, controller: true }] },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip },
  };
}
const namespace = (name: string, labels: Record<string, string> = {}): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

const snapshot: ClusterSnapshot = { takenAt: T0, objects: [
  namespace('shop', { [TIER_KEY]: '3' }), namespace('tools'), namespace('misc', { [TIER_KEY]: 'gold' }),
  deployment('web', 'shop', {}, { [TIER_KEY]: '1' }), pod('web-h-a', 'shop', '10.1.0.1', 'web'),
  deployment('api', 'shop'), pod('api-h-a', 'shop', '10.1.0.2', 'api'),
  deployment('db', 'shop', { [TIER_KEY]: '2' }), pod('db-h-a', 'shop', '10.1.0.3', 'db'),
  deployment('lint', 'tools'), pod('lint-h-a', 'tools', '10.1.0.4', 'lint'),
  deployment('x', 'misc'), pod('x-h-a', 'misc', '10.1.0.5', 'x'),
] };
const identity = buildIdentity([snapshot]);
const wl = (ns: string, name: string): Endpoint => ({ kind: 'Deployment', namespace: ns, name });
function edge(src: Endpoint, dst: Endpoint, protocol: string, port: number, flows = 5): Edge {
  return { src, dst, protocol, port, verdict: 'allowed', flows, bytes: 100, firstSeen: iso(T0), lastSeen: iso(T0 + 600), sources: ['/in/flows.log'] };
}
const graph = (edges: Edge[]): Graph => ({ window: { since: null, until: null }, nodes: [], edges });

describe('tier config: validated with FILE: reason', () => {
  it('reads default, namespaces and workloads; tiers as 1, "2" or "tier3"', () => {
    expect(validateTierConfig({ default: 1, namespaces: { shop: '2' }, workloads: { 'shop/web': 'tier3', 'shop/report[CronJob]': 3 } }, 't.yaml'))
      .toEqual({ file: 't.yaml', default: 1, namespaces: { shop: 2 }, workloads: { 'shop/web': 3, 'shop/report[CronJob]': 3 } });
    expect(validateTierConfig({}, 't.yaml')).toEqual({ file: 't.yaml', namespaces: {}, workloads: {} });
    expect(parseTier('Tier-2')).toBe(2);
    expect(parseTier(4)).toBeUndefined();
  });

  it.each([
    [null, 't.yaml: empty: expected a mapping with default, namespaces and/or workloads'],
    [[1, 2], 't.yaml: expected a mapping with default, namespaces and/or workloads, got a list'],
    [{ defaults: 2 }, 't.yaml: unknown key "defaults" (expected default, namespaces, workloads)'],
    [{ default: 0 }, 't.yaml: default: tier must be 1, 2 or 3, got 0'],
    [{ namespaces: { shop: 'gold' } }, 't.yaml: namespaces.shop: tier must be 1, 2 or 3, got "gold"'],
    [{ namespaces: ['shop'] }, 't.yaml: namespaces: expected a mapping of namespace to tier, got a list'],
    [{ namespaces: { 'Shop_1': 1 } }, 't.yaml: namespaces: "Shop_1": not a namespace name'],
    [{ workloads: { web: 1 } }, 't.yaml: workloads: "web": expected "namespace/name" or "namespace/name[Kind]"'],
    [{ workloads: { 'shop/web[Service]': 1 } }, 't.yaml: workloads: "shop/web[Service]": unknown kind Service (Deployment, StatefulSet, DaemonSet, CronJob, Job or Pod)'],
  ])('%j is refused', (raw, message) => {
    expect(() => validateTierConfig(raw, 't.yaml')).toThrow(message);
  });
});

describe('tier assignment: precedence', () => {
  it('config workload > config namespace > workload label > namespace label > config default > tier 2', () => {
    const labels = assignTiers({ workloads: identity.workloads, current: identity.current });
    expect(labels.enabled).toBe(true);
    const tier = (a: typeof labels, id: string) => a.workloads.get(id);
    expect(tier(labels, 'shop/web[Deployment]')).toEqual({ tier: 1, source: `pod template label ${TIER_KEY}` });
    expect(tier(labels, 'shop/db[Deployment]')).toEqual({ tier: 2, source: `workload label ${TIER_KEY}` });
    expect(tier(labels, 'shop/api[Deployment]')).toEqual({ tier: 3, source: `namespace label ${TIER_KEY}` });
    expect(tier(labels, 'tools/lint[Deployment]')).toEqual({ tier: DEFAULT_TIER, source: 'default' });
    expect(labels.namespaces.get('shop')).toEqual({ tier: 3, source: `namespace label ${TIER_KEY}` });
    expect(labels.warnings).toEqual([`namespace misc: label ${TIER_KEY}="gold" is not 1, 2 or 3; ignored`]);

    const config = validateTierConfig({ default: 1, namespaces: { shop: 2, nowhere: 3 }, workloads: { 'shop/web[Deployment]': 3, 'shop/ghost': 1 } }, 't.yaml');
    const both = assignTiers({ workloads: identity.workloads, current: identity.current, config });
    expect(tier(both, 'shop/web[Deployment]')).toEqual({ tier: 3, source: 't.yaml: workloads.shop/web[Deployment]' });
    expect(tier(both, 'shop/db[Deployment]')).toEqual({ tier: 2, source: 't.yaml: namespaces.shop' });
    expect(tier(both, 'tools/lint[Deployment]')).toEqual({ tier: 1, source: 't.yaml: default' });
    expect(both.namespaces.get('tools')).toEqual({ tier: 1, source: 't.yaml: default' });
    expect(both.warnings).toEqual(expect.arrayContaining(['t.yaml: workloads.shop/ghost: no such workload in the data', 't.yaml: namespaces.nowhere: no such namespace in the data']));
  });

  it('no config and no label: untiered, the intents are returned unchanged', () => {
    const plain = buildIdentity([{ takenAt: T0, objects: [deployment('api', 'shop'), pod('api-h-a', 'shop', '10.1.0.2', 'api')] }]);
    const a = assignTiers({ workloads: plain.workloads, current: plain.current });
    expect(a.enabled).toBe(false);
    const set = buildIntents(plain, graph([]));
    expect(applyTiers(set, a)).toBe(set);
  });
});

/** A pod as the engine sees it, for the workload `app` of namespace `shop`. */
const peerPod = (app: string): PodPeer => ({ kind: 'pod', namespace: 'shop', name: `${app}-x`, labels: { app }, namespaceLabels: { 'kubernetes.io/metadata.name': 'shop' }, containerPorts: [] });
const ext = (ip: string) => ({ kind: 'external' as const, addresses: IntervalSet.of(parseIpv4(ip)!, parseIpv4(ip)!) });

describe('tier encodings, proven with the engine', () => {
  const edges = [
    edge(wl('shop', 'web'), wl('shop', 'api'), 'TCP', 8080),
    edge(wl('shop', 'web'), { kind: 'External', ip: '169.254.169.254' }, 'TCP', 80),
    edge(wl('shop', 'web'), { kind: 'External', ip: '52.1.2.3' }, 'TCP', 22),
    edge(wl('shop', 'api'), { kind: 'External', ip: '52.1.2.3' }, 'TCP', 443),
    edge(wl('shop', 'api'), { kind: 'External', ip: '52.1.2.6' }, 'TCP', 443),
    edge(wl('shop', 'api'), { kind: 'External', ip: '198.51.100.9', name: 'payments.example.com' }, 'TCP', 443),
  ];
  const a = assignTiers({ workloads: identity.workloads, current: identity.current });
  const set = applyTiers(buildIntents(identity, graph(edges), { exactEgress: (id) => a.workloads.get(id)?.tier === 3 }), a);
  const byId = new Map(set.workloads.map((w) => [w.id, w]));
  const engineFor = (id: string) => new PolicyEngine(parsePolicies([networkPolicy(byId.get(id)!, 'x', set).object as K8sObject]).policies);

  it('tier 1: observed traffic still passes (metadata, SSH), anything else outside but the metadata service and admin ports is open', () => {
    const web = byId.get('shop/web[Deployment]')!;
    expect(web.tier?.tier).toBe(1);
    const engine = engineFor(web.id);
    const src = peerPod('web');
    expect(engine.decide(src, ext('169.254.169.254'), 'TCP', 80).allowed).toBe(true); // observed: kept by its own rule (and flagged by egress risk)
    expect(engine.decide(src, ext('169.254.169.254'), 'TCP', 443).allowed).toBe(false);
    expect(engine.decide(src, ext('52.1.2.3'), 'TCP', 22).allowed).toBe(true); // observed
    expect(engine.decide(src, ext('52.1.2.4'), 'TCP', 22).allowed).toBe(false);
    expect(engine.decide(src, ext('8.8.8.8'), 'UDP', 3389).allowed).toBe(false);
    expect(engine.decide(src, ext('8.8.8.8'), 'SCTP', 6443).allowed).toBe(false);
    expect(engine.decide(src, ext('8.8.8.8'), 'TCP', 443).allowed).toBe(true);
    expect(engine.decide(src, peerPod('anything'), 'TCP', 9999).allowed).toBe(true);
    expect(engine.decide(src, peerPod('anything'), 'TCP', 10250).allowed).toBe(false);
    const c = engine.allowedConnections(src, ext('8.8.8.8'));
    for (const p of ['TCP', 'UDP', 'SCTP'] as const) expect(rangesText(c.portsOf(p).intervals as [number, number][])).toBe(rangesText(openPortRanges()));
  });

  it('tier 3: outside egress is exactly the observed addresses (no merged block); Cilium follows the name', () => {
    const api = byId.get('shop/api[Deployment]')!;
    expect(api.tier?.tier).toBe(3);
    const engine = engineFor(api.id);
    const src = peerPod('api');
    expect(engine.decide(src, ext('52.1.2.3'), 'TCP', 443).allowed).toBe(true);
    expect(engine.decide(src, ext('52.1.2.6'), 'TCP', 443).allowed).toBe(true);
    expect(engine.decide(src, ext('52.1.2.4'), 'TCP', 443).allowed).toBe(false); // tier 2 would merge 52.1.2.0/29
    expect(engine.decide(src, ext('8.8.8.8'), 'TCP', 443).allowed).toBe(false);
    const np = networkPolicy(api, 'api', set);
    expect(np.yaml).toMatch(/tier 3 \(critical\)[\s\S]*admits only the[\s\S]*3 observed outside addresses exactly/);
    const cilium = ciliumPolicy(api, 'api', set);
    const egress = (cilium.object.spec as { egress: Record<string, unknown>[] }).egress;
    expect(egress).toContainEqual(expect.objectContaining({ toFQDNs: [{ matchName: 'payments.example.com' }] }));
    expect(egress).toContainEqual(expect.objectContaining({ toCIDR: ['52.1.2.3/32', '52.1.2.6/32'] }));
    expect(cilium.yaml).toMatch(/hard-coded addresses\) admitted by exact address only/);
    expect((cilium.object.metadata as { annotations?: Record<string, string> }).annotations).toEqual({ [TIER_KEY]: '3' });
  });

  it('tier 2 (the default): least privilege, addresses of one /24 merged as without tiers', () => {
    const two = applyTiers(buildIntents(identity, graph(edges)), { ...a, workloads: new Map([['shop/api[Deployment]', { tier: 2, source: 'test' }]]) });
    const api = two.workloads.find((w) => w.id === 'shop/api[Deployment]')!;
    const engine = new PolicyEngine(parsePolicies([networkPolicy(api, 'x', two).object as K8sObject]).policies);
    expect(engine.decide(peerPod('api'), ext('52.1.2.4'), 'TCP', 443).allowed).toBe(true);
    expect(engine.decide(peerPod('api'), ext('8.8.8.8'), 'TCP', 443).allowed).toBe(false);
  });
});
