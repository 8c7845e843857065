/**
 * How each tier is written, shared by the emitters. NetworkPolicy cannot deny, so "egress open except the metadata
 * service and admin ports" (tier 1) is an allow rule over everything else: every pod (`namespaceSelector: {}`) and
 * every address except the metadata service (`ipBlock` 0.0.0.0/0 and ::/0 with `except`), on every port except the
 * admin ports (the complement written as `port`/`endPort` ranges, for TCP, UDP and SCTP). Rules naming observed peers
 * stay in front of it, so observed traffic keeps its own evidence (and still passes if it used an admin port).
 */
import { TIER_KEY, type Tier, type TierChoice, type WorkloadIntent } from '../../model/index.js';

/** The cloud instance metadata service (AWS, GCP, Azure, OpenStack; AWS's IPv6 address). */
export const METADATA_CIDRS = { ipv4: '169.254.169.254/32', ipv6: 'fd00:ec2::254/128' } as const;
/** Admin ports a tier-1 workload may not reach unless observed: SSH, etcd, RDP, kube-apiserver, kubelet. */
export const CLOSED_ADMIN_PORTS: readonly number[] = [22, 2379, 2380, 3389, 6443, 10250];
export const TIER1_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** 1..65535 minus the admin ports, as inclusive ranges. */
export function openPortRanges(closed: readonly number[] = CLOSED_ADMIN_PORTS): [number, number][] {
  const out: [number, number][] = [];
  let lo = 1;
  for (const p of [...new Set(closed)].sort((a, b) => a - b)) {
    if (p > lo) out.push([lo, p - 1]);
    lo = Math.max(lo, p + 1);
  }
  if (lo <= 65535) out.push([lo, 65535]);
  return out;
}

/** `1-21, 23-2378, …` */
export const rangesText = (rs: readonly [number, number][]) => rs.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');

export const TIER_NAMES: Readonly<Record<Tier, string>> = { 1: 'internal', 2: 'sensitive', 3: 'critical' };

/** The annotation every tiered manifest carries; none when untiered (the output is then what it was before tiers). */
export function tierAnnotations(t: TierChoice | undefined): Record<string, string> | undefined {
  return t ? { [TIER_KEY]: String(t.tier) } : undefined;
}

const closedText = () => `TCP/UDP/SCTP ${CLOSED_ADMIN_PORTS.join(', ')}`;

/** Comment lines that say what the tier means for this manifest. */
export function tierHeader(t: TierChoice | undefined, target: 'k8s' | 'cilium' | 'istio' | 'linkerd', w?: WorkloadIntent): string[] {
  if (!t) return [];
  const head = `tier ${t.tier} (${TIER_NAMES[t.tier]}), from ${t.source}:`;
  const externals = w?.egress.filter((r) => r.peer.kind === 'external') ?? [];
  switch (target) {
    case 'k8s':
    case 'cilium': {
      if (t.tier === 1) {
        return [
          `${head} ingress least privilege; egress open to every pod and address except the cloud metadata service`,
          `  (${METADATA_CIDRS.ipv4}, ${METADATA_CIDRS.ipv6}) on every port except the admin ports ${closedText()}`,
          `  (written as the allowed ranges ${rangesText(openPortRanges())}, the last egress rule). The observed rules still admit what was seen.`,
        ];
      }
      if (t.tier === 2) return [`${head} ingress and egress least privilege (exactly the observed peers and ports).`];
      const addresses = externals.flatMap((r) => (r.peer.kind === 'external' ? r.peer.cidrs : []));
      const named = externals.filter((r) => r.peer.kind === 'external' && r.peer.fqdns.length > 0);
      const unnamed = externals.filter((r) => r.peer.kind === 'external' && r.peer.fqdns.length === 0);
      return [
        `${head} default deny (the namespace's default-deny where the namespace is tier 3, and this policy for this workload);`,
        ...(target === 'k8s'
          ? [
            '  outside egress is meant to go by DNS name only, which NetworkPolicy cannot express: this policy admits only the',
            `  ${addresses.length} observed outside address${addresses.length === 1 ? '' : 'es'} exactly (no wider block)${named.length ? ', and names behind them may move: the CiliumNetworkPolicy follows the names (toFQDNs)' : ''}.`,
          ]
          : [
            `  outside egress by DNS name (toFQDNs) for ${named.length} destination group${named.length === 1 ? '' : 's'}${unnamed.length ? `; ${unnamed.length} group${unnamed.length === 1 ? '' : 's'} observed without any DNS name (hard-coded addresses) admitted by exact address only: give them a name, or remove them` : ''}.`,
          ]),
      ];
    }
    case 'istio':
      return [`${head} mTLS ${t.tier === 3 ? 'STRICT' : 'PERMISSIVE'} for this workload's namespace or its own PeerAuthentication; clients admitted by principal (clients without a mesh identity by address, see EXCEPTION).`];
    case 'linkerd':
      return t.tier === 3
        ? [`${head} STRICT: annotate the namespace (or the workload's pod template) config.linkerd.io/default-inbound-policy=all-authenticated`,
          '  and restart its pods: ports without a Server then refuse clients without a mesh identity too.']
        : [`${head} PERMISSIVE: Linkerd's default inbound policy (all-unauthenticated) stays; only the ports below are restricted (to mesh identities, and to the addresses of any EXCEPTION).`];
  }
}
