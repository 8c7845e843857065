/** The "mTLS" section of an output directory's README.md, when Istio or Linkerd manifests were generated. */
import type { Finding } from '../../model/index.js';
import type { IntentSet } from './types.js';
import { BY_ADDRESS, meshPlan, trustDomainOf, type MeshOptions } from './mesh.js';

export function meshReadme(intents: IntentSet, targets: readonly string[], opts: MeshOptions, shared: readonly Finding[], skipped: readonly string[]): string {
  const plans = intents.workloads.map((w) => ({ w, plan: meshPlan(w, opts) }));
  const unnamed = plans.flatMap(({ w, plan }) => plan.unnamed.map((u) => `- ${w.id} ← ${u}`));
  const byAddress = plans.flatMap(({ w, plan }) => plan.byAddress.map((u) => `- ${w.id} ← ${u}`));
  const lines = [
    '## mTLS (Istio / Linkerd)',
    '',
    `Targets: ${targets.filter((t) => t === 'istio' || t === 'linkerd').join(', ')}; trust domain \`${trustDomainOf(opts)}\`.`,
    'Clients are allowed by identity: Istio principals `<trust-domain>/ns/<ns>/sa/<sa>`, Linkerd identities',
    '`<sa>.<ns>.serviceaccount.identity.linkerd.<trust-domain>`, on exactly the ports they were observed using; observed',
    'clients without a mesh identity by their address, on their ports only (the exception below).',
    ...(targets.includes('istio') ? ['', 'Istio: apply each namespace\'s `mtls-permissive.istio.yaml` first, then the workloads\' AuthorizationPolicies,',
      'then the workloads\' own `<workload>.mtls.istio.yaml`, and only when no plaintext client is left but those admitted by address',
      '(their ports stay PERMISSIVE), `mtls-strict.istio.yaml` (same object name: it replaces the permissive one).'] : []),
    ...(targets.includes('istio') && intents.tiered ? [
      'With tiers, only tier-3 namespaces have an `mtls-strict.istio.yaml` (tiers 1 and 2 stay PERMISSIVE); a workload whose tier',
      'wants another mode than its namespace\'s has its own `<workload>.mtls.istio.yaml` (a PeerAuthentication selecting it).'] : []),
    ...(targets.includes('linkerd') ? ['', 'Linkerd: every `Server` denies what its AuthorizationPolicy does not admit; workloads without an observed TCP',
      'caller get no Server (consider the namespace annotation `config.linkerd.io/default-inbound-policy: deny`).'] : []),
    ...(targets.includes('linkerd') && intents.tiered ? linkerdTierLines(intents) : []),
    '',
    `### Exception: ${BY_ADDRESS}`,
    '',
    ...(byAddress.length > 0 ? [
      'These observed clients carry no mesh identity (a load balancer, nodes and host-network pods, the API server), so no',
      'principal can name them. Rather than block them, each is admitted by the source address of its connections, on',
      'exactly the ports it was observed using, and nowhere else:',
      '',
      ...byAddress,
      '',
      ...(targets.includes('istio') ? [
        '- Istio: an ALLOW rule `from: [{source: {ipBlocks: [...]}}]` with `to: [{operation: {ports: [...]}}]` in the workload\'s',
        '  AuthorizationPolicy; where the workload\'s mTLS ends STRICT, its own PeerAuthentication (`<workload>.mtls.istio.yaml`,',
        '  selecting it) sets `portLevelMtls: {<port>: {mode: PERMISSIVE}}` on exactly those ports, since these clients speak',
        '  plaintext. Every other port inherits the namespace\'s mode.',
      ] : []),
      ...(targets.includes('linkerd') ? [
        '- Linkerd: a `NetworkAuthentication` (`spec.networks[].cidr`) with those addresses and an `AuthorizationPolicy`',
        '  (`<server>-by-address`) targeting the port\'s `Server` that requires only it: unauthenticated, from those networks.',
      ] : []),
      '',
      '`ipBlocks` / `networks` match the source address of the connection as the proxy sees it, which is what was observed.',
      'It changes when the path changes: a Service of `externalTrafficPolicy: Cluster` (the default) lets kube-proxy SNAT',
      'outside clients to the address of the node that forwarded them (set `Local`, or a load balancer sending to pod IPs,',
      'to keep the client\'s or the load balancer\'s address); a load balancer re-created with new addresses, or replaced',
      'nodes, need the rule updated. Istio\'s `remoteIpBlocks` (X-Forwarded-For / PROXY protocol) is not used: it names the',
      'original caller, not the connection. Route outside traffic through an ingress gateway to name it by the gateway\'s',
      'identity instead, then delete the exception.',
    ] : ['None.']),
    '',
    '### Observed clients NOT admitted (no mesh identity names them)',
    '',
    ...(unnamed.length > 0 ? unnamed : ['None.']),
    '',
    '### Service accounts shared by workloads with different needs',
    '',
    'Identity-based policy cannot tell these workloads apart: a grant to one is a grant to all (SHARED_SERVICE_ACCOUNT).',
    '',
    ...(shared.length > 0 ? shared.map((f) => `- ${f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}` : ''}: ${((f.evidence.workloads as { id: string }[]) ?? []).map((w) => w.id).join(', ')}`) : ['None.']),
    '',
    ...(skipped.length > 0 ? ['### Not generated', '', 'Istio selectors take labels only; these workloads have no label-only selector:', '', ...skipped.map((s) => `- ${s}`), ''] : []),
  ];
  return lines.join('\n');
}

/** Linkerd has no PeerAuthentication: tier 3's STRICT is the namespace's (or pod template's) default inbound policy. */
function linkerdTierLines(intents: IntentSet): string[] {
  const strict = intents.namespaces.filter((n) => n.tier?.tier === 3).map((n) => n.namespace);
  const workloads = intents.workloads.filter((w) => w.tier?.tier === 3 && !strict.includes(w.namespace)).map((w) => w.id);
  return [
    'With tiers: tiers 1 and 2 keep Linkerd\'s default inbound policy (all-unauthenticated, the PERMISSIVE equivalent). Tier 3 is',
    'STRICT: annotate, then restart the pods (the proxy reads it at start):',
    ...strict.map((ns) => `- \`kubectl annotate namespace ${ns} config.linkerd.io/default-inbound-policy=all-authenticated\``),
    ...workloads.map((id) => `- ${id}: the pod template annotation \`config.linkerd.io/default-inbound-policy: all-authenticated\``),
    ...(strict.length + workloads.length === 0 ? ['- (no tier-3 namespace or workload)'] : []),
  ];
}
