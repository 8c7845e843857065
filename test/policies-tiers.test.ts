/**
 * Graduated tiers on the Online Boutique scenario: the same estate under three tier configurations (all tier 1, all
 * tier 3, a mix) gives three policy sets whose connectivity — np-guard's connlist over the cluster and the emitted
 * NetworkPolicies, as `segmap connectivity` prints it — matches the tier definitions, each admitting every observed
 * flow (friction 0). Without tiers the output is what it always was.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CLOSED_ADMIN_PORTS, METADATA_CIDRS, openPortRanges } from '../analyzer/emit/tier-rules.js';
import { ADMIN_PORTS, METADATA_ADDRESSES } from '../analyzer/egress-risk.js';
import { connlistFromObjects, type ConnLine } from '../analyzer/policy/connlist.js';
import { IntervalSet } from '../analyzer/policy/intervals.js';
import { parseIpv4 } from '../analyzer/policy/ipv4.js';
import { podPeer } from '../analyzer/findings.js';
import { TIER_KEY, type K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { loadIdentity, policyEngine } from '../ui/pipeline.js';
import { mergePolicies } from '../ui/policy-input.js';
import { proposePolicies, prove, readTierConfig, type Proposal } from '../ui/policies.js';
import { cli, hasShared, ingestAndGraph, readJson, ROOT } from './helpers/scenario.js';
import { crdValidator, k8sNetworkPolicyValidator } from './helpers/schemas.js';
import { admits } from './helpers/connlist.js';

const SCENARIO = join(ROOT, 'fixtures', 'online-boutique');
const TIERS = join(ROOT, 'fixtures', 'tiers');
const CONTROLLERS = new Set(['Namespace', 'Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Service']);
const TARGETS = ['k8s', 'cilium', 'istio', 'linkerd'] as const;
const BOUTIQUE = ['adservice', 'cartservice', 'checkoutservice', 'currencyservice', 'emailservice', 'frontend', 'loadgenerator',
  'paymentservice', 'productcatalogservice', 'recommendationservice', 'redis-cart', 'shippingservice'].map((n) => `boutique/${n}[Deployment]`)
  .concat('boutique/catalog-reindex[CronJob]');
/** A Deployment nobody observed (deployed after the observation): what a namespace default-deny is for. */
const NEWCOMER = 'boutique/newcomer[Deployment]';
const UNOBSERVED = '203.0.113.10';

let db: string;
const proposals: Record<'untiered' | 'tier1' | 'tier3' | 'mixed', Proposal> = {} as never;

beforeAll(async () => {
  ({ db } = await ingestAndGraph([join(SCENARIO, 'input')]));
  const store = SqliteStore.open(db);
  try {
    proposals.untiered = await proposePolicies(store, { targets: TARGETS });
    proposals.tier1 = await proposePolicies(store, { targets: TARGETS, tiers: await readTierConfig(join(TIERS, 'all-tier1.yaml')) });
    proposals.tier3 = await proposePolicies(store, { targets: TARGETS, tiers: await readTierConfig(join(TIERS, 'all-tier3.yaml')) });
    proposals.mixed = await proposePolicies(store, { targets: TARGETS, tiers: await readTierConfig(join(TIERS, 'mixed.json')) });
  } finally {
    await store.close();
  }
});

