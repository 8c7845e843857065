import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, K8sObject, ObservedAggregate } from '../model/index.js';
import { buildGraph, orient } from './graph.js';
import { buildIdentity } from './identity.js';

const T0 = Date.parse('2026-11-01T10:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function pod(name: string, ip: string, opts: { owner?: { kind: string; name: string }; created?: number; labels?: Record<string, string>;
  ports?: number[]; phase?: string; finished?: number; hostNetwork?: boolean; node?: string; ns?: string } = {}): K8sObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: opts.ns ?? 'shop', uid: `uid-${name}`, labels: opts.labels ?? { app: name },
      creationTimestamp: iso(opts.created ?? T0 - 3600),
      ownerReferences: opts.owner ? [{ apiVersion: 'apps/v1', kind: opts.owner.kind, name: opts.owner.name, controller: true }] : undefined,
    },
    spec: {
      nodeName: opts.node ?? 'n1', hostNetwork: opts.hostNetwork,
      containers: [{ name: 'c', ports: (opts.ports ?? []).map((p) => ({ containerPort: p, protocol: 'TCP' })) }],
    },
    status: {
      phase: opts.phase ?? 'Running', podIP: ip,
      containerStatuses: opts.finished ? [{ state: { terminated: { finishedAt: iso(opts.finished) } } }] : [{ state: { running: { startedAt: iso(opts.created ?? T0 - 3600) } } }],
    },
  };
}

const obj = (kind: string, name: string, extra: Partial<K8sObject> = {}, ns = 'shop'): K8sObject =>
  ({ apiVersion: 'apps/v1', kind, metadata: { name, namespace: ns, uid: `uid-${kind}-${name}` }, ...extra });

function agg(src: string, dst: string, sp: number, dp: number, at: number, extra: Partial<ObservedAggregate> = {}): ObservedAggregate {
  return { srcIp: src, dstIp: dst, srcPort: sp, dstPort: dp, protocol: 6, bucket: at - (at % 300), action: 'ACCEPT', flows: 1, packets: 10,
    bytes: 1000, tcpFlags: 0, firstSeen: at, lastSeen: at + 60, inputIds: [1], ...extra };
}

describe('identity: owner chain', () => {
  it('walks Pod → ReplicaSet → Deployment and Pod → Job → CronJob; infers the parent when the middle object is missing', async () => {
    const snap: ClusterSnapshot = { takenAt: T0, objects: [
      obj('Deployment', 'web'), obj('CronJob', 'reindex', {}, 'shop'),
      obj('ReplicaSet', 'web-5d8f', { metadata: { name: 'web-5d8f', namespace: 'shop', ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] } }),
      pod('web-5d8f-abcde', '10.0.0.1', { owner: { kind: 'ReplicaSet', name: 'web-5d8f' } }),
      // No ReplicaSet object for this one: the pod-template-hash names the Deployment.
      { ...pod('web-77aa-xyz12', '10.0.0.2', { owner: { kind: 'ReplicaSet', name: 'web-77aa' } }),
        metadata: { ...pod('web-77aa-xyz12', '10.0.0.2', { owner: { kind: 'ReplicaSet', name: 'web-77aa' } }).metadata, labels: { app: 'web', 'pod-template-hash': '77aa' } } },
      pod('reindex-29000-q', '10.0.0.3', { owner: { kind: 'Job', name: 'reindex-29000' } }),
      pod('lonely', '10.0.0.4'),
    ] };
    const id = buildIdentity([snap]);
    expect(id.holderAt('10.0.0.1', T0)?.endpoint).toEqual({ kind: 'Deployment', namespace: 'shop', name: 'web' });
    expect(id.holderAt('10.0.0.2', T0)?.endpoint).toEqual({ kind: 'Deployment', namespace: 'shop', name: 'web' });
    expect(id.holderAt('10.0.0.3', T0)?.endpoint).toEqual({ kind: 'CronJob', namespace: 'shop', name: 'reindex' });
    expect(id.holderAt('10.0.0.4', T0)?.endpoint).toEqual({ kind: 'Pod', namespace: 'shop', name: 'lonely' });
    const web = id.workloads.find((w) => w.endpoint.name === 'web');
    expect(web?.labels).not.toHaveProperty('pod-template-hash');
  });
});

