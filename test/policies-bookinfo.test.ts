import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { connlistFromObjects } from '../analyzer/policy/connlist.js';
import { endpointId, type Finding, type K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { analyzeFindings, loadIdentity } from '../ui/pipeline.js';
import { proposePolicies, type Proposal } from '../ui/policies.js';
import { hasShared, SHARED, tempDb } from './helpers/scenario.js';
import { crdValidator } from './helpers/schemas.js';
import type { ValidateFunction } from 'ajv';

const HUBBLE = 'cilium-hubble-otel-flows';
const MANIFESTS = 'istio-bookinfo/samples/bookinfo/platform/kube/bookinfo.yaml';
const ISTIO_SCHEMA = 'schemas/istio/security.istio.io_authorizationpolicies_peerauthentications.derived.yaml';
const LINKERD_SCHEMAS = 'schemas/linkerd/derived';

/** The app's documented edges (istio-bookinfo/expected-graph.md) plus the load generator seen in the Hubble capture. */
const EXPECTED = [
  'bookinfo/productpage-v1[Deployment] => bookinfo/details-v1[Deployment] : TCP 9080',
  'bookinfo/productpage-v1[Deployment] => bookinfo/reviews-v1[Deployment] : TCP 9080',
  'bookinfo/productpage-v1[Deployment] => bookinfo/reviews-v2[Deployment] : TCP 9080',
  'bookinfo/productpage-v1[Deployment] => bookinfo/reviews-v3[Deployment] : TCP 9080',
  'bookinfo/ratings-v1[Deployment] => bookinfo/productpage-v1[Deployment] : TCP 9080',
  'bookinfo/reviews-v2[Deployment] => bookinfo/ratings-v1[Deployment] : TCP 9080',
  'bookinfo/reviews-v3[Deployment] => bookinfo/ratings-v1[Deployment] : TCP 9080',
];

describe.skipIf(!hasShared(HUBBLE) || !hasShared(MANIFESTS))('policies for Bookinfo from real Hubble flows (../shared)', () => {
  let proposal: Proposal;
  let manifests: K8sObject[];
  let accounts: Map<string, string>;
  let findings: Finding[];

  beforeAll(async () => {
    const store = SqliteStore.open(tempDb('bookinfo'));
    try {
      await ingestPaths(store, [join(SHARED, HUBBLE)]);
      // The app's manifests name no namespace: placed where the capture ran them, as `kubectl apply -n bookinfo` would.
      await ingestPaths(store, [join(SHARED, MANIFESTS)], { namespace: 'bookinfo' });
      proposal = await proposePolicies(store, { namespace: 'bookinfo', defaultDeny: true, targets: ['k8s', 'istio', 'linkerd'], istioDryRun: false });
      accounts = new Map((await loadIdentity(store)).workloads.map((w) => [endpointId(w.endpoint), w.serviceAccount]));
      findings = (await analyzeFindings(store)).findings;
    } finally {
      await store.close();
    }
    manifests = parseAllDocuments(readFileSync(join(SHARED, MANIFESTS), 'utf8')).map((d) => d.toJS() as K8sObject).filter(Boolean)
      .map((o) => (o.metadata.namespace ? o : { ...o, metadata: { ...o.metadata, namespace: 'bookinfo' } }));
  });

  it('proves the proposal against every flow it can evaluate', async () => {
    expect(proposal.proof.deniedFlows).toBe(0);
    expect(proposal.proof.replayedFlows).toBeGreaterThan(1000);
    // Flows to peers the capture names but no manifest describes (kube-system DNS, istio-system) cannot be evaluated.
    expect(proposal.proof.unknown.every((e) => e.src.namespace !== 'bookinfo' || e.dst.namespace !== 'bookinfo')).toBe(true);
  });

  it('admits the documented edges and the load generator, and nothing else of the app', async () => {
    const generated = proposal.manifests.filter((m) => m.target === 'k8s').map((m) => parse(m.yaml) as K8sObject);
    const { lines } = connlistFromObjects([...manifests, ...generated]);
    const app = lines.filter((l) => l.src.startsWith('bookinfo/') && l.dst.startsWith('bookinfo/')).map((l) => `${l.src} => ${l.dst} : ${l.conn}`).sort();
    expect(app).toEqual(EXPECTED);
  });

  it('Istio AuthorizationPolicies admit the same edges by principal, plus what a shared service account cannot separate (reported)', async () => {
    // reviews-v1/v2/v3 all run as bookinfo-reviews: a grant to v2 and v3 (which call ratings) is a grant to v1 too.
    const admitted = new Set<string>();
    const docs = proposal.manifests.filter((m) => m.target === 'istio').flatMap((m) => parseAllDocuments(m.yaml).map((d) => d.toJS() as K8sObject));
    for (const ap of docs.filter((d) => d.kind === 'AuthorizationPolicy')) {
      const servers = proposal.intents.workloads.filter((w) => w.namespace === ap.metadata.namespace
        && JSON.stringify(w.selector.matchLabels) === JSON.stringify(ap.spec.selector.matchLabels)).map((w) => w.id);
      for (const server of servers) for (const rule of ap.spec.rules ?? []) {
        const principals: string[] = rule.from.flatMap((f: { source: { principals: string[] } }) => f.source.principals);
        const ports: string[] = rule.to.flatMap((t: { operation: { ports: string[] } }) => t.operation.ports);
        for (const [client, sa] of accounts) {
          if (principals.includes(`cluster.local/ns/${client.split('/')[0]}/sa/${sa}`)) for (const port of ports) admitted.add(`${client} => ${server} : TCP ${port}`);
        }
      }
    }
    const app = [...admitted].filter((e) => e.startsWith('bookinfo/')).sort();
    expect(app).toEqual([...EXPECTED, 'bookinfo/reviews-v1[Deployment] => bookinfo/ratings-v1[Deployment] : TCP 9080'].sort());
    expect(findings.some((f) => f.id === 'SHARED_SERVICE_ACCOUNT' && f.subject.kind === 'ServiceAccount' && f.subject.name === 'bookinfo-reviews')).toBe(true);
  });

  it('blocks no observed flow for any target: node-originated flows are admitted by their observed address', async () => {
    for (const t of proposal.friction) {
      if (t.friction === null) continue; // Cilium: not replayed
      expect(t.friction.blockedFlows, t.target).toBe(0);
      expect(t.friction.replayedFlows, t.target).toBeGreaterThan(0);
    }
    expect(proposal.friction.filter((t) => t.friction !== null).map((t) => t.target).sort()).toEqual(['istio', 'k8s', 'linkerd']);
  });

  it.skipIf(!hasShared(ISTIO_SCHEMA) || !hasShared(LINKERD_SCHEMAS))('every Istio and Linkerd object for Bookinfo validates against the CRD schemas', () => {
    const v: Record<string, ValidateFunction> = {
      AuthorizationPolicy: crdValidator(ISTIO_SCHEMA, 'v1', 'authorizationpolicies.security.istio.io'),
      PeerAuthentication: crdValidator(ISTIO_SCHEMA, 'v1', 'peerauthentications.security.istio.io'),
      Server: crdValidator(`${LINKERD_SCHEMAS}/server.derived.yaml`, 'v1beta3'),
      MeshTLSAuthentication: crdValidator(`${LINKERD_SCHEMAS}/meshtls-authentication.derived.yaml`, 'v1alpha1'),
      NetworkAuthentication: crdValidator(`${LINKERD_SCHEMAS}/network-authentication.derived.yaml`, 'v1alpha1'),
      LinkerdAuthorizationPolicy: crdValidator(`${LINKERD_SCHEMAS}/authorization-policy.derived.yaml`, 'v1alpha1'),
    };
    const failures: string[] = [];
    let n = 0;
    for (const m of proposal.manifests.filter((x) => x.target === 'istio' || x.target === 'linkerd')) {
      for (const d of parseAllDocuments(m.yaml).map((x) => x.toJS() as K8sObject)) {
        const check = v[m.target === 'linkerd' && d.kind === 'AuthorizationPolicy' ? 'LinkerdAuthorizationPolicy' : d.kind];
        n++;
        if (!check || !check(d)) failures.push(`${m.path} ${d.kind}: ${JSON.stringify(check?.errors ?? 'no schema')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(10);
  });
});
