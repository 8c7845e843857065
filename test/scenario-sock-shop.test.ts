import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph, K8sObject } from '../model/index.js';
import { mergePolicies } from '../ui/policy-input.js';
import { cli, edgeSpecKey, graphEdgeKeys, hasShared, ingestAndGraph, readJson, ROOT, SHARED, type EdgeSpec } from './helpers/scenario.js';

const SCENARIO = join(ROOT, 'fixtures', 'sock-shop');
const POLICIES = 'sock-shop/deploy/kubernetes/manifests-policy';

let graph: Graph;
let db: string;

beforeAll(async () => {
  ({ graph, db } = await ingestAndGraph([join(SCENARIO, 'input')]));
});

describe('scenario: Sock Shop on AWS VPC flow logs', () => {
  it('gives exactly the edges the generator simulated', async () => {
    const truth = readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'truth.json')).map(edgeSpecKey).sort();
    expect(truth.length).toBeGreaterThan(20);
    expect(graphEdgeKeys(graph)).toEqual(truth);
  });
});

describe.skipIf(!hasShared(POLICIES))('scenario: Sock Shop with the project\'s own policies (../shared)', () => {
  it('simulate drops exactly the flows the hand-derived oracle lists, and names the label bug', async () => {
    const r = cli(db, 'simulate', join(SHARED, POLICIES), '-n', 'sock-shop', '--format', 'json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out) as { denied: (EdgeSpec & { src: { namespace: string; name: string; kind: string }; dst: { namespace: string; name: string; kind: string } })[]; warnings: string[] };
    const got = out.denied.map((d) => edgeSpecKey({
      src: `${d.src.namespace}/${d.src.name}[${d.src.kind}]`, dst: `${d.dst.namespace}/${d.dst.name}[${d.dst.kind}]`, protocol: d.protocol, port: d.port,
    })).sort();
    const oracle = readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'simulate-manifests-policy.json')).map(edgeSpecKey).sort();
    expect(got).toEqual(oracle);
    expect(out.warnings).toContain('NetworkPolicy sock-shop/cart-access selects no pod (podSelector name=cart in namespace sock-shop)');
    expect(out.warnings.some((w) => /carts-db-access ingress rule 0: peer podSelector name=cart matches no pod/.test(w))).toBe(true);
    expect(out.warnings.some((w) => /Namespace sock-shop is not a policy \(its net\.beta\.kubernetes\.io\/network-policy annotation/.test(w))).toBe(true);
  });

});

describe('simulate: proposed policies and the cluster\'s own', () => {
  const np = (ns: string, name: string, app: string): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: { podSelector: { matchLabels: { app } } } });
  it('a proposed policy replaces the cluster\'s policy of the same name, others stay, non-policies are dropped', async () => {
    const existing = [np('a', 'web', 'old'), np('a', 'db', 'db'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } } as K8sObject];
    const merged = mergePolicies(existing, [np('a', 'web', 'new'), np('b', 'web', 'x')]);
    expect(merged.map((o) => `${o.metadata.namespace}/${o.metadata.name}:${(o.spec as { podSelector: { matchLabels: { app: string } } }).podSelector.matchLabels.app}`))
      .toEqual(['a/db:db', 'a/web:new', 'b/web:x']);
  });
});
