import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../../model/index.js';
import { clusterFromObjects } from './cluster.js';
import { ConnectionSet } from './connections.js';
import { PolicyEngine } from './engine.js';
import { parseIpv4 } from './ipv4.js';
import { IntervalSet } from './intervals.js';
import type { ExternalPeer, PodPeer } from './types.js';

const ns = (name: string, labels: Record<string, string> = {}): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const pod = (namespace: string, name: string, labels: Record<string, string>, ports: object[] = []): K8sObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', ports }] },
});
const netpol = (namespace: string, name: string, spec: object): K8sObject => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec,
});
const admin = (kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy', name: string, spec: object): K8sObject => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1', kind, metadata: { name }, spec,
});
const ip = (addr: string): ExternalPeer => ({ kind: 'external', addresses: IntervalSet.of(parseIpv4(addr)!, parseIpv4(addr)!) });

function setup(objects: K8sObject[]) {
  const cluster = clusterFromObjects(objects);
  const engine = new PolicyEngine(cluster.policies);
  const byName = (n: string) => cluster.pods.find((p) => p.name === n) as PodPeer;
  const conns = (a: PodPeer | ExternalPeer, b: PodPeer | ExternalPeer) => engine.allowedConnections(a, b).toString();
  return { engine, byName, conns };
}

const base = [
  ns('shop', { team: 'shop' }), ns('ops', { team: 'ops' }),
  pod('shop', 'web', { app: 'web' }, [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090, protocol: 'UDP' }]),
  pod('shop', 'api', { app: 'api' }, [{ name: 'http', containerPort: 3000 }]),
  pod('ops', 'mon', { app: 'mon' }),
];

describe('NetworkPolicy semantics', () => {
  it('resolves a named port on each destination pod, and only with the rule protocol', () => {
    const { byName, conns } = setup([...base, netpol('shop', 'named', {
      podSelector: {}, ingress: [{ ports: [{ port: 'http' }, { port: 'metrics' }] }],
    })]);
    expect(conns(byName('mon'), byName('web'))).toBe('TCP 8080'); // metrics is UDP on web: the TCP rule does not match it
    expect(conns(byName('mon'), byName('api'))).toBe('TCP 3000');
  });

  it('gives nothing for a named port towards an external address (it has no containerPorts)', () => {
    const { byName, conns } = setup([...base, netpol('shop', 'egress-named', {
      podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 'http' }] }],
    })]);
    expect(conns(byName('web'), ip('8.8.8.8'))).toBe('No Connections');
  });

  it('subtracts ipBlock except ranges', () => {
    const { byName, conns } = setup([...base, netpol('shop', 'cidr', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }],
    })]);
    expect(conns(ip('10.2.3.4'), byName('api'))).toBe('All Connections');
    expect(conns(ip('10.1.3.4'), byName('api'))).toBe('No Connections');
    expect(conns(byName('web'), byName('api'))).toBe('No Connections'); // pods never match an ipBlock
  });

  it('applies endPort ranges and protocol defaults', () => {
    const { byName, conns } = setup([...base, netpol('shop', 'range', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ ports: [{ port: 8000, endPort: 8010 }, { protocol: 'UDP' }, { protocol: 'SCTP', port: 7 }] }],
    })]);
    expect(conns(byName('web'), byName('api'))).toBe('SCTP 7,TCP 8000-8010,UDP 1-65535');
  });

  it('defaults policyTypes: ingress always, egress only with egress rules', () => {
    const ingressOnly = setup([...base, netpol('shop', 'deny-in', { podSelector: {} })]);
    expect(ingressOnly.conns(ingressOnly.byName('mon'), ingressOnly.byName('web'))).toBe('No Connections');
    expect(ingressOnly.conns(ingressOnly.byName('web'), ingressOnly.byName('mon'))).toBe('All Connections');

    const withEgress = setup([...base, netpol('shop', 'egress-dns', {
      podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
    })]);
    expect(withEgress.conns(withEgress.byName('web'), withEgress.byName('mon'))).toBe('UDP 53');
    expect(withEgress.conns(withEgress.byName('mon'), withEgress.byName('web'))).toBe('No Connections'); // also isolates ingress

    const egressOnly = setup([...base, netpol('shop', 'egress-only', { podSelector: {}, policyTypes: ['Egress'] })]);
    expect(egressOnly.conns(egressOnly.byName('mon'), egressOnly.byName('web'))).toBe('All Connections');
    expect(egressOnly.conns(egressOnly.byName('web'), egressOnly.byName('mon'))).toBe('No Connections');
  });

  it('distinguishes a missing namespaceSelector (policy namespace) from an empty one (all namespaces)', () => {
    const own = setup([...base, netpol('shop', 'own-ns', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: {} }] }] })]);
    expect(own.conns(own.byName('web'), own.byName('api'))).toBe('All Connections');
    expect(own.conns(own.byName('mon'), own.byName('api'))).toBe('No Connections');
    const all = setup([...base, netpol('shop', 'all-ns', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] })]);
    expect(all.conns(all.byName('mon'), all.byName('api'))).toBe('All Connections');
  });
});

