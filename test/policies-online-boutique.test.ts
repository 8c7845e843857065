import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connlistFromObjects, type ConnLine } from '../analyzer/policy/connlist.js';
import type { K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { loadIdentity, policyEngine } from '../ui/pipeline.js';
import { mergePolicies } from '../ui/policy-input.js';
import { proposePolicies, prove, type Proposal } from '../ui/policies.js';
import { cli, hasShared, ingestAndGraph, readJson, ROOT, SHARED, type EdgeSpec } from './helpers/scenario.js';
import { crdValidator, k8sNetworkPolicyValidator } from './helpers/schemas.js';

const SCENARIO = join(ROOT, 'fixtures', 'online-boutique');
const NPGUARD = 'np-guard-cluster-topology-analyzer/tests/onlineboutique/expected_netpol_output.yaml';
const K8S_SCHEMA = 'schemas/kubernetes/v1.35/apis__networking.k8s.io__v1_openapi.json';
const CILIUM_CRD = 'schemas/cilium/cilium.io/v2/ciliumnetworkpolicies.yaml';
const CONTROLLERS = new Set(['Namespace', 'Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Service']);

let db: string;
let proposal: Proposal;

beforeAll(async () => {
  ({ db } = await ingestAndGraph([join(SCENARIO, 'input')]));
  const store = SqliteStore.open(db);
  try {
    proposal = await proposePolicies(store, { defaultDeny: true });
  } finally {
    await store.close();
  }
});

/** The scenario's cluster as manifests: the controllers (np-guard turns their templates into pods), not their pods. */
function clusterObjects(): K8sObject[] {
  const list = readJson<{ items: K8sObject[] }>(join(SCENARIO, 'input', 'cluster-t1.json'));
  return list.items.filter((o) => CONTROLLERS.has(o.kind));
}

const generatedNetpols = (p: Proposal) => p.manifests.filter((m) => m.target === 'k8s').map((m) => parse(m.yaml) as K8sObject);
const lineKey = (l: ConnLine) => `${l.src} => ${l.dst} : ${l.conn}`;
const touchesBoutique = (l: ConnLine) => l.src.startsWith('boutique/') || l.dst.startsWith('boutique/');

/** The documented graph (truth.json) as connlist lines: DNS allowed on UDP and TCP 53, NLB callers as one-address ranges. */
function expectedLines(): string[] {
  const byPair = new Map<string, Set<string>>();
  for (const e of readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'truth.json'))) {
    const src = e.src.replace(/^([\d.]+)\[External\]$/, '$1-$1[External]');
    const key = `${src} => ${e.dst}`;
    const conns = byPair.get(key) ?? byPair.set(key, new Set()).get(key)!;
    conns.add(`${e.protocol} ${e.port}`);
    if (e.dst === 'kube-system/coredns[Deployment]') conns.add('TCP 53');
  }
  return [...byPair].map(([pair, conns]) => `${pair} : ${[...conns].sort().join(',')}`).sort();
}

