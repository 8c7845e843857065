import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, DeniedEdge, Edge, Endpoint, K8sObject, WorkloadRisk } from '../model/index.js';
import { coverageText, frictionText } from './emit/figures.js';
import { chargeDenied, coverage, evaluateMesh, namespaceRisk } from './friction.js';
import { buildIdentity } from './identity.js';
import { PolicyEngine } from './policy/engine.js';
import { parsePolicies } from './policy/parse-policies.js';

const T0 = Date.parse('2026-11-01T10:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();
const wl = (ns: string, name: string): Endpoint => ({ kind: 'Deployment', namespace: ns, name });
const edge = (src: Endpoint, dst: Endpoint, protocol: string, port: number, flows = 5): Edge =>
  ({ src, dst, protocol, port, verdict: 'allowed', flows, bytes: 1, firstSeen: iso(T0), lastSeen: iso(T0 + 60), sources: [] });

function app(name: string, ip: string, sa = name): K8sObject[] {
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop', uid: `d-${name}` }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } } } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-h-a`, namespace: 'shop', uid: `p-${name}`, labels: { app: name, 'pod-template-hash': 'h' }, creationTimestamp: iso(T0 - 60),
      ownerReferences: [{ kind: 'ReplicaSet', name: `${name}-h`, controller: true }] },
      spec: { serviceAccountName: sa, nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 8080, name: 'http' }] }] }, status: { phase: 'Running', podIP: ip } },
  ];
}
const snapshot: ClusterSnapshot = { takenAt: T0, objects: [...app('web', '10.1.0.1'), ...app('api', '10.1.0.2'), ...app('db', '10.1.0.3')] };
const identity = buildIdentity([snapshot]);
const np = (name: string, app: string, spec: object): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec: { podSelector: { matchLabels: { app } }, ...spec } });

const edges = [
  edge(wl('shop', 'web'), wl('shop', 'api'), 'TCP', 8080, 10),
  edge(wl('shop', 'api'), wl('shop', 'db'), 'TCP', 8080, 20),
  edge({ kind: 'External', ip: '198.51.100.1' }, wl('shop', 'web'), 'TCP', 8080, 30),
  edge(wl('shop', 'api'), { kind: 'External', ip: '52.1.2.3' }, 'TCP', 443, 40),
  edge({ kind: 'Unknown', ip: '10.1.0.99' }, wl('shop', 'db'), 'TCP', 8080, 1),
];

describe('coverage', () => {
  it('classes each edge by the better of its ends: identity, address, open, blocked, unattributed', () => {
    const engine = new PolicyEngine(parsePolicies([
      np('api', 'api', { policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
        egress: [{ to: [{ ipBlock: { cidr: '52.1.2.0/24' } }] }] }),
      np('web', 'web', { policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }),
    ]).policies);
    const c = coverage({ identity, edges, namespaces: ['shop'] }, engine).get('shop')!;
    // web→api: identity (api's ingress names web); api→db: blocked (api's egress); outside→web: open (0.0.0.0/0);
    // api→52.1.2.3: address; Unknown→db: unattributed.
    expect(c.edges).toEqual({ identity: 1, address: 1, open: 1, blocked: 1, unattributed: 1 });
    expect(c.flows).toEqual({ identity: 10, address: 40, open: 30, blocked: 20, unattributed: 1 });
    expect(coverageText(c)).toBe('identity 9.9% of flows (1 of 5 edges), address 39.6% (1), open 29.7% (1), blocked 19.8% (1), unattributed 1% (1)');
    const none = coverage({ identity, edges, namespaces: ['shop'] }, new PolicyEngine({ networkPolicies: [], adminPolicies: [] })).get('shop')!;
    expect(none.edges).toEqual({ identity: 0, address: 0, open: 4, blocked: 0, unattributed: 1 });
  });

  it('an mTLS principal admitting the edge makes it identity', () => {
    const key = 'shop/api[Deployment]|shop/db[Deployment]|TCP|8080';
    const c = coverage({ identity, edges, namespaces: ['shop'], meshAdmitted: new Set([key]) }, new PolicyEngine({ networkPolicies: [], adminPolicies: [] })).get('shop')!;
    expect(c.edges.identity).toBe(1);
  });
});

