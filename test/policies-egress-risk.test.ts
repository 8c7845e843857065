/**
 * Policy synthesis on the egress-risk scenario with everything ingested: the VPC flow logs (pod → pod, after
 * kube-proxy's DNAT) and the capture of node b's pod interfaces, which sees clients dial Service addresses (before the
 * DNAT). NetworkPolicy is enforced after the DNAT, so an edge client → Service:port is a connection to the Service's
 * backing pods on the target port: the generated policies must say so (never an ipBlock for the ClusterIP, never
 * "undefined"), the proof must replay those flows at the backends, and the cluster's own policies — which admit
 * exactly what each workload does — must not be charged with false denials of Service-addressed traffic.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { endpointId, type Graph, type K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { proposePolicies, type Proposal } from '../ui/policies.js';
import { cli, ingestAndGraph, readJson, ROOT } from './helpers/scenario.js';
import { admits } from './helpers/connlist.js';

const SCENARIO = join(ROOT, 'fixtures', 'egress-risk');
const INPUT = join(SCENARIO, 'input');
const CLUSTER = join(INPUT, 'cluster-t0.json');

/**
 * The scenario's Services (fixtures/egress-risk/README.md, "Services"), written down here rather than derived: what a
 * Service-addressed edge must become once translated. `default/kubernetes` is the EKS API server's two ENIs.
 */
const BEHIND: Record<string, { backend: string; protocol: string; port: number }> = {
  'shop/api[Service] TCP 80': { backend: 'shop/api[Deployment]', protocol: 'TCP', port: 8080 },
  'kube-system/kube-dns[Service] UDP 53': { backend: 'kube-system/coredns[Deployment]', protocol: 'UDP', port: 53 },
  'default/kubernetes[Service] TCP 443': { backend: '10.30.16.241,10.30.38.112', protocol: 'TCP', port: 443 },
};

let db: string;
let graph: Graph;
let proposal: Proposal;
let kubeSystem: Proposal;
let out: string;
let written: { code: number | null; out: string; err: string };

beforeAll(async () => {
  ({ graph, db } = await ingestAndGraph([INPUT]));
  const store = SqliteStore.open(db);
  try {
    proposal = await proposePolicies(store, { targets: ['k8s', 'cilium', 'istio', 'linkerd'] });
    kubeSystem = await proposePolicies(store, { namespace: 'kube-system' });
  } finally {
    await store.close();
  }
  out = join(mkdtempSync(join(tmpdir(), 'segmap-egress-risk-policies-')), 'out');
  written = cli(db, 'policies', '--out', out);
});