describe('policies: Online Boutique', () => {
  it('connectivity of the cluster + generated policies (default-deny) is the documented graph plus DNS, CronJob and NLB edges, nothing more', async () => {
    const r = connlistFromObjects([...clusterObjects(), ...generatedNetpols(proposal)]);
    expect(r.errors).toEqual([]);
    expect(r.lines.filter(touchesBoutique).map(lineKey).sort()).toEqual(expectedLines());
    // The rest is kube-system, which is not generated (system namespace): it talks only to itself and outside ranges.
    const rest = r.lines.filter((l) => !touchesBoutique(l));
    expect(rest.every((l) => /^(kube-system\/|[\d.,-]+\[External\])/.test(l.src) && /^(kube-system\/|[\d.,-]+\[External\])/.test(l.dst))).toBe(true);
  });

  it('proof: every observed allowed flow passes the generated policies', async () => {
    expect(proposal.proof.replayedFlows).toBeGreaterThan(2000);
    expect(proposal.proof.deniedFlows).toBe(0);
    expect(proposal.proof.denied).toEqual([]);
    expect(proposal.proof.unknown).toEqual([]);
  });

  it('proof: the check fails when one rule is dropped (frontend no longer admits loadgenerator)', async () => {
    const broken = generatedNetpols(proposal).map((o) => {
      if (o.metadata.name !== 'segmap-frontend') return o;
      const ingress = (o.spec.ingress as { from: { podSelector?: unknown }[] }[]).filter((r) => !r.from.some((f) => JSON.stringify(f.podSelector ?? {}).includes('loadgenerator')));
      return { ...o, spec: { ...o.spec, ingress } };
    });
    const store = SqliteStore.open(db);
    try {
      const identity = await loadIdentity(store);
      const { engine } = policyEngine(mergePolicies(identity.current, broken));
      const proof = await prove(identity, store, {}, engine);
      expect(proof.denied.map((e) => `${e.src.name} => ${e.dst.name} : ${e.protocol} ${e.port}`)).toEqual(['loadgenerator => frontend : TCP 8080']);
      expect(proof.deniedFlows).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('reports the attack surface before and after, computed with the engine', async () => {
    const { before, after } = proposal.surface;
    // 13 boutique workloads + CoreDNS, no policies: every ordered pair with a boutique end, plus the outside world both ways.
    expect(before.pairs).toBe(13 * 12 + 13 * 2 + 13 * 2);
    expect(after.pairs).toBe(16 + 1 + 13); // documented edges, the CronJob, DNS
    expect(after.triples).toBe(16 + 1 + 13 * 2);
  });

  it('writes one file per workload and target, grouped by namespace, deterministically, with a rollout plan', async () => {
    const paths = proposal.manifests.map((m) => m.path);
    expect(paths).toContain('boutique/frontend.k8s.yaml');
    expect(paths).toContain('boutique/catalog-reindex.cilium.yaml');
    expect(paths).toContain('boutique/default-deny.k8s.yaml');
    expect(paths).toHaveLength(2 * 13 + 2);
    expect(proposal.manifests.every((m) => m.yaml.startsWith('# '))).toBe(true);
    const store = SqliteStore.open(db);
    try {
      expect((await proposePolicies(store, { defaultDeny: true })).manifests).toEqual(proposal.manifests);
    } finally {
      await store.close();
    }
    const ns = proposal.plan.namespaces[0];
    expect(ns.namespace).toBe('boutique');
    expect(ns.confidence).toBe('medium'); // same-node blind spots of VPC flow logs
    expect(ns.cronJobs).toEqual([expect.objectContaining({ id: 'boutique/catalog-reindex[CronJob]', maxGap: '1h', observed: true })]);
    expect(proposal.plan.skipped.map((s) => s.namespace)).toEqual(['kube-system']);
  });

  it('selects by stable labels only, and sends DNS to the CoreDNS pods as they are labelled', async () => {
    const all = proposal.manifests.map((m) => m.yaml).join('\n');
    expect(all).not.toMatch(/pod-template-hash|controller-revision-hash|job-name|controller-uid/);
    const cron = parse(proposal.manifests.find((m) => m.path === 'boutique/catalog-reindex.k8s.yaml')!.yaml);
    expect(cron.spec.podSelector).toEqual({ matchLabels: { app: 'catalog-reindex' } });
    const dns = cron.spec.egress.at(-1);
    expect(dns.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'eks.amazonaws.com/component': 'coredns', 'k8s-app': 'kube-dns' } } }]);
    expect(dns.ports).toEqual([{ port: 53, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }]);
  });

  it('CLI: writes DIR and prints the summary; unknown targets are a usage error', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'segmap-policies-')), 'out');
    const r = cli(db, 'policies', '--out', out, '--default-deny');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/proof: 2,\d{3} observed flows replayed against the generated NetworkPolicies: 0 denied/);
    expect(r.out).toMatch(/surface: before 208 workload pairs/);
    expect(readdirSync(out).sort()).toEqual(['README.md', 'ROLLOUT.md', 'boutique', 'plan.json']);
    expect(readFileSync(join(out, 'boutique', 'frontend.k8s.yaml'), 'utf8')).toBe(proposal.manifests.find((m) => m.path === 'boutique/frontend.k8s.yaml')!.yaml);
    expect(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')).namespaces[0].namespace).toBe('boutique');
    expect(cli(db, 'policies', '--out', out, '--target', 'calico').code).toBe(2);
  });
});