describe('friction', () => {
  it('charges a blocked edge to the end that denied it, and says it in simulate\'s words', () => {
    const decided = (direction: 'ingress' | 'egress'): DeniedEdge['decidedBy'] => ({ kind: 'NetworkPolicy', namespace: 'shop', name: 'x', direction, rule: 'default-deny' });
    const denied: DeniedEdge[] = [
      { src: wl('shop', 'api'), dst: wl('shop', 'db'), protocol: 'TCP', port: 8080, flows: 20, firstSeen: '', lastSeen: '', decidedBy: decided('egress') },
      { src: wl('shop', 'web'), dst: wl('shop', 'db'), protocol: 'TCP', port: 8080, flows: 3, firstSeen: '', lastSeen: '', decidedBy: decided('ingress') },
    ];
    expect([...chargeDenied(denied)]).toEqual([['shop/api[Deployment]', { flows: 20, edges: 1 }], ['shop/db[Deployment]', { flows: 3, edges: 1 }]]);
    expect(frictionText({ replayedFlows: 2562, blockedFlows: 1, blockedEdges: 1 })).toBe('1 observed flow blocked (1 edge) of 2,562 replayed');
  });

  it('evaluates Istio and Linkerd objects by identity and port', () => {
    const ap: K8sObject = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'a', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'api' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/web'] } }], to: [{ operation: { ports: ['8080'] } }] }] } };
    const server: K8sObject = { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', metadata: { name: 's', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http', accessPolicy: 'deny' } };
    const strict: K8sObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'm', namespace: 'shop' }, spec: { mtls: { mode: 'STRICT' } } };
    const r = evaluateMesh({ edges, workloads: identity.workloads }, new Map([['ap', [ap]], ['server', [server]], ['strict', [strict]]]));
    expect(r.friction.get('ap')).toEqual({ replayedFlows: 10, blockedFlows: 0, blockedEdges: 0 });
    expect(r.friction.get('server')).toEqual({ replayedFlows: 30, blockedFlows: 30, blockedEdges: 1 }); // no authorization: the outside client is refused
    expect(r.friction.get('strict')).toEqual({ replayedFlows: 61, blockedFlows: 31, blockedEdges: 2 }); // outside → web, Unknown → db
    expect([...r.admitted]).toEqual(['shop/web[Deployment]|shop/api[Deployment]|TCP|8080']);
  });
});