describe('identity: time-aware attribution', () => {
  it('gives a reused IP to each holder only during its own tenure', async () => {
    const t0: ClusterSnapshot = { takenAt: T0, objects: [pod('old', '10.0.0.9', { created: T0 - 7200 }), pod('other', '10.0.0.10')] };
    // One hour later the old pod is gone and a different workload's pod holds the address.
    const t1: ClusterSnapshot = { takenAt: T0 + 3600, objects: [pod('new', '10.0.0.9', { created: T0 + 1800 }), pod('other', '10.0.0.10')] };
    for (const order of [[t0, t1], [t1, t0]]) {
      const id = buildIdentity(order);
      expect(id.holderAt('10.0.0.9', T0 - 60)?.endpoint.name).toBe('old');
      expect(id.holderAt('10.0.0.9', T0 + 1700)?.endpoint.name).toBe('old');
      expect(id.holderAt('10.0.0.9', T0 + 1900)?.endpoint.name).toBe('new');
      expect(id.holderAt('10.0.0.9', T0 - 8000)).toBeUndefined();
    }
  });

  it('ends a finished pod\'s claim at its finish time although its status still shows the IP', async () => {
    const snap: ClusterSnapshot = { takenAt: T0 + 3600, objects: [pod('job-pod', '10.0.0.7', { phase: 'Succeeded', finished: T0 + 300 })] };
    const id = buildIdentity([snap]);
    expect(id.holderAt('10.0.0.7', T0 + 200)?.endpoint.name).toBe('job-pod');
    expect(id.holderAt('10.0.0.7', T0 + 400)).toBeUndefined();
    expect(id.everHeld('10.0.0.7')).toBe(true);
  });

  it('treats a pod missing from a later dump of its namespace as gone, but not one missing from a dump of another namespace', async () => {
    const a = pod('a', '10.0.0.5');
    const t1: ClusterSnapshot = { takenAt: T0 + 600, objects: [pod('b', '10.0.0.6')] };
    const elsewhere: ClusterSnapshot = { takenAt: T0 + 600, objects: [pod('c', '10.0.1.6', { ns: 'other' })] };
    expect(buildIdentity([{ takenAt: T0, objects: [a] }, t1]).holderAt('10.0.0.5', T0 + 700)).toBeUndefined();
    expect(buildIdentity([{ takenAt: T0, objects: [a] }, elsewhere]).holderAt('10.0.0.5', T0 + 700)?.endpoint.name).toBe('a');
  });

  it('attributes a node address to the host-network workload listening on the port', async () => {
    const node: K8sObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.9.1' }] } };
    const ds = obj('DaemonSet', 'exporter', {}, 'mon');
    const hp = pod('exporter-x', '10.0.9.1', { owner: { kind: 'DaemonSet', name: 'exporter' }, hostNetwork: true, ports: [9100], ns: 'mon' });
    const client = pod('prom', '10.0.0.20');
    const id = buildIdentity([{ takenAt: T0, objects: [node, ds, hp, client] }]);
    const o = orient(agg('10.0.0.20', '10.0.9.1', 0, 9100, T0), id);
    expect(o.server).toEqual({ kind: 'DaemonSet', namespace: 'mon', name: 'exporter' });
    expect(orient(agg('10.0.0.20', '10.0.9.1', 0, 22, T0), id).server).toEqual({ kind: 'Node', name: 'n1' });
  });
});

describe('graph: direction and de-duplication', () => {
  const snap: ClusterSnapshot = { takenAt: T0, objects: [
    pod('client', '10.0.0.1'),
    pod('ship', '10.0.0.2', { ports: [50051] }),
  ] };
  const id = buildIdentity([snap]);

  it('uses listening ports before any heuristic, even when the server port is in the ephemeral range', async () => {
    const fwd = orient(agg('10.0.0.1', '10.0.0.2', 41000, 50051, T0), id);
    expect([fwd.client.name, fwd.server.name, fwd.port, fwd.reply]).toEqual(['client', 'ship', 50051, false]);
    const rep = orient(agg('10.0.0.2', '10.0.0.1', 50051, 41000, T0), id);
    expect([rep.client.name, rep.server.name, rep.port, rep.reply]).toEqual(['client', 'ship', 50051, true]);
  });

  it('falls back to TCP flags, then to the lower port, for peers it does not know', async () => {
    expect(orient(agg('203.0.113.9', '198.51.100.1', 40000, 45000, T0, { tcpFlags: 18 }), id).server.ip).toBe('203.0.113.9');
    expect(orient(agg('203.0.113.9', '198.51.100.1', 40000, 45000, T0, { tcpFlags: 2 }), id).server.ip).toBe('198.51.100.1');
    expect(orient(agg('203.0.113.9', '198.51.100.1', 20641, 22, T0), id).server.ip).toBe('198.51.100.1');
  });

  it('never turns a reply into an edge and counts a conversation once', async () => {
    const g = await buildGraph(id, [[
      agg('10.0.0.1', '10.0.0.2', 0, 50051, T0, { flows: 3, bytes: 300 }),
      agg('10.0.0.2', '10.0.0.1', 50051, 0, T0, { flows: 3, bytes: 9000 }),
    ]]);
    expect(g.edges).toHaveLength(1);
    expect(g.edges[0]).toMatchObject({ src: { name: 'client' }, dst: { name: 'ship' }, protocol: 'TCP', port: 50051, verdict: 'allowed', flows: 3, bytes: 9300 });
  });

  it('labels unknown cluster addresses Unknown and foreign ones External; filters by namespace', async () => {
    const later = buildIdentity([{ takenAt: T0, objects: [pod('job', '10.0.0.3', { phase: 'Succeeded', finished: T0 - 1000 }), pod('client', '10.0.0.1')] }]);
    const g = await buildGraph(later, [[agg('10.0.0.1', '10.0.0.3', 0, 80, T0), agg('10.0.0.1', '93.184.216.34', 0, 443, T0)]]);
    expect(g.edges.map((e) => e.dst.kind).sort()).toEqual(['External', 'Unknown']);
    expect((await buildGraph(later, [[agg('10.0.0.1', '93.184.216.34', 0, 443, T0)]], { namespace: 'nowhere' })).edges).toEqual([]);
  });
});