describe.skipIf(!hasShared(NPGUARD))('policies: compared with np-guard\'s synthesizer (../shared)', () => {
  it('differs exactly where the README says: DNS, the NLB, the CronJob', async () => {
    const theirs = parse(readFileSync(join(SHARED, NPGUARD), 'utf8')).items
      .map((o: K8sObject) => ({ ...o, metadata: { ...o.metadata, namespace: 'boutique' } }));
    const lines = (policies: K8sObject[]) => new Set(connlistFromObjects([...clusterObjects(), ...policies]).lines.filter(touchesBoutique).map(lineKey));
    const ours = lines(generatedNetpols(proposal));
    const npguard = lines(theirs);
    const onlyOurs = [...ours].filter((l) => !npguard.has(l)).sort();
    const onlyTheirs = [...npguard].filter((l) => !ours.has(l)).sort();
    // Ours: the CronJob's edge, the NLB's two addresses, DNS over TCP too and for every workload.
    expect(onlyOurs.filter((l) => !l.includes('coredns'))).toEqual([
      '10.0.0.50-10.0.0.50[External] => boutique/frontend[Deployment] : TCP 8080',
      '10.0.100.50-10.0.100.50[External] => boutique/frontend[Deployment] : TCP 8080',
      'boutique/catalog-reindex[CronJob] => boutique/productcatalogservice[Deployment] : TCP 3550',
    ]);
    expect(onlyOurs.filter((l) => l.includes('coredns')).every((l) => l.endsWith(': TCP 53,UDP 53'))).toBe(true);
    // Theirs: frontend open to any source (the whole internet and every pod), DNS over UDP only and also to any pod
    // without an ingress policy (kube-proxy), only for the workloads np-guard saw calling out; and the CronJob, absent
    // from the manifests np-guard read, cut off entirely by its default-deny (no DNS either).
    expect(onlyTheirs).toContain('0.0.0.0-255.255.255.255[External] => boutique/frontend[Deployment] : TCP 8080');
    expect(onlyTheirs).toContain('kube-system/coredns[Deployment] => boutique/frontend[Deployment] : TCP 8080');
    expect(onlyTheirs).toContain('boutique/frontend[Deployment] => kube-system/kube-proxy[DaemonSet] : UDP 53');
    expect(onlyTheirs.every((l) => l.endsWith(': UDP 53') || l.endsWith('=> boutique/frontend[Deployment] : TCP 8080'))).toBe(true);
    expect([...npguard].filter((l) => l.includes('catalog-reindex'))).toEqual([]);
    const withDns = (lines: Set<string>) => new Set([...lines].filter((l) => l.includes('=> kube-system/coredns')).map((l) => l.split(' => ')[0]));
    expect(withDns(npguard).size).toBe(5);
    expect(withDns(ours).size).toBe(13);
  });
});

let compiled: { k8s: ValidateFunction; cilium: ValidateFunction } | undefined;
function validators(): { k8s: ValidateFunction; cilium: ValidateFunction } {
  return compiled ??= { k8s: k8sNetworkPolicyValidator(K8S_SCHEMA), cilium: crdValidator(CILIUM_CRD, 'v2') };
}

describe.skipIf(!hasShared(K8S_SCHEMA) || !hasShared(CILIUM_CRD))('policies: manifests validate against the official schemas (../shared)', () => {
  it('every NetworkPolicy and CiliumNetworkPolicy validates', async () => {
    const v = validators();
    const failures: string[] = [];
    for (const m of proposal.manifests) {
      const check = m.target === 'k8s' ? v.k8s : v.cilium;
      if (!check(parse(m.yaml))) failures.push(`${m.path}: ${JSON.stringify(check.errors)}`);
    }
    expect(failures).toEqual([]);
    expect(proposal.manifests.length).toBeGreaterThan(20);
  });

  it('the validators reject a broken manifest (they can fail)', async () => {
    const v = validators();
    expect(v.k8s({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'x' }, spec: { podSelector: {}, ingress: [{ ports: [{ endPort: 'high' }] }] } })).toBe(false);
    expect(v.cilium({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'x' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['internet'] }] } })).toBe(false);
  });
});
