/**
 * Istio and Linkerd output for the Online Boutique scenario: valid against the projects' CRD schemas (../shared);
 * the AuthorizationPolicies, evaluated by principal + port, admit exactly the observed in-cluster edges, and the
 * address exceptions exactly the observed clients without a mesh identity (the NLB calling frontend); evaluated as
 * the meshes decide, nothing observed is blocked, and removing any part of the exception brings the friction back.
 */
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { evaluateMesh } from '../analyzer/friction.js';
import type { IdentityIndex } from '../analyzer/identity.js';
import { parseCidr } from '../analyzer/policy/ipv4.js';
import { endpointId, isWorkloadKind, type Graph, type K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { analyzeGraph, loadIdentity } from '../ui/pipeline.js';
import { proposePolicies, type Proposal } from '../ui/policies.js';
import { hasShared, ingestAndGraph, ROOT } from './helpers/scenario.js';
import { crdValidator } from './helpers/schemas.js';

const SCENARIO = join(ROOT, 'fixtures', 'online-boutique');
const ISTIO = 'schemas/istio/security.istio.io_authorizationpolicies_peerauthentications.derived.yaml';
const LINKERD = 'schemas/linkerd/derived';
/** The NLB's two addresses, calling frontend on 8080: 672 + 677 flows. */
const NLB = ['10.0.0.50', '10.0.100.50'];
const NLB_FLOWS = 1349;
const NLB_EDGES = NLB.map((ip) => `${ip}[External]|boutique/frontend[Deployment]|TCP|8080`);

let proposal: Proposal;
let graph: Graph;
let identity: IdentityIndex;
/** Workload id → service account. */
let accounts: Map<string, string>;

beforeAll(async () => {
  const { db } = await ingestAndGraph([join(SCENARIO, 'input')]);
  const store = SqliteStore.open(db);
  try {
    proposal = await proposePolicies(store, { targets: ['istio', 'linkerd'], istioDryRun: false });
    identity = await loadIdentity(store);
    graph = await analyzeGraph(store, {}, identity);
    accounts = new Map(identity.workloads.map((w) => [endpointId(w.endpoint), w.serviceAccount]));
  } finally {
    await store.close();
  }
});

const objectsOf = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject);
const docs = (target: string): K8sObject[] => proposal.manifests.filter((m) => m.target === target).flatMap((m) => objectsOf(m.yaml));

/** Observed edges into the generated workloads over TCP, from workloads (in-cluster) or from anything else (outside). */
function observedEdges(from: 'workloads' | 'outside'): string[] {
  const scope = new Set(proposal.intents.workloads.map((w) => w.id));
  return [...new Set(graph.edges.filter((e) => e.verdict === 'allowed' && e.protocol === 'TCP' && isWorkloadKind(e.src.kind) === (from === 'workloads') && scope.has(endpointId(e.dst)))
    .map((e) => `${endpointId(e.src)} => ${endpointId(e.dst)} : TCP ${e.port}`))].sort();
}

/** Observed clients that are not workloads, by address: `ip[External]` and the address. */
const outsideClients = () => [...new Set(graph.edges.filter((e) => e.verdict === 'allowed' && !isWorkloadKind(e.src.kind) && e.src.ip).map((e) => `${e.src.ip}`))];
const inBlocks = (ip: string, blocks: readonly string[]) => blocks.some((b) => parseCidr(b)!.contains(parseCidr(ip)!.intervals[0][0]));

/** The workloads a policy's labels select (in its namespace). */
function selected(namespace: string, matchLabels: Record<string, string>): string[] {
  return proposal.intents.workloads.filter((w) => w.namespace === namespace && JSON.stringify(w.selector.matchLabels) === JSON.stringify(matchLabels)).map((w) => w.id);
}

/** Every client workload whose identity a predicate accepts. */
const clientsWith = (ok: (ns: string, sa: string) => boolean) => [...accounts].filter(([id, sa]) => ok(id.split('/')[0], sa)).map(([id]) => id);

