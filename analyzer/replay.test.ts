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