describe('mesh evaluation: clients without a mesh identity, admitted by address', () => {
  const OUTSIDE = '198.51.100.1[External]|shop/web[Deployment]|TCP|8080';
  const WEB_API = 'shop/web[Deployment]|shop/api[Deployment]|TCP|8080';
  const meta = (kind: string, name: string, apiVersion = 'security.istio.io/v1') => ({ apiVersion, kind, metadata: { name, namespace: 'shop' } });
  const strict: K8sObject = { ...meta('PeerAuthentication', 'mtls'), spec: { mtls: { mode: 'STRICT' } } };
  const permissive: K8sObject = { ...meta('PeerAuthentication', 'mtls'), spec: { mtls: { mode: 'PERMISSIVE' } } };
  const webPorts: K8sObject = { ...meta('PeerAuthentication', 'web-mtls'), spec: { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } } };
  const webAp = (rules: object[]): K8sObject => ({ ...meta('AuthorizationPolicy', 'web'), spec: { selector: { matchLabels: { app: 'web' } }, action: 'ALLOW', rules } });
  const byAddress = (blocks: string[], ports = ['8080'], extra: object = {}) => ({ from: [{ source: { ipBlocks: blocks, ...extra } }], to: [{ operation: { ports } }] });
  const run = (m: Record<string, K8sObject[]>) => evaluateMesh({ edges, workloads: identity.workloads }, new Map(Object.entries(m)));
  const blocked = (r: ReturnType<typeof run>, k: string) => r.friction.get(k)!.blockedFlows;

  it('Istio: ipBlocks on the port, and portLevelMtls PERMISSIVE under a STRICT namespace, admit the outside client', () => {
    const r = run({ ns: [strict], web: [webPorts, webAp([byAddress(['198.51.100.1/32'])])] });
    expect(blocked(r, 'web')).toBe(0);
    expect(blocked(r, 'ns')).toBe(1); // Unknown → db: STRICT, no exception for it
    expect([...r.admittedByAddress]).toEqual([OUTSIDE]);
    expect(r.admitted.has(OUTSIDE)).toBe(false);
    // The exception is charged again as soon as any part of it goes.
    expect(blocked(run({ ns: [strict], web: [webAp([byAddress(['198.51.100.1/32'])])] }), 'ns')).toBe(31); // no portLevelMtls: STRICT refuses plaintext
    expect(blocked(run({ ns: [strict], web: [webPorts, webAp([])] }), 'web')).toBe(30); // no ipBlocks rule
    expect(blocked(run({ ns: [strict], web: [webPorts, webAp([byAddress(['198.51.100.2/32'])])] }), 'web')).toBe(30); // another address
    expect(blocked(run({ ns: [strict], web: [webPorts, webAp([byAddress(['198.51.100.1/32'], ['9090'])])] }), 'web')).toBe(30); // another port
    expect(blocked(run({ ns: [strict], web: [webPorts, webAp([byAddress(['198.51.100.0/24'], ['8080'], { notIpBlocks: ['198.51.100.1/32'] })])] }), 'web')).toBe(30);
    // A port-level exception on another port does not help; a wide block admits, but not "by address".
    expect(blocked(run({ ns: [strict], web: [{ ...webPorts, spec: { ...webPorts.spec, portLevelMtls: { 9090: { mode: 'PERMISSIVE' } } } }, webAp([byAddress(['198.51.100.1/32'])])] }), 'ns')).toBe(31);
    const wide = run({ web: [webAp([byAddress(['0.0.0.0/0'])])] });
    expect(blocked(wide, 'web')).toBe(0);
    expect(wide.admittedByAddress.size).toBe(0);
  });

  it('Istio: principals need an mTLS peer; DISABLE strips it; DENY rules block; the last applied object of a name wins', () => {
    const apiAp: K8sObject = { ...meta('AuthorizationPolicy', 'api'), spec: { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/*'] } }] }] } };
    expect(blocked(run({ api: [apiAp] }), 'api')).toBe(0);
    expect(run({ api: [apiAp] }).admitted.has(WEB_API)).toBe(true);
    const disable: K8sObject = { ...meta('PeerAuthentication', 'api-mtls'), spec: { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'DISABLE' } } };
    expect(blocked(run({ api: [apiAp], pa: [disable] }), 'api')).toBe(10);
    // The outside client never has a principal, whatever the ipBlocks say, when the rule asks for both.
    expect(blocked(run({ web: [webAp([{ from: [{ source: { principals: ['*'], ipBlocks: ['198.51.100.1/32'] } }] }])] }), 'web')).toBe(30);
    const deny: K8sObject = { ...meta('AuthorizationPolicy', 'deny-outside'), spec: { action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['198.51.100.0/24'] } }] }] } };
    const r = run({ deny: [deny], web: [webAp([byAddress(['198.51.100.1/32'])])] });
    expect(blocked(r, 'deny')).toBe(30);
    expect(blocked(r, 'web')).toBe(0);
    // Step 1 then step 2 under one name: STRICT is what stays; applied the other way round, PERMISSIVE stays.
    expect(blocked(run({ a: [permissive], b: [strict] }), 'b')).toBe(31);
    expect(blocked(run({ a: [strict], b: [permissive] }), 'a')).toBe(0);
    // The sidecar's own ports (pilot-agent 15020, health 15021, Envoy stats 15090) are not captured: nothing applies there.
    const scrape = edge({ kind: 'Node', ip: '10.0.0.1' }, wl('shop', 'db'), 'TCP', 15090, 4);
    expect(evaluateMesh({ edges: [scrape], workloads: identity.workloads }, new Map([['ns', [strict]]])).friction.get('ns')).toEqual({ replayedFlows: 0, blockedFlows: 0, blockedEdges: 0 });
  });

  it('Linkerd: a NetworkAuthentication with the address, required by an AuthorizationPolicy on the Server, admits the outside client', () => {
    const L = 'policy.linkerd.io/v1alpha1';
    const server: K8sObject = { ...meta('Server', 'web-8080', 'policy.linkerd.io/v1beta3'), spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http', accessPolicy: 'deny' } };
    const netAuthn = (networks: object[]): K8sObject => ({ ...meta('NetworkAuthentication', 'web-8080-by-address', L), spec: { networks } });
    const authz = (refs: string[]): K8sObject => ({ ...meta('AuthorizationPolicy', 'web-8080-by-address', L), spec: {
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'web-8080' },
      requiredAuthenticationRefs: refs.map((kind) => ({ group: 'policy.linkerd.io', kind, name: 'web-8080-by-address' })),
    } });
    const meshTls: K8sObject = { ...meta('MeshTLSAuthentication', 'web-8080-by-address', L), spec: { identities: ['*'] } };
    const r = run({ web: [server, netAuthn([{ cidr: '198.51.100.1/32' }]), authz(['NetworkAuthentication'])] });
    expect(r.friction.get('web')).toEqual({ replayedFlows: 30, blockedFlows: 0, blockedEdges: 0 });
    expect([...r.admittedByAddress]).toEqual([OUTSIDE]);
    expect(blocked(run({ web: [server, netAuthn([{ cidr: '198.51.100.1/32' }])] }), 'web')).toBe(30); // no AuthorizationPolicy
    expect(blocked(run({ web: [server, authz(['NetworkAuthentication'])] }), 'web')).toBe(30); // dangling reference
    expect(blocked(run({ web: [server, netAuthn([{ cidr: '198.51.100.0/24', except: ['198.51.100.1/32'] }]), authz(['NetworkAuthentication'])] }), 'web')).toBe(30);
    // Every required authentication must hold: mesh identity AND network, which the outside client cannot meet.
    expect(blocked(run({ web: [server, netAuthn([{ cidr: '198.51.100.1/32' }]), meshTls, authz(['NetworkAuthentication', 'MeshTLSAuthentication'])] }), 'web')).toBe(30);
    // Without any authorization, the Server's accessPolicy decides.
    expect(blocked(run({ web: [{ ...server, spec: { ...server.spec, accessPolicy: 'all-unauthenticated' } }] }), 'web')).toBe(0);
    expect(blocked(run({ web: [{ ...server, spec: { ...server.spec, accessPolicy: 'all-authenticated' } }] }), 'web')).toBe(30);
  });
});

describe('namespace risk', () => {
  it('folds the ranking per namespace: highest score, sum, top three', () => {
    const r = (workload: string, score: number): WorkloadRisk => ({ workload, endpoint: wl('shop', workload), namespace: workload.split('/')[0], score, rank: 0, factors: [], findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 } });
    const m = namespaceRisk([r('a/x[Deployment]', 3), r('a/y[Deployment]', 9), r('b/z[Deployment]', 0), r('a/w[Deployment]', 1), r('a/v[Deployment]', 2)]);
    expect(m.get('a')).toEqual({ namespace: 'a', score: 9, total: 15, top: ['a/y[Deployment]', 'a/x[Deployment]', 'a/v[Deployment]'] });
    expect(m.get('b')).toEqual({ namespace: 'b', score: 0, total: 0, top: [] });
  });
});
