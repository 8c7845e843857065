import type { ContainerPort, LabelSelector } from '../../model/index.js';
import type { IntervalSet } from './intervals.js';
import type { Protocol } from './connections.js';

/** A pod as the evaluator sees it: enough to match selectors and resolve named ports. */
export interface PodPeer {
  kind: 'pod';
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  namespaceLabels: Readonly<Record<string, string>>;
  containerPorts: readonly ContainerPort[];
  ip?: string;
  nodeLabels?: Readonly<Record<string, string>>;
}

/** Addresses outside the cluster: one IP or a range (the disjoint blocks connlist prints). */
export interface ExternalPeer {
  kind: 'external';
  addresses: IntervalSet;
}

export type Peer = PodPeer | ExternalPeer;

export type Direction = 'ingress' | 'egress';

// ---- NetworkPolicy (networking.k8s.io/v1), normalised ----

export interface NpPort {
  protocol: Protocol;
  /** Undefined: every port of the protocol. A string is a named port, resolved on the destination pod. */
  port?: number | string;
  endPort?: number;
}

export interface NpPeerSelector {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IntervalSet;
}

export interface NpRule {
  /** Empty: every peer (the field was missing or empty). */
  peers: NpPeerSelector[];
  /** Empty: every port and protocol. */
  ports: NpPort[];
}

export interface NetworkPolicyDef {
  kind: 'NetworkPolicy';
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** After policyTypes defaulting: Ingress always unless listed otherwise; Egress only with egress rules. */
  affects: Readonly<Record<Direction, boolean>>;
  ingress: NpRule[];
  egress: NpRule[];
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), normalised ----

export type AdminAction = 'Allow' | 'Deny' | 'Pass';

export type AdminPeerSelector =
  | { namespaces: LabelSelector }
  | { pods: { namespaceSelector: LabelSelector; podSelector: LabelSelector } }
  | { nodes: LabelSelector }
  | { networks: IntervalSet };

export type AdminPort =
  | { protocol: Protocol; port: number }
  | { namedPort: string }
  | { protocol: Protocol; start: number; end: number };

export interface AdminRule {
  name: string;
  action: AdminAction;
  peers: AdminPeerSelector[];
  /** Undefined: every port. An empty list matches nothing. */
  ports?: AdminPort[];
}

export interface AdminPolicyDef {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** ANP only; lower numbers win. */
  priority: number;
  subject: { namespaces: LabelSelector } | { pods: { namespaceSelector: LabelSelector; podSelector: LabelSelector } };
  ingress: AdminRule[];
  egress: AdminRule[];
}

export interface PolicySet {
  networkPolicies: NetworkPolicyDef[];
  adminPolicies: AdminPolicyDef[];
  baseline?: AdminPolicyDef;
}

// ---- decisions for one connection ----

import type { DecidedBy } from '../../model/index.js';
export type { DecidedBy, PolicyKind } from '../../model/index.js';

export interface DirectionDecision {
  allowed: boolean;
  decidedBy: DecidedBy;
}

export interface Decision {
  allowed: boolean;
  /** The direction that denied, or the ingress decision when both allow. */
  decidedBy: DecidedBy;
  egress: DirectionDecision;
  ingress: DirectionDecision;
}
