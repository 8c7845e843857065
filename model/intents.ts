/**
 * The intent vocabulary: least-privilege intents derived from the observed graph (analyzer/intents.ts produces them,
 * the emitters in analyzer/emit/ turn them into manifests).
 */
import type { LabelSelector } from './k8s.js';

export type IntentProtocol = 'TCP' | 'UDP' | 'SCTP';

/**
 * Graduated trust (analyzer/tiers.ts): 1 internal (low friction), 2 sensitive, 3 critical. The same key is the label
 * that assigns a tier (on a Namespace, a workload or its pod template) and the annotation every tiered manifest carries.
 */
export type Tier = 1 | 2 | 3;
export const TIER_KEY = 'segmap.io/tier';

/** A tier and where it came from (`config workload`, `config namespace`, `workload label`, `namespace label`, `default`...). */
export interface TierChoice { tier: Tier; source: string }

export interface PortIntent { protocol: IntentProtocol; port: number; name?: string }

/** Why a rule exists: the observed traffic behind it. Times are ISO 8601. */
export interface Evidence { flows: number; firstSeen: string; lastSeen: string; sources: string[] }

/** Who is on the other end of a rule. `id` is the readable spelling used in provenance comments. */
export type PeerIntent =
  | { kind: 'workload'; id: string; namespace: string; selector: LabelSelector }
  /** Every pod of every namespace (DNS servers must answer pods that were never observed). */
  | { kind: 'cluster'; id: string }
  /** Outside addresses; `fqdns` when a DNS name is known for them (Cilium can then follow the name). */
  | { kind: 'external'; id: string; cidrs: string[]; except?: string[]; fqdns: string[] }
  /** Node addresses: host-network pods, kubelet, SNAT'd traffic. */
  | { kind: 'nodes'; id: string; cidrs: string[] }
  | { kind: 'apiserver'; id: string; cidrs: string[] };

export interface RuleIntent { peer: PeerIntent; ports: PortIntent[]; evidence: Evidence }

/** The cluster's DNS servers as the snapshot labels them, and the ports their pods listen on. */
export interface DnsIntent {
  servers: { id: string; namespace: string; selector: LabelSelector }[];
  ports: PortIntent[];
  /** How they were found: the kube-dns Service, observed UDP/53 servers, or not at all (then any pod on 53). */
  foundBy: 'service' | 'observed' | 'none';
}

export interface WorkloadIntent {
  /** `ns/name[Kind]`. */
  id: string;
  namespace: string;
  name: string;
  kind: string;
  selector: LabelSelector;
  ingress: RuleIntent[];
  egress: RuleIntent[];
  /** Observed DNS lookups (covered by the DNS rule every workload gets). */
  dnsEvidence?: Evidence;
  /** Egress left open, and why (a DNS server's upstream resolvers never show in flow logs). */
  egressOpenReason?: string;
  /** All traffic behind this workload's rules. */
  evidence: Evidence;
  /** Its tier when tiers are in use; undefined: untiered (least privilege both ways, as without tiers). */
  tier?: TierChoice;
}

export interface CronJobFact { id: string; schedule: string; timeZone?: string; observed: boolean }

/** Per namespace: what the plan needs to judge how far the observation can be trusted. */
export interface NamespaceFacts {
  namespace: string;
  workloads: string[];
  /** In scope but no observed traffic: no policy generated (default-deny would cut them off). */
  idle: string[];
  /** Host-network pods: NetworkPolicy does not apply to them. */
  hostNetwork: string[];
  /** No stable label to select on: no policy generated. */
  unselectable: string[];
  cronJobs: CronJobFact[];
  /** Observed edges with an `Unknown` end touching this namespace: reported, never guessed. */
  unknownPeers: { edge: string; flows: number }[];
  /** Node addresses seen as clients: could be SNAT'd pods. */
  nodeClients: string[];
  /** Workload pairs sharing a node with no observed edge between them (invisible to VPC flow logs). */
  sameNodePairs: number;
  /** Observed server ports in the ephemeral range that the server does not declare. */
  suspectPorts: string[];
  /** The namespace's own tier (namespace-wide objects: default-deny, mTLS mode), when tiers are in use. */
  tier?: TierChoice;
}

export interface IntentSet {
  window: { since: string | null; until: string | null };
  dns: DnsIntent;
  workloads: WorkloadIntent[];
  namespaces: NamespaceFacts[];
  /** Namespaces with workloads that were left out, and why. */
  skippedNamespaces: { namespace: string; reason: string }[];
  /** Whether the sources cannot see same-node traffic (VPC flow logs). */
  sameNodeBlind: boolean;
  /** Tiers are in use (a tier config file or any `segmap.io/tier` label): every workload and namespace has one. */
  tiered?: boolean;
}
