/**
 * CiliumNetworkPolicy (cilium.io/v2) from intents. Where Cilium knows more than a NetworkPolicy can say, it is used:
 * DNS names (`toFQDNs`, with the DNS-proxy rule they need), `kube-apiserver`, and `host`/`remote-node` for nodes,
 * whose addresses change when nodes are replaced.
 */
import type { LabelSelector, TierChoice } from '../../model/index.js';
import type { DnsIntent, IntentSet, PeerIntent, PortIntent, RuleIntent, WorkloadIntent } from './types.js';
import { emitPolicy, portsText, provenance, type Emitted } from './yaml.js';
import { METADATA_CIDRS, openPortRanges, tierAnnotations, tierHeader, TIER1_PROTOCOLS } from './tier-rules.js';

const API_VERSION = 'cilium.io/v2';
const KIND = 'CiliumNetworkPolicy';
const NS_LABEL = 'k8s:io.kubernetes.pod.namespace';
/** The CRD allows at most 40 ports per port rule. */
const MAX_PORTS = 40;

type Dir = 'ingress' | 'egress';
const field = (dir: Dir, what: string) => `${dir === 'ingress' ? 'from' : 'to'}${what}`;

/** A Cilium endpoint selector for a peer; without the namespace label Cilium means the policy's own namespace. */
function endpointSelector(namespace: string, selector: LabelSelector, ownNamespace: string): LabelSelector {
  const matchLabels = { ...(selector.matchLabels ?? {}), ...(namespace !== ownNamespace ? { [NS_LABEL]: namespace } : {}) };
  return { ...(Object.keys(matchLabels).length ? { matchLabels } : {}), ...(selector.matchExpressions?.length ? { matchExpressions: selector.matchExpressions } : {}) };
}

function peerFields(peer: PeerIntent, dir: Dir, ownNamespace: string): Record<string, unknown> {
  switch (peer.kind) {
    case 'workload': return { [field(dir, 'Endpoints')]: [endpointSelector(peer.namespace, peer.selector, ownNamespace)] };
    case 'cluster': return { [field(dir, 'Entities')]: ['cluster'] };
    case 'nodes': return { [field(dir, 'Entities')]: ['host', 'remote-node'] };
    case 'apiserver': return { [field(dir, 'Entities')]: ['kube-apiserver'] };
    case 'external':
      if (dir === 'egress' && peer.fqdns.length > 0) {
        return { toFQDNs: peer.fqdns.map((n) => (n.includes('*') ? { matchPattern: n } : { matchName: n })) };
      }
      return peer.except?.length
        ? { [field(dir, 'CIDRSet')]: peer.cidrs.map((cidr) => ({ cidr, except: peer.except })) }
        : { [field(dir, 'CIDR')]: peer.cidrs };
  }
}

function toPorts(ps: readonly PortIntent[]): { ports: { port: string; protocol: string }[] }[] {
  const out = [];
  for (let i = 0; i < ps.length; i += MAX_PORTS) out.push({ ports: ps.slice(i, i + MAX_PORTS).map((p) => ({ port: String(p.port), protocol: p.protocol })) });
  return out;
}

/** DNS through Cilium's DNS proxy: `toFQDNs` only learns names from lookups the proxy sees. */
function dnsRule(dns: DnsIntent, ownNamespace: string): Record<string, unknown> {
  const to = dns.servers.length > 0
    ? { toEndpoints: dns.servers.map((s) => endpointSelector(s.namespace, s.selector, ownNamespace)) }
    : { toEntities: ['cluster'] };
  return { ...to, toPorts: toPorts(dns.ports).map((r) => ({ ...r, rules: { dns: [{ matchPattern: '*' }] } })) };
}

/**
 * Tier 1's "egress open except", as allow rules (the same holes as the NetworkPolicy): every in-cluster entity, and
 * the world except the metadata service (CIDR rules only ever match the world), on every port but the admin ports.
 */
export function ciliumTier1OpenEgress(): Record<string, unknown>[] {
  const ranges = openPortRanges();
  const ports = TIER1_PROTOCOLS.flatMap((protocol) => ranges.map(([lo, hi]) => (lo === hi ? { port: String(lo), protocol } : { port: String(lo), endPort: hi, protocol })));
  const toPortsRanges = [{ ports }];
  return [
    { toEntities: ['cluster'], toPorts: toPortsRanges },
    { toCIDRSet: [{ cidr: '0.0.0.0/0', except: [METADATA_CIDRS.ipv4] }, { cidr: '::/0', except: [METADATA_CIDRS.ipv6] }], toPorts: toPortsRanges },
  ];
}

export function ciliumPolicy(w: WorkloadIntent, name: string, set: Pick<IntentSet, 'dns' | 'window'>): Emitted {
  const rule = (dir: Dir) => (r: RuleIntent) => ({ ...peerFields(r.peer, dir, w.namespace), toPorts: toPorts(r.ports) });
  const spec = {
    endpointSelector: w.selector,
    // An empty rule is how Cilium says "deny all" for a direction.
    ingress: w.ingress.length > 0 ? w.ingress.map(rule('ingress')) : [{}],
    egress: w.egressOpenReason
      ? [{ toEntities: ['all'] }]
      : [...w.egress.map(rule('egress')), dnsRule(set.dns, w.namespace), ...(w.tier?.tier === 1 ? ciliumTier1OpenEgress() : [])],
  };
  const header = [...provenance(KIND, w, set.dns, set.window), ...tierHeader(w.tier, 'cilium', w)];
  return emitPolicy(API_VERSION, KIND, name, w.namespace, spec, header, tierAnnotations(w.tier));
}

export function ciliumDefaultDeny(namespace: string, dns: DnsIntent, tier?: TierChoice): Emitted {
  const spec = { endpointSelector: {}, ingress: [{}], egress: [dnsRule(dns, namespace)] };
  const header = [
    `Default deny for namespace ${namespace} (Cilium), generated by segmap (${tier?.tier === 3 ? `tier 3, from ${tier.source}` : '--default-deny'}). Review before applying.`,
    `DNS stays allowed for every pod, through Cilium's DNS proxy: ${dns.servers.map((s) => s.id).join(', ') || 'the cluster'} on ${portsText(dns.ports)}.`,
  ];
  return emitPolicy(API_VERSION, KIND, 'default-deny', namespace, spec, header, tierAnnotations(tier));
}