describe('AdminNetworkPolicy / BaselineAdminNetworkPolicy semantics', () => {
  const passFromOps = admin('AdminNetworkPolicy', 'pass-ops', {
    priority: 5, subject: { namespaces: { matchLabels: { team: 'shop' } } },
    ingress: [{ name: 'pass-ops', action: 'Pass', from: [{ namespaces: { matchLabels: { team: 'ops' } } }], ports: [{ portNumber: { port: 8080, protocol: 'TCP' } }] }],
  });
  const denyOpsBaseline = admin('BaselineAdminNetworkPolicy', 'default', {
    subject: { namespaces: {} },
    ingress: [{ name: 'deny-ops', action: 'Deny', from: [{ namespaces: { matchLabels: { team: 'ops' } } }] }],
  });

  it('Pass defers to the NetworkPolicies selecting the pod', () => {
    const { byName, conns, engine } = setup([...base, passFromOps, denyOpsBaseline,
      netpol('shop', 'allow-8080', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 8080 }] }] })]);
    expect(conns(byName('mon'), byName('web'))).toBe('TCP 8080');
    const d = engine.decide(byName('mon'), byName('web'), 'TCP', 8080);
    expect(d.allowed).toBe(true);
    expect(d.decidedBy).toEqual({ kind: 'NetworkPolicy', namespace: 'shop', name: 'allow-8080', direction: 'ingress', rule: 0 });
  });

  it('Pass without NetworkPolicies falls to the BaselineAdminNetworkPolicy', () => {
    const { byName, conns, engine } = setup([...base, passFromOps, denyOpsBaseline]);
    expect(conns(byName('mon'), byName('web'))).toBe('No Connections');
    expect(engine.decide(byName('mon'), byName('web'), 'TCP', 8080).decidedBy)
      .toEqual({ kind: 'BaselineAdminNetworkPolicy', name: 'default', direction: 'ingress', rule: 0, ruleName: 'deny-ops' });
    expect(conns(byName('web'), byName('api'))).toBe('All Connections'); // BANP does not match shop → shop
  });

  it('lower priority number wins, and the first matching rule wins inside a policy', () => {
    const { byName, conns } = setup([...base,
      admin('AdminNetworkPolicy', 'allow-53', { priority: 1, subject: { namespaces: {} },
        egress: [{ name: 'dns', action: 'Allow', to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'mon' } } } }], ports: [{ portNumber: { port: 53, protocol: 'UDP' } }] }] }),
      admin('AdminNetworkPolicy', 'deny-mon', { priority: 2, subject: { namespaces: {} },
        egress: [{ name: 'deny', action: 'Deny', to: [{ namespaces: { matchLabels: { team: 'ops' } } }] }] }),
    ]);
    expect(conns(byName('web'), byName('mon'))).toBe('UDP 53');
  });

  it('resolves ANP named ports with the destination pod protocol', () => {
    const { byName, conns } = setup([...base, admin('AdminNetworkPolicy', 'deny-metrics', {
      priority: 1, subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } },
      ingress: [{ name: 'm', action: 'Deny', from: [{ namespaces: {} }], ports: [{ namedPort: 'metrics' }] }],
    })]);
    expect(conns(byName('mon'), byName('web'))).toBe('SCTP 1-65535,TCP 1-65535,UDP 1-9089,9091-65535');
  });

  it('matches egress networks against external addresses', () => {
    const { byName, conns } = setup([...base, admin('AdminNetworkPolicy', 'deny-net', {
      priority: 1, subject: { namespaces: {} }, egress: [{ name: 'n', action: 'Deny', to: [{ networks: ['192.168.0.0/16'] }] }],
    })]);
    expect(conns(byName('web'), ip('192.168.1.1'))).toBe('No Connections');
    expect(conns(byName('web'), ip('192.169.1.1'))).toBe('All Connections');
  });
});

describe('decide agrees with allowedConnections', () => {
  it('on every probe of a mixed policy set', () => {
    const { byName, engine } = setup([...base,
      admin('AdminNetworkPolicy', 'a', { priority: 3, subject: { namespaces: {} },
        ingress: [{ name: 'p', action: 'Pass', from: [{ namespaces: { matchLabels: { team: 'ops' } } }], ports: [{ portRange: { start: 8000, end: 8100 } }] },
          { name: 'd', action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { port: 3000, protocol: 'TCP' } }] }] }),
      admin('BaselineAdminNetworkPolicy', 'default', { subject: { namespaces: {} }, ingress: [{ name: 'd', action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { port: 8050, protocol: 'TCP' } }] }] }),
      netpol('shop', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 8080 }, { port: 53, protocol: 'UDP' }] }] }),
    ]);
    const peers: (PodPeer | ExternalPeer)[] = [byName('web'), byName('api'), byName('mon'), ip('1.2.3.4')];
    for (const s of peers) for (const d of peers) {
      if (s === d || (s.kind === 'external' && d.kind === 'external')) continue;
      const set: ConnectionSet = engine.allowedConnections(s, d);
      for (const [proto, port] of [['TCP', 8080], ['TCP', 8050], ['TCP', 3000], ['UDP', 53], ['SCTP', 1]] as const) {
        expect(engine.decide(s, d, proto, port).allowed, `${JSON.stringify([s.kind, d.kind, proto, port])}`).toBe(set.contains(proto, port));
      }
    }
  });
});