const serviceEdges = () => graph.edges.filter((e) => e.verdict === 'allowed' && e.dst.kind === 'Service');
const serviceKey = (e: { dst: Parameters<typeof endpointId>[0]; protocol: string; port: number }) => `${endpointId(e.dst)} ${e.protocol} ${e.port}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

describe('policies: egress risk, flow logs and the capture together (Service addresses included)', () => {
  it('zero-trust coverage judges Service-addressed edges at their backends: none is left unattributed', async () => {
    const shop = proposal.coverage.find((c) => c.namespace === 'shop')!;
    expect(shop.after.edges.unattributed).toBe(0);
    expect(shop.before.edges.unattributed).toBe(0);
    expect(shop.after.edges.identity).toBeGreaterThanOrEqual(shop.before.edges.identity);
  });

  it('the capture does show Service-addressed edges (the graph keeps them as client → Service)', () => {
    const keys = [...new Set(serviceEdges().map(serviceKey))].sort();
    expect(keys).toEqual(Object.keys(BEHIND).sort());
    expect(serviceEdges().length).toBe(9);
  });

  it('proof: every observed allowed flow passes the generated policies, Service-addressed ones included', () => {
    expect(proposal.proof.deniedFlows).toBe(0);
    expect(proposal.proof.denied).toEqual([]);
    expect(proposal.proof.unknown).toEqual([]);
    expect(proposal.proof.replayedFlows).toBe(graph.edges.filter((e) => e.verdict === 'allowed').reduce((s, e) => s + e.flows, 0));
    expect(proposal.problems).toEqual([]);
  });

  it('CLI: policies writes the files (exit 0, proof 0 denied), and none contains "undefined"', () => {
    expect(written.err).not.toMatch(/invalid ipBlock|PROOF FAILED/);
    expect(written.code).toBe(0);
    expect(written.out).toMatch(/proof: \d+ observed flows replayed against the generated NetworkPolicies: 0 denied/);
    const files = filesUnder(out);
    expect(files.filter((f) => f.endsWith('.k8s.yaml'))).toHaveLength(10);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toContain('undefined');
    for (const m of [...proposal.manifests, ...kubeSystem.manifests]) expect(m.yaml, m.path).not.toContain('undefined');
    expect(JSON.stringify(proposal.intents)).not.toContain('undefined');
    // No rule names a ClusterIP (172.20.0.0/16 here): policies never see one.
    for (const f of files.filter((x) => x.endsWith('.k8s.yaml'))) expect(readFileSync(f, 'utf8'), f).not.toMatch(/172\.20\./);
  });

  it('intents: a Service-addressed edge is egress to the backing workload on the target port (DNS to kube-dns is DNS)', () => {
    for (const e of serviceEdges()) {
      const w = proposal.intents.workloads.find((x) => x.id === endpointId(e.src));
      if (!w) continue; // clients outside the scope (coredns): below
      const behind = BEHIND[serviceKey(e)];
      if (behind.backend === 'kube-system/coredns[Deployment]') {
        expect(w.dnsEvidence?.flows, w.id).toBeGreaterThanOrEqual(e.flows);
        continue;
      }
      const rule = w.egress.find((r) => r.peer.id === behind.backend);
      expect(rule?.ports, `${w.id} → ${behind.backend}`).toContainEqual(expect.objectContaining({ protocol: behind.protocol, port: behind.port }));
    }
    // CoreDNS's watch on the API server through the kubernetes Service: the API server's endpoints, on 443.
    const coredns = kubeSystem.intents.workloads.find((w) => w.id === 'kube-system/coredns[Deployment]')!;
    expect(coredns.egress).toContainEqual(expect.objectContaining({
      peer: { kind: 'apiserver', id: 'kube-apiserver', cidrs: ['10.30.16.241/32', '10.30.38.112/32', '172.20.0.1/32'] }, ports: [{ protocol: 'TCP', port: 443 }],
    }));
    expect(kubeSystem.proof.deniedFlows).toBe(0);
  });

  it('segmap connectivity on the written NetworkPolicies admits client → backing pod on the target port, for every Service-addressed edge', () => {
    // The cluster without its own policies, so only the written ones decide.
    const dump = readJson<{ items: K8sObject[] }>(CLUSTER);
    const cluster = join(mkdtempSync(join(tmpdir(), 'segmap-egress-risk-cluster-')), 'cluster.json');
    writeFileSync(cluster, JSON.stringify({ ...dump, items: dump.items.filter((o) => o.kind !== 'NetworkPolicy') }));
    const r = cli(db, 'connectivity', cluster, join(out, 'shop'), join(out, 'data'), '--format', 'json');
    expect(r.code).toBe(0);
    const lines = JSON.parse(r.out) as { src: string; dst: string; conn: string }[];
    const conn = (src: string, dst: string) => lines.find((l) => l.src === src && l.dst === dst)?.conn ?? '';
    let checked = 0;
    for (const e of serviceEdges()) {
      const src = endpointId(e.src);
      if (!src.startsWith('shop/')) continue; // generated namespaces only
      const behind = BEHIND[serviceKey(e)];
      expect(admits(conn(src, behind.backend), behind.protocol, behind.port), `${src} → ${behind.backend} ${behind.protocol} ${behind.port}: ${conn(src, behind.backend)}`).toBe(true);
      // ... and not the Service port on the pod, unless that is the target port too.
      if (behind.port !== e.port) expect(admits(conn(src, behind.backend), e.protocol, e.port)).toBe(false);
      checked++;
    }
    expect(checked).toBe(8);
  });

  it('simulate: the cluster\'s own policies are judged at the backends — no false denial of Service-addressed traffic', () => {
    const r = cli(db, 'simulate', CLUSTER, '--format', 'json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { denied: unknown[]; deniedFlows: number; allowedFlows: number };
    expect(result).toMatchObject({ denied: [], deniedFlows: 0 });
    expect(result.allowedFlows).toBe(proposal.proof.replayedFlows);
  });

  it('simulate: and they are judged, not waved through — without checkout\'s rule to api:8080, checkout → api is denied by address and by Service alike', () => {
    const dump = readJson<{ items: K8sObject[] }>(CLUSTER);
    const items = dump.items.map((o) => {
      if (o.kind !== 'NetworkPolicy' || o.metadata.name !== 'checkout') return o;
      return { ...o, spec: { ...o.spec, egress: (o.spec.egress as { ports?: { port: number }[] }[]).filter((rule) => !rule.ports?.some((p) => p.port === 8080)) } };
    }).filter((o) => o.kind === 'NetworkPolicy');
    const file = join(mkdtempSync(join(tmpdir(), 'segmap-egress-risk-np-')), 'policies.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const r = cli(db, 'simulate', file, '--ignore-existing', '--format', 'json');
    expect(r.code).toBe(1);
    const denied = (JSON.parse(r.out) as { denied: { src: unknown; dst: unknown; protocol: string; port: number; decidedBy: { name: string } }[] }).denied
      .map((d) => `${endpointId(d.src as never)} => ${endpointId(d.dst as never)} : ${d.protocol} ${d.port} (${d.decidedBy.name})`);
    expect(denied).toEqual([
      'shop/checkout[Deployment] => shop/api[Deployment] : TCP 8080 (checkout)',
      'shop/checkout[Deployment] => shop/api[Service] : TCP 80 (checkout)',
    ]);
  });
});