/** The scenario's cluster as manifests (controllers), plus one Deployment that was never observed. */
function clusterObjects(): K8sObject[] {
  const list = readJson<{ items: K8sObject[] }>(join(SCENARIO, 'input', 'cluster-t1.json'));
  const newcomer: K8sObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'newcomer', namespace: 'boutique' },
    spec: { selector: { matchLabels: { app: 'newcomer' } }, template: { metadata: { labels: { app: 'newcomer' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
  return [...list.items.filter((o) => CONTROLLERS.has(o.kind)), newcomer];
}

const netpols = (p: Proposal) => p.manifests.filter((m) => m.target === 'k8s').map((m) => parse(m.yaml) as K8sObject);

function connectivity(p: Proposal): ConnLine[] {
  const r = connlistFromObjects([...clusterObjects(), ...netpols(p)]);
  expect(r.errors).toEqual([]);
  return r.lines;
}

/** The connlist line from `src` to the external range holding `ip` (undefined: nothing allowed there). */
function toAddress(lines: ConnLine[], src: string, ip: string): ConnLine | undefined {
  const n = parseIpv4(ip)!;
  return lines.find((l) => {
    if (l.src !== src) return false;
    const m = /^([\d.]+)-([\d.]+)\[External\]$/.exec(l.dst);
    return !!m && parseIpv4(m[1])! <= n && n <= parseIpv4(m[2])!;
  });
}

const reaches = (lines: ConnLine[], src: string, ip: string, protocol: string, port: number) => {
  const l = toAddress(lines, src, ip);
  return !!l && admits(l.conn, protocol, port);
};

describe('tiers: the encodings agree with the egress-risk definitions', () => {
  it('metadata service and admin ports are the ones the egress-risk findings flag', () => {
    expect([METADATA_CIDRS.ipv4, METADATA_CIDRS.ipv6].map((c) => c.split('/')[0])).toEqual([...METADATA_ADDRESSES]);
    expect([...CLOSED_ADMIN_PORTS].sort((a, b) => a - b)).toEqual(Object.keys(ADMIN_PORTS).map(Number).sort((a, b) => a - b));
    expect(openPortRanges()).toEqual([[1, 21], [23, 2378], [2381, 3388], [3390, 6442], [6444, 10249], [10251, 65535]]);
  });
});

describe('tiers: Online Boutique under three configurations', () => {
  it('every configuration admits every observed flow (friction 0 for the NetworkPolicies)', () => {
    for (const [name, p] of Object.entries(proposals)) {
      expect(p.proof.replayedFlows, name).toBeGreaterThan(2000);
      expect(p.proof.deniedFlows, name).toBe(0);
      expect(p.proof.unknownFlows, name).toBe(0);
      expect(p.friction.find((f) => f.target === 'k8s')!.friction, name).toEqual({ replayedFlows: p.proof.replayedFlows, blockedFlows: 0, blockedEdges: 0 });
      for (const m of p.manifests.filter((x) => x.target === 'k8s')) expect(m.friction, m.path).toEqual({ replayedFlows: p.proof.replayedFlows, blockedFlows: 0, blockedEdges: 0 });
    }
  });

  it('tier 1: any pod may reach an unobserved outside address on 443, but not the metadata service nor an admin port', () => {
    const lines = connectivity(proposals.tier1);
    for (const w of BOUTIQUE) {
      expect(reaches(lines, w, UNOBSERVED, 'TCP', 443), w).toBe(true);
      expect(reaches(lines, w, UNOBSERVED, 'UDP', 443), w).toBe(true);
      expect(toAddress(lines, w, '169.254.169.254'), w).toBeUndefined();
      for (const port of CLOSED_ADMIN_PORTS) {
        expect(reaches(lines, w, UNOBSERVED, 'TCP', port), `${w} TCP ${port}`).toBe(false);
        expect(reaches(lines, w, '10.0.26.37', 'TCP', port), `${w} → node a TCP ${port}`).toBe(false); // kubelet, SSH on a node
      }
    }
    // In-cluster egress is open too (every pod, on every port but the admin ones), and ingress stays least privilege:
    // frontend may open anything on kube-system's CoreDNS, which has no policy, but nothing unobserved in boutique.
    const frontendToDns = lines.find((l) => l.src === 'boutique/frontend[Deployment]' && l.dst === 'kube-system/coredns[Deployment]')!;
    expect(admits(frontendToDns.conn, 'TCP', 8080)).toBe(true);
    expect(admits(frontendToDns.conn, 'TCP', 10250)).toBe(false);
    expect(lines.find((l) => l.src === 'boutique/frontend[Deployment]' && l.dst === 'boutique/paymentservice[Deployment]')).toBeUndefined();
    // No namespace default-deny in tier 1: a pod nobody observed stays open.
    expect(reaches(lines, NEWCOMER, UNOBSERVED, 'TCP', 10250)).toBe(true);
  });

  it('tier 1, with the engine: exactly every port but the admin ports, to any address but the metadata service', () => {
    const { engine } = policyEngine(netpols(proposals.tier1));
    const frontend = { kind: 'pod' as const, namespace: 'boutique', name: 'frontend-x', labels: { app: 'frontend' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'boutique' }, containerPorts: [] };
    const ext = (ip: string) => ({ kind: 'external' as const, addresses: IntervalSet.of(parseIpv4(ip)!, parseIpv4(ip)!) });
    const c = engine.allowedConnections(frontend, ext(UNOBSERVED));
    for (const proto of ['TCP', 'UDP', 'SCTP'] as const) expect(c.portsOf(proto).intervals).toEqual(openPortRanges());
    expect(engine.allowedConnections(frontend, ext('169.254.169.254')).isEmpty()).toBe(true);
    expect(engine.allowedConnections(frontend, ext('169.254.169.253')).isEmpty()).toBe(false);
  });

  it('tier 3: no pod reaches any outside address it was not observed reaching; the namespace is default-deny', () => {
    const lines = connectivity(proposals.tier3);
    const outside = lines.filter((l) => BOUTIQUE.includes(l.src) && l.dst.endsWith('[External]'));
    expect(outside).toEqual([]); // Online Boutique has no observed outside egress
    // The never-observed Deployment is cut off (DNS aside) by the namespace default-deny.
    expect(lines.filter((l) => l.src === NEWCOMER || l.dst === NEWCOMER).map((l) => `${l.src} => ${l.dst} : ${l.conn}`))
      .toEqual([`${NEWCOMER} => kube-system/coredns[Deployment] : TCP 53,UDP 53`]);
    expect(proposals.tier3.manifests.map((m) => m.path)).toEqual(expect.arrayContaining(['boutique/default-deny.k8s.yaml', 'boutique/default-deny.cilium.yaml']));
  });

  it('tiers 2 and 3 admit exactly the documented graph (the same connectivity as without tiers)', () => {
    const key = (ls: ConnLine[]) => ls.filter((l) => l.src.startsWith('boutique/') || l.dst.startsWith('boutique/'))
      .filter((l) => l.src !== NEWCOMER && l.dst !== NEWCOMER).map((l) => `${l.src} => ${l.dst} : ${l.conn}`).sort();
    expect(key(connectivity(proposals.tier3))).toEqual(key(connectivity(proposals.untiered)));
  });

  it('a mix: tier-1 frontend and loadgenerator reach outside on 443, the tier-2 and tier-3 workloads do not', () => {
    const lines = connectivity(proposals.mixed);
    const open = ['boutique/frontend[Deployment]', 'boutique/loadgenerator[Deployment]'];
    for (const w of BOUTIQUE) {
      expect(reaches(lines, w, UNOBSERVED, 'TCP', 443), w).toBe(open.includes(w));
      expect(toAddress(lines, w, '169.254.169.254'), w).toBeUndefined();
      expect(reaches(lines, w, UNOBSERVED, 'TCP', 10250), w).toBe(false);
    }
    // boutique is tier 3 in this configuration: its default-deny cuts off what nobody observed.
    expect(lines.some((l) => l.src === NEWCOMER && l.dst.endsWith('[External]'))).toBe(false);
  });

  it('every manifest says its tier, and the precedence is config workload > config namespace > default', () => {
    const tierOf = (p: Proposal) => new Map(p.manifests.map((m) => [m.path, m.tier]));
    for (const m of proposals.untiered.manifests) {
      expect(m.tier).toBeUndefined();
      expect(m.yaml).not.toContain(TIER_KEY);
    }
    for (const [name, want] of [['tier1', 1], ['tier3', 3]] as const) {
      for (const m of proposals[name].manifests) {
        expect(m.tier, m.path).toBe(want);
        for (const d of parseAllDocuments(m.yaml)) expect(d.toJS().metadata.annotations?.[TIER_KEY], m.path).toBe(String(want));
      }
    }
    const mixed = tierOf(proposals.mixed);
    expect(mixed.get('boutique/frontend.k8s.yaml')).toBe(1); // workloads."boutique/frontend"
    expect(mixed.get('boutique/loadgenerator.k8s.yaml')).toBe(1); // workloads."boutique/loadgenerator[Deployment]"
    expect(mixed.get('boutique/adservice.k8s.yaml')).toBe(2);
    expect(mixed.get('boutique/paymentservice.k8s.yaml')).toBe(3); // namespaces.boutique
    expect(mixed.get('boutique/default-deny.k8s.yaml')).toBe(3);
    expect(proposals.mixed.tiers).toEqual([{ namespace: 'boutique', tier: 3, source: `${join(TIERS, 'mixed.json')}: namespaces.boutique`, workloads: { 1: 2, 2: 1, 3: 10 } }]);
  });

  it('mTLS per tier: tiers 1 and 2 PERMISSIVE, tier 3 STRICT, with workload-level overrides in a mixed namespace', () => {
    // `app:mode`, `inherit` where the workload's mode is its namespace's, `+port=mode` per port-level exception.
    const pa = (p: Proposal) => p.manifests.filter((m) => m.target === 'istio').map((m) => parse(m.yaml) as K8sObject)
      .filter((o) => o.kind === 'PeerAuthentication')
      .map((o) => `${o.spec.selector?.matchLabels?.app ?? '*'}:${o.spec.mtls?.mode ?? 'inherit'}${Object.entries(o.spec.portLevelMtls ?? {}).map(([port, m]) => `+${port}=${(m as { mode: string }).mode}`).join('')}`).sort();
    // Where frontend ends STRICT, its port 8080 stays PERMISSIVE for the NLB (no mesh identity, admitted by address).
    expect(pa(proposals.untiered)).toEqual(['*:PERMISSIVE', '*:STRICT', 'frontend:inherit+8080=PERMISSIVE']); // step 1, step 2
    expect(pa(proposals.tier1)).toEqual(['*:PERMISSIVE']);
    expect(pa(proposals.tier3)).toEqual(['*:PERMISSIVE', '*:STRICT', 'frontend:inherit+8080=PERMISSIVE']); // STRICT, staged through PERMISSIVE
    expect(pa(proposals.mixed)).toEqual(['*:PERMISSIVE', '*:STRICT', 'adservice:PERMISSIVE', 'frontend:PERMISSIVE', 'loadgenerator:PERMISSIVE']); // tier-1 frontend: PERMISSIVE anyway
    const linkerd = proposals.tier3.manifests.find((m) => m.path === 'boutique/cartservice.linkerd.yaml')!.yaml;
    expect(linkerd).toMatch(/config\.linkerd\.io\/default-inbound-policy=all-authenticated/);
  });

  it('friction is 0 for every evaluated target in every configuration: the meshes admit the NLB calling frontend by address', () => {
    for (const [name, p] of Object.entries(proposals)) {
      expect(p.friction.map((f) => f.target), name).toEqual(['k8s', 'cilium', 'istio', 'linkerd']);
      for (const f of p.friction) {
        if (f.target === 'cilium') expect(f.friction, name).toBeNull(); // not replayed: generated from the same intents
        else expect(f.friction, `${name} ${f.target}`).toEqual({ replayedFlows: f.target === 'k8s' ? p.proof.replayedFlows : 2342, blockedFlows: 0, blockedEdges: 0 });
      }
      for (const m of p.manifests.filter((x) => x.target !== 'cilium')) expect(m.friction?.blockedFlows, `${name} ${m.path}`).toBe(0);
      const frontend = (t: string) => p.manifests.find((m) => m.path === `boutique/frontend.${t}.yaml`)!;
      expect(frontend('istio').friction, name).toMatchObject({ replayedFlows: 1608, blockedFlows: 0 }); // loadgenerator and the NLB (1,349)
      expect(frontend('istio').yaml, name).toMatch(/ipBlocks:\n\s+- 10\.0\.0\.50\/32\n\s+- 10\.0\.100\.50\/32/);
      expect(frontend('linkerd').yaml, name).toMatch(/kind: NetworkAuthentication[\s\S]*- cidr: 10\.0\.0\.50\/32\n\s+- cidr: 10\.0\.100\.50\/32/);
    }
  });

  it('zero-trust coverage: everything open today; identity for the in-cluster edges, address for the NLB with the proposal', () => {
    for (const name of ['untiered', 'tier3', 'mixed', 'tier1'] as const) {
      const [c] = proposals[name].coverage;
      expect(c.namespace).toBe('boutique');
      expect(c.before.edges).toEqual({ identity: 0, address: 0, open: 32, blocked: 0, unattributed: 0 });
      expect(c.after.edges, name).toEqual({ identity: 30, address: 2, open: 0, blocked: 0, unattributed: 0 });
      expect(c.after.flows.address, name).toBe(1349);
    }
  });

  it('friction of an edited policy: charged to the manifest that blocks, in the words simulate prints', async () => {
    const broken = netpols(proposals.tier3).map((o) => (o.metadata.name !== 'segmap-cartservice' ? o
      : { ...o, spec: { ...o.spec, egress: (o.spec.egress as { to: unknown[] }[]).filter((r) => !JSON.stringify(r.to).includes('redis-cart')) } }));
    const store = SqliteStore.open(db);
    try {
      const identity = await loadIdentity(store);
      const proof = await prove(identity, store, {}, policyEngine(mergePolicies(identity.current, broken)).engine);
      expect(proof.denied.map((e) => `${e.src.name} => ${e.dst.name} : ${e.protocol} ${e.port} (${e.decidedBy.direction})`)).toEqual(['cartservice => redis-cart : TCP 6379 (egress)']);
    } finally {
      await store.close();
    }
    const dir = mkdtempSync(join(tmpdir(), 'segmap-tiers-'));
    writeFileSync(join(dir, 'broken.yaml'), broken.map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = cli(db, 'simulate', join(dir, 'broken.yaml'), '--format', 'text');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^friction: [\d,]+ observed flows blocked \(1 edge\) of 2,\d{3} replayed$/m);
    expect(r.out).toMatch(/by NetworkPolicy boutique\/segmap-cartservice: \d+ flows \(1 edges\)/);
    const json = JSON.parse(cli(db, 'simulate', join(dir, 'broken.yaml'), '--format', 'json').out);
    expect(json.friction).toMatchObject({ blockedEdges: 1, blockedFlows: json.deniedFlows, replayedFlows: json.allowedFlows + json.deniedFlows });
  });
});

const SCHEMAS = {
  k8s: 'schemas/kubernetes/v1.35/apis__networking.k8s.io__v1_openapi.json',
  cilium: 'schemas/cilium/cilium.io/v2/ciliumnetworkpolicies.yaml',
  istio: 'schemas/istio/security.istio.io_authorizationpolicies_peerauthentications.derived.yaml',
  linkerd: 'schemas/linkerd/derived',
};

describe.skipIf(!Object.values(SCHEMAS).every(hasShared))('tiers: every tiered manifest validates against the official schemas (../shared)', () => {
  it('NetworkPolicy (endPort ranges, IPv6 ipBlocks), CiliumNetworkPolicy, Istio and Linkerd objects', () => {
    const v = {
      NetworkPolicy: k8sNetworkPolicyValidator(SCHEMAS.k8s),
      CiliumNetworkPolicy: crdValidator(SCHEMAS.cilium, 'v2'),
      AuthorizationPolicy: crdValidator(SCHEMAS.istio, 'v1', 'authorizationpolicies.security.istio.io'),
      PeerAuthentication: crdValidator(SCHEMAS.istio, 'v1', 'peerauthentications.security.istio.io'),
      Server: crdValidator(`${SCHEMAS.linkerd}/server.derived.yaml`, 'v1beta3'),
      MeshTLSAuthentication: crdValidator(`${SCHEMAS.linkerd}/meshtls-authentication.derived.yaml`, 'v1alpha1'),
      NetworkAuthentication: crdValidator(`${SCHEMAS.linkerd}/network-authentication.derived.yaml`, 'v1alpha1'),
      LinkerdAuthorizationPolicy: crdValidator(`${SCHEMAS.linkerd}/authorization-policy.derived.yaml`, 'v1alpha1'),
    };
    const failures: string[] = [];
    let n = 0;
    for (const name of ['untiered', 'tier1', 'tier3', 'mixed'] as const) {
      for (const m of proposals[name].manifests) {
        for (const doc of parseAllDocuments(m.yaml)) {
          const d = doc.toJS() as K8sObject;
          const check = v[(m.target === 'linkerd' && d.kind === 'AuthorizationPolicy' ? 'LinkerdAuthorizationPolicy' : d.kind) as keyof typeof v];
          n++;
          if (!check(d)) failures.push(`${name} ${m.path} ${d.kind}: ${JSON.stringify(check.errors)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(150);
  });
});

describe('tiers: CLI', () => {
  it('policies --tiers writes tiered manifests and prints tiers, friction and coverage; --format json has them per manifest', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'segmap-tiers-')), 'out');
    const r = cli(db, 'policies', '--out', out, '--tiers', join(TIERS, 'mixed.json'), '--target', 'k8s,cilium,istio');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^tier: boutique: tier 3 \(critical, from .*mixed\.json: namespaces\.boutique\); workloads in tier 1\/2\/3: 2\/1\/10$/m);
    expect(r.out).toMatch(/^friction: k8s: 0 observed flows blocked \(0 edges\) of 2,\d{3} replayed$/m);
    expect(r.out).toMatch(/^coverage: boutique: now identity 0% of flows \(0 of 32 edges\), address 0% \(0\), open 100% \(32\); proposal identity [\d.]+% of flows \(30 of 32 edges\), address [\d.]+% \(2\), open 0% \(0\)$/m);
    expect(readFileSync(join(out, 'boutique', 'frontend.k8s.yaml'), 'utf8')).toMatch(/segmap\.io\/tier: "1"/);
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(plan.namespaces[0]).toMatchObject({ namespace: 'boutique', tier: { tier: 3 }, defaultDeny: true, readiness: { ready: true, attributedShare: 1 } });
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toMatch(/## Tiers[\s\S]*## Friction[\s\S]*## Zero-trust coverage/);
    expect(readFileSync(join(out, 'ROLLOUT.md'), 'utf8')).toMatch(/zero-trust coverage: now .*; with the proposal identity/);

    const j = cli(db, 'policies', '--out', out, '--tiers', join(TIERS, 'all-tier1.yaml'), '--format', 'json');
    expect(j.code, j.err).toBe(0);
    const summary = JSON.parse(j.out);
    expect(summary.manifests.find((m: { path: string }) => m.path === 'boutique/frontend.k8s.yaml')).toMatchObject({ tier: 1, friction: { blockedFlows: 0 } });
    expect(summary.coverage[0].namespace).toBe('boutique');
  });

  it('segmap connectivity over the written manifests agrees with the in-process engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'segmap-tiers-'));
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: clusterObjects() }));
    proposals.mixed.manifests.filter((m) => m.target === 'k8s').forEach((m, i) => writeFileSync(join(dir, `np-${i}.yaml`), m.yaml));
    const r = cli(db, 'connectivity', dir, '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(connectivity(proposals.mixed));
  });

  it('a bad tier file is refused with FILE: reason (exit 1); an entry matching nothing is a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'segmap-tiers-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'default: 2\nnamespaces:\n  boutique: 4\n');
    const r = cli(db, 'policies', '--out', join(dir, 'out'), '--tiers', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}: namespaces.boutique: tier must be 1, 2 or 3, got 4`);
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'workloads:\n  boutique/frontnd: 1\n');
    const t = cli(db, 'policies', '--out', join(dir, 'out2'), '--tiers', typo);
    expect(t.code).toBe(0);
    expect(t.err).toContain(`${typo}: workloads.boutique/frontnd: no such workload in the data`);
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'default: 2\nnamespaces: [boutique\n');
    expect(cli(db, 'policies', '--out', join(dir, 'out3'), '--tiers', syntax).err).toMatch(new RegExp(`${syntax.replace(/[.]/g, '\\.')}:\\d+: not YAML or JSON`));
  });
});

describe('tiers: the egress-risk scenario (flow logs and cluster, without the pod-interface capture)', () => {
  const ER = join(ROOT, 'fixtures', 'egress-risk');
  let erDb: string;
  const er: Partial<Record<'untiered' | 'tier1' | 'tier3', Proposal>> = {};
  beforeAll(async () => {
    // The capture sees Service addresses before kube-proxy's DNAT, which the proof cannot evaluate yet; the flow logs
    // carry the outside egress (checkout, exporter, notifier) that tier 3 is about.
    ({ db: erDb } = await ingestAndGraph([join(ER, 'input', 'cluster-t0.json'), join(ER, 'input', 'flows')]));
    const store = SqliteStore.open(erDb);
    try {
      er.untiered = await proposePolicies(store, {});
      er.tier1 = await proposePolicies(store, { tiers: await readTierConfig(join(TIERS, 'all-tier1.yaml')) });
      er.tier3 = await proposePolicies(store, { tiers: await readTierConfig(join(TIERS, 'all-tier3.yaml')) });
    } finally {
      await store.close();
    }
  });
  /** The cluster without the team's own NetworkPolicies: the emitted ones alone decide. */
  const erLines = (p: Proposal) => {
    const list = readJson<{ items: K8sObject[] }>(join(ER, 'input', 'cluster-t0.json'));
    const r = connlistFromObjects([...list.items.filter((o) => CONTROLLERS.has(o.kind)), ...netpols(p)]);
    expect(r.errors).toEqual([]);
    return r.lines;
  };
  const shop = ['api', 'cache', 'checkout', 'exporter', 'inventory', 'metrics-agent', 'notifier', 'reports', 'web'].map((n) => `shop/${n}[Deployment]`);

  it('every tier admits every observed flow', () => {
    for (const p of Object.values(er)) {
      expect(p!.proof.replayedFlows).toBeGreaterThan(400);
      expect(p!.proof.deniedFlows).toBe(0);
    }
  });

  it('tier 3: outside egress is exactly the observed addresses; tier 1: open but for the metadata service and admin ports', () => {
    const three = erLines(er.tier3!);
    expect(reaches(three, 'shop/checkout[Deployment]', '198.51.100.20', 'TCP', 443)).toBe(true);
    expect(reaches(three, 'shop/checkout[Deployment]', '198.51.100.21', 'TCP', 443)).toBe(false);
    expect(reaches(three, 'shop/notifier[Deployment]', '203.0.113.45', 'TCP', 587)).toBe(true);
    expect(reaches(three, 'shop/notifier[Deployment]', '203.0.113.45', 'TCP', 443)).toBe(false);
    expect(reaches(three, 'shop/exporter[Deployment]', '192.0.2.80', 'TCP', 443)).toBe(true);
    expect(reaches(three, 'shop/exporter[Deployment]', '192.0.2.81', 'TCP', 443)).toBe(false);
    for (const w of ['shop/web[Deployment]', 'shop/api[Deployment]', 'shop/reports[Deployment]']) expect(three.some((l) => l.src === w && l.dst.endsWith('[External]')), w).toBe(false);
    expect(er.tier3!.manifests.find((m) => m.path === 'shop/checkout.k8s.yaml')!.yaml).toMatch(/admits only the\n#   1 observed outside address exactly/);

    const one = erLines(er.tier1!);
    for (const w of shop) {
      expect(reaches(one, w, '198.51.100.21', 'TCP', 443), w).toBe(true);
      expect(toAddress(one, w, '169.254.169.254'), w).toBeUndefined();
      expect(reaches(one, w, '198.51.100.21', 'TCP', 6443), w).toBe(false);
    }
  });

  it('the rollout plan puts the riskier namespace first (shop before data), where readiness is equal', () => {
    const plan = er.untiered!.plan.namespaces;
    expect(plan.map((n) => [n.namespace, n.readiness.ready])).toEqual([['shop', true], ['data', true]]);
    expect(plan[0].risk.score).toBeGreaterThan(plan[1].risk.score);
    expect(plan[0].risk.top.length).toBeGreaterThan(0);
  });
});

describe('tiers: labels', () => {
  it('a segmap.io/tier label on the Namespace tiers it; the pod template label of one Deployment overrides it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segmap-tiers-'));
    const list = readJson<{ items: K8sObject[] }>(join(SCENARIO, 'input', 'cluster-t1.json'));
    const items = list.items.map((o) => {
      if (o.kind === 'Namespace' && o.metadata.name === 'boutique') return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [TIER_KEY]: '3' } } };
      if (o.kind === 'Deployment' && o.metadata.name === 'frontend') {
        return { ...o, spec: { ...o.spec, template: { ...o.spec.template, metadata: { ...o.spec.template.metadata, labels: { ...o.spec.template.metadata.labels, [TIER_KEY]: '1' } } } } };
      }
      return o;
    });
    writeFileSync(join(dir, 'cluster-t2.json'), JSON.stringify({ ...list, items }));
    const { db: labelled } = await ingestAndGraph([join(SCENARIO, 'input'), join(dir, 'cluster-t2.json')]);
    const store = SqliteStore.open(labelled);
    try {
      const p = await proposePolicies(store, {});
      const tier = (path: string) => p.manifests.find((m) => m.path === path)?.tier;
      expect(tier('boutique/frontend.k8s.yaml')).toBe(1);
      expect(tier('boutique/cartservice.k8s.yaml')).toBe(3);
      expect(tier('boutique/default-deny.k8s.yaml')).toBe(3);
      expect(p.proof.deniedFlows).toBe(0);
      // The config file wins over both labels.
      const q = await proposePolicies(store, { tiers: { file: 'x.yaml', namespaces: { boutique: 2 }, workloads: {} } });
      expect(q.manifests.find((m) => m.path === 'boutique/frontend.k8s.yaml')?.tier).toBe(2);
      expect(q.manifests.some((m) => m.path === 'boutique/default-deny.k8s.yaml')).toBe(false);
    } finally {
      await store.close();
    }
  });
});
