import { describe, expect, it } from 'vitest';
import type { K8sObject, ObservedAggregate } from '../model/index.js';
import { policyFindings } from './findings.js';
import { buildGraph } from './graph.js';
import { buildIdentity } from './identity.js';
import { PolicyEngine } from './policy/engine.js';
import { parsePolicies } from './policy/parse-policies.js';

const T = Date.parse('2026-11-01T10:00:00Z') / 1000;
const pod = (name: string, ip: string, app: string, port?: number): K8sObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: 'shop', uid: name, labels: { app }, creationTimestamp: '2026-11-01T09:00:00Z' },
  spec: { containers: [{ name: 'c', ports: port ? [{ containerPort: port }] : [] }] },
  status: { phase: 'Running', podIP: ip },
});
const np = (name: string, spec: object): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec });
const agg = (src: string, dst: string, port: number): ObservedAggregate => ({
  srcIp: src, dstIp: dst, srcPort: 0, dstPort: port, protocol: 6, bucket: T, action: 'ACCEPT', flows: 1, packets: 1, bytes: 1, tcpFlags: 0,
  firstSeen: T, lastSeen: T + 60, inputIds: [1],
});

const objects: K8sObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  pod('web', '10.0.0.1', 'web'), pod('db', '10.0.0.2', 'db', 5432), pod('admin', '10.0.0.3', 'admin'),
  np('db-in', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { podSelector: { matchLabels: { app: 'admin' } } }], ports: [{ port: 5432 }] }] }),
  np('web-out', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }),
];
const identity = buildIdentity([{ takenAt: T, objects }]);
const graph = await buildGraph(identity, [[agg('10.0.0.1', '10.0.0.2', 5432), agg('10.0.0.1', '93.184.216.34', 443)]]);
const findings = policyFindings(identity, graph, new PolicyEngine(parsePolicies(objects).policies));
const of = (id: string, name: string) => findings.filter((f) => f.id === id && (f.subject as { name?: string }).name === name);
describe('allowed vs. used findings', () => {

  it('flags the workload no policy selects, and only that one', async () => {
    expect(findings.filter((f) => f.id === 'UNPROTECTED_WORKLOAD').map((f) => (f.subject as { name: string }).name)).toEqual(['admin']);
    expect(of('UNPROTECTED_WORKLOAD', 'admin')[0].severity).toBe('low'); // nobody was seen calling it
  });

  it('reports egress open to 0.0.0.0/0 with the destinations actually used', async () => {
    const web = of('EGRESS_OPEN_TO_INTERNET', 'web')[0];
    expect(web).toMatchObject({ severity: 'medium', evidence: { count: 1, explicit: true, externalDestinationsUsed: ['93.184.216.34:TCP/443'] } });
    expect(of('EGRESS_OPEN_TO_INTERNET', 'admin')[0]).toMatchObject({ severity: 'high', evidence: { count: 0, explicit: false } });
  });

  it('lists allowed peers never used, and stays quiet about the used ones', async () => {
    const db = of('ALLOWED_UNUSED', 'db');
    expect(db).toHaveLength(1);
    expect(db[0].evidence).toMatchObject({ direction: 'ingress', unused: [{ peer: 'shop/admin[Pod]', allowed: 'TCP 5432', used: [], unusedPart: 'TCP 5432' }] });
    expect(findings.map((f) => f.severity)).toEqual([...findings.map((f) => f.severity)].sort((a, b) =>
      ['critical', 'high', 'medium', 'low', 'info'].indexOf(a) - ['critical', 'high', 'medium', 'low', 'info'].indexOf(b)));
  });
});