/** The target's manifests as the evaluator takes them (path → objects, in path order), optionally edited. */
function meshManifests(target: 'istio' | 'linkerd', edit: (path: string, objects: K8sObject[]) => K8sObject[] = (_p, o) => o): Map<string, K8sObject[]> {
  return new Map(proposal.manifests.filter((m) => m.target === target).map((m) => [m.path, edit(m.path, objectsOf(m.yaml))]));
}
const evaluate = (manifests: Map<string, K8sObject[]>) => evaluateMesh({ edges: graph.edges, workloads: identity.workloads }, manifests);
const total = (manifests: Map<string, K8sObject[]>) => evaluate(new Map([['all', [...manifests.values()].flat()]])).friction.get('all')!;

describe('mTLS: Online Boutique', () => {
  it('writes PeerAuthentications (PERMISSIVE then STRICT, frontend\'s own), one AuthorizationPolicy per workload, Linkerd objects per server', async () => {
    const paths = proposal.manifests.map((m) => m.path);
    expect(paths).toContain('boutique/mtls-permissive.istio.yaml');
    expect(paths).toContain('boutique/mtls-strict.istio.yaml');
    expect(paths).toContain('boutique/frontend.istio.yaml');
    expect(paths).toContain('boutique/frontend.mtls.istio.yaml');
    expect(paths).toContain('boutique/cartservice.linkerd.yaml');
    expect(paths.filter((p) => p.endsWith('.mtls.istio.yaml'))).toEqual(['boutique/frontend.mtls.istio.yaml']); // the only workload with non-mesh clients
    // The NLB's addresses call frontend: no mesh identity, so admitted by address, and marked as the exception it is.
    const yaml = (p: string) => proposal.manifests.find((m) => m.path === p)!.yaml;
    for (const p of ['boutique/frontend.istio.yaml', 'boutique/frontend.mtls.istio.yaml', 'boutique/frontend.linkerd.yaml']) {
      expect(yaml(p), p).toMatch(/EXCEPTION: non-mesh clients admitted by address[\s\S]*10\.0\.0\.50\/32, 10\.0\.100\.50\/32 on TCP 8080/);
    }
    expect(yaml('boutique/mtls-strict.istio.yaml')).toMatch(/EXCEPTION: non-mesh clients admitted by address[\s\S]*boutique\/frontend\[Deployment\]: TCP 8080 \(frontend\.mtls\.istio\.yaml\)/);
    expect(yaml('boutique/cartservice.istio.yaml')).not.toMatch(/EXCEPTION/);
    expect(proposal.readme).toMatch(/### Exception: non-mesh clients admitted by address[\s\S]*boutique\/frontend\[Deployment\] ← 10\.0\.0\.50\/32, 10\.0\.100\.50\/32 on TCP 8080[\s\S]*externalTrafficPolicy/);
    expect(proposal.readme).toMatch(/### Observed clients NOT admitted \(no mesh identity names them\)\n\nNone\./);
  });

  it('Istio AuthorizationPolicies admit exactly the observed in-cluster edges by principal, and the observed outside clients by ipBlocks', async () => {
    const byPrincipal = new Set<string>();
    const byAddress = new Set<string>();
    for (const ap of docs('istio').filter((d) => d.kind === 'AuthorizationPolicy')) {
      expect(ap.spec.action).toBe('ALLOW');
      for (const server of selected(ap.metadata.namespace!, ap.spec.selector.matchLabels)) {
        for (const rule of ap.spec.rules ?? []) {
          expect(rule.from).toHaveLength(1);
          const { principals, ipBlocks, ...rest } = rule.from[0].source;
          expect(rest).toEqual({});
          expect(!principals !== !ipBlocks).toBe(true); // a rule names identities or addresses, never both
          const ports: string[] = rule.to.flatMap((t: any) => t.operation.ports);
          if (principals) for (const c of clientsWith((ns, sa) => principals.includes(`cluster.local/ns/${ns}/sa/${sa}`))) for (const p of ports) byPrincipal.add(`${c} => ${server} : TCP ${p}`);
          if (ipBlocks) for (const ip of outsideClients().filter((a) => inBlocks(a, ipBlocks))) for (const p of ports) byAddress.add(`${ip}[External] => ${server} : TCP ${p}`);
        }
      }
    }
    expect([...byPrincipal].sort()).toEqual(observedEdges('workloads'));
    expect(byPrincipal.size).toBeGreaterThan(10);
    expect([...byAddress].sort()).toEqual(observedEdges('outside'));
    expect([...byAddress].sort()).toEqual(NLB.map((ip) => `${ip}[External] => boutique/frontend[Deployment] : TCP 8080`));
  });

  it('Istio STRICT keeps exactly frontend:8080 PERMISSIVE, in a PeerAuthentication selecting frontend and inheriting the namespace\'s mode', () => {
    const pas = docs('istio').filter((d) => d.kind === 'PeerAuthentication');
    const own = pas.filter((d) => d.spec.selector);
    expect(own.map((d) => d.spec)).toEqual([{ selector: { matchLabels: { app: 'frontend' } }, portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } }]);
    expect(pas.filter((d) => !d.spec.selector).map((d) => d.spec.mtls.mode).sort()).toEqual(['PERMISSIVE', 'STRICT']);
  });

  it('Linkerd Servers admit exactly the observed in-cluster edges by identity (MeshTLSAuthentication) and the outside clients by network (NetworkAuthentication)', async () => {
    const all = docs('linkerd');
    const byName = (kind: string, ns: string, name: string) => all.find((d) => d.kind === kind && d.metadata.namespace === ns && d.metadata.name === name);
    const byIdentity = new Set<string>();
    const byNetwork = new Set<string>();
    for (const az of all.filter((d) => d.kind === 'AuthorizationPolicy')) {
      const ns = az.metadata.namespace!;
      const server = byName('Server', ns, az.spec.targetRef.name)!;
      expect(server.spec.accessPolicy).toBe('deny');
      expect(az.spec.requiredAuthenticationRefs).toHaveLength(1); // one authentication each: identities, or networks
      const [ref] = az.spec.requiredAuthenticationRefs;
      const authn = byName(ref.kind, ns, ref.name)!;
      for (const s of selected(ns, server.spec.podSelector.matchLabels)) {
        // A named port is the one the server's pods all name so.
        const port = typeof server.spec.port === 'number' ? server.spec.port
          : proposal.intents.workloads.find((w) => w.id === s)!.ingress.flatMap((r) => r.ports).find((p) => p.name === server.spec.port)!.port;
        if (ref.kind === 'MeshTLSAuthentication') {
          for (const c of clientsWith((cns, sa) => authn.spec.identities.includes(`${sa}.${cns}.serviceaccount.identity.linkerd.cluster.local`))) byIdentity.add(`${c} => ${s} : TCP ${port}`);
        } else {
          expect(ref.kind).toBe('NetworkAuthentication');
          const cidrs: string[] = authn.spec.networks.map((n: { cidr: string }) => n.cidr);
          for (const ip of outsideClients().filter((a) => inBlocks(a, cidrs))) byNetwork.add(`${ip}[External] => ${s} : TCP ${port}`);
        }
      }
    }
    expect([...byIdentity].sort()).toEqual(observedEdges('workloads'));
    expect([...byNetwork].sort()).toEqual(observedEdges('outside'));
  });
});

describe('mTLS friction on Online Boutique: evaluated as the meshes decide', () => {
  it('the proposal blocks no observed flow, for either mesh and for any manifest', () => {
    for (const target of ['istio', 'linkerd'] as const) {
      const f = proposal.friction.find((x) => x.target === target)!.friction!;
      expect(f, target).toEqual({ replayedFlows: 2342, blockedFlows: 0, blockedEdges: 0 });
      for (const m of proposal.manifests.filter((x) => x.target === target)) expect(m.friction?.blockedFlows, m.path).toBe(0);
      expect(total(meshManifests(target)), target).toEqual(f);
    }
  });

  it('the NLB → frontend edges are admitted by address (coverage), every other observed TCP edge by identity', () => {
    for (const target of ['istio', 'linkerd'] as const) {
      const r = evaluate(meshManifests(target));
      expect([...r.admittedByAddress].sort(), target).toEqual(NLB_EDGES);
      expect(NLB_EDGES.some((k) => r.admitted.has(k)), target).toBe(false);
      expect(r.admitted.size, target).toBe(observedEdges('workloads').length);
    }
    const [c] = proposal.coverage;
    expect(c.after.edges).toMatchObject({ address: 2, blocked: 0 });
    expect(c.after.flows.address).toBe(NLB_FLOWS);
  });

  it('Istio: remove the ipBlocks rule, or frontend\'s portLevelMtls, and the NLB\'s flows are blocked again, charged to the manifest that refuses them', () => {
    const noIpBlocks = meshManifests('istio', (p, os) => (p !== 'boutique/frontend.istio.yaml' ? os
      : os.map((o) => ({ ...o, spec: { ...o.spec, rules: o.spec.rules.filter((r: any) => !r.from[0].source.ipBlocks) } }))));
    expect(total(noIpBlocks)).toEqual({ replayedFlows: 2342, blockedFlows: NLB_FLOWS, blockedEdges: 2 });
    expect(evaluate(noIpBlocks).friction.get('boutique/frontend.istio.yaml')).toMatchObject({ blockedFlows: NLB_FLOWS, blockedEdges: 2 });
    expect(evaluate(noIpBlocks).friction.get('boutique/mtls-strict.istio.yaml')).toMatchObject({ blockedFlows: 0 });

    const noPortLevel = meshManifests('istio', (p, os) => (p === 'boutique/frontend.mtls.istio.yaml' ? [] : os));
    expect(total(noPortLevel)).toEqual({ replayedFlows: 2342, blockedFlows: NLB_FLOWS, blockedEdges: 2 });
    expect(evaluate(noPortLevel).friction.get('boutique/mtls-strict.istio.yaml')).toMatchObject({ blockedFlows: NLB_FLOWS, blockedEdges: 2 });
    // At step 1 (PERMISSIVE, before the STRICT file replaces it) the ipBlocks rule alone admits them.
    const step1 = meshManifests('istio', (p, os) => (p === 'boutique/frontend.mtls.istio.yaml' || p === 'boutique/mtls-strict.istio.yaml' ? [] : os));
    expect(total(step1).blockedFlows).toBe(0);
    // A narrower edit: the NLB's first address only.
    const oneAddress = meshManifests('istio', (p, os) => (p !== 'boutique/frontend.istio.yaml' ? os
      : os.map((o) => ({ ...o, spec: { ...o.spec, rules: o.spec.rules.map((r: any) => (r.from[0].source.ipBlocks ? { ...r, from: [{ source: { ipBlocks: ['10.0.0.50/32'] } }] } : r)) } }))));
    expect(total(oneAddress)).toMatchObject({ blockedFlows: 677, blockedEdges: 1 });
  });

  it('Linkerd: remove the NetworkAuthentication or its AuthorizationPolicy, and the NLB\'s flows are blocked again, charged to frontend\'s Server', () => {
    for (const kind of ['NetworkAuthentication', 'AuthorizationPolicy']) {
      const edited = meshManifests('linkerd', (p, os) => (p !== 'boutique/frontend.linkerd.yaml' ? os : os.filter((o) => !(o.kind === kind && o.metadata.name.endsWith('-by-address')))));
      expect(total(edited), kind).toEqual({ replayedFlows: 2342, blockedFlows: NLB_FLOWS, blockedEdges: 2 });
      expect(evaluate(edited).friction.get('boutique/frontend.linkerd.yaml'), kind).toMatchObject({ blockedFlows: NLB_FLOWS, blockedEdges: 2 });
    }
  });
});

describe.skipIf(!hasShared(ISTIO) || !hasShared(LINKERD))('mTLS: manifests validate against the Istio and Linkerd CRD schemas (../shared)', () => {
  let v: Record<string, ValidateFunction>;
  beforeAll(async () => {
    v = {
      AuthorizationPolicy: crdValidator(ISTIO, 'v1', 'authorizationpolicies.security.istio.io'),
      PeerAuthentication: crdValidator(ISTIO, 'v1', 'peerauthentications.security.istio.io'),
      Server: crdValidator(`${LINKERD}/server.derived.yaml`, 'v1beta3'),
      MeshTLSAuthentication: crdValidator(`${LINKERD}/meshtls-authentication.derived.yaml`, 'v1alpha1'),
      NetworkAuthentication: crdValidator(`${LINKERD}/network-authentication.derived.yaml`, 'v1alpha1'),
      LinkerdAuthorizationPolicy: crdValidator(`${LINKERD}/authorization-policy.derived.yaml`, 'v1alpha1'),
    };
  });

  it('every Istio and Linkerd object validates', async () => {
    const failures: string[] = [];
    const kinds = new Set<string>();
    let n = 0;
    for (const target of ['istio', 'linkerd']) {
      for (const d of docs(target)) {
        const check = v[target === 'linkerd' && d.kind === 'AuthorizationPolicy' ? 'LinkerdAuthorizationPolicy' : d.kind];
        n++;
        kinds.add(`${target} ${d.kind}`);
        if (!check(d)) failures.push(`${target} ${d.kind} ${d.metadata.name}: ${JSON.stringify(check.errors)}`);
        failures.push(...celRules(d).map((e) => `${target} ${d.kind} ${d.metadata.name}: ${e}`));
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(30);
    expect([...kinds].sort()).toEqual(['istio AuthorizationPolicy', 'istio PeerAuthentication', 'linkerd AuthorizationPolicy', 'linkerd MeshTLSAuthentication', 'linkerd NetworkAuthentication', 'linkerd Server']);
  });

  it('the validators can fail', async () => {
    expect(v.AuthorizationPolicy({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'x' }, spec: { action: 'PERMIT' } })).toBe(false);
    expect(v.Server({ apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', metadata: { name: 'x' }, spec: { podSelector: {} } })).toBe(false);
    expect(v.NetworkAuthentication({ apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'NetworkAuthentication', metadata: { name: 'x' }, spec: { networks: [{ cidrs: '10.0.0.50/32' }] } })).toBe(false);
    expect(v.PeerAuthentication({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'x' }, spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 8080: 'PERMISSIVE' } } })).toBe(false);
    expect(celRules({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'x' }, spec: { portLevelMtls: { 0: { mode: 'PERMISSIVE' } } } })).toHaveLength(2);
  });
});

/**
 * The CRDs' `x-kubernetes-validations` (CEL) that JSON Schema cannot check, for the fields segmap writes: Istio's
 * `portLevelMtls requires selector` and `port must be between 1-65535`, `Cannot set serviceAccounts with namespaces or
 * principals`; and that every address block is a CIDR.
 */
function celRules(d: K8sObject): string[] {
  const out: string[] = [];
  if (d.kind === 'PeerAuthentication' && d.spec.portLevelMtls) {
    if (Object.keys(d.spec.selector?.matchLabels ?? {}).length === 0) out.push('portLevelMtls requires selector');
    for (const k of Object.keys(d.spec.portLevelMtls)) if (!/^\d+$/.test(k) || Number(k) < 1 || Number(k) > 65535) out.push(`port must be between 1-65535: ${k}`);
  }
  if (d.kind === 'AuthorizationPolicy' && d.apiVersion.startsWith('security.istio.io')) {
    for (const r of d.spec.rules ?? []) {
      for (const f of r.from ?? []) {
        const s = f.source ?? {};
        if ((s.serviceAccounts || s.notServiceAccounts) && (s.principals || s.notPrincipals || s.namespaces || s.notNamespaces)) out.push('Cannot set serviceAccounts with namespaces or principals');
        for (const b of [...(s.ipBlocks ?? []), ...(s.notIpBlocks ?? [])]) if (!parseCidr(b)) out.push(`not a CIDR: ${b}`);
      }
      for (const t of r.to ?? []) for (const p of t.operation?.ports ?? []) if (!/^\d+$/.test(p)) out.push(`not a port: ${p}`);
    }
  }
  if (d.kind === 'NetworkAuthentication') for (const n of d.spec.networks) for (const b of [n.cidr, ...(n.except ?? [])]) if (!parseCidr(b)) out.push(`not a CIDR: ${b}`);
  return out;
}
