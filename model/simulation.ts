import type { Endpoint } from './endpoint.js';

/** The policy and rule that decided one connection (`simulate`, `--explain`, the proof of generated policies). */
export type PolicyKind = 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'None';

export interface DecidedBy {
  kind: PolicyKind;
  namespace?: string;
  /** Empty when no policy selects the pod on that direction. */
  name: string;
  direction: 'ingress' | 'egress';
  /** 0-based rule index in the policy's ingress/egress list, or why no rule decided. */
  rule: number | 'default-deny' | 'no policy selects';
  /** ANP/BANP rule name, when the rule has one. */
  ruleName?: string;
}

/** Observed allowed traffic that replayed policies would drop, per edge as in `graph`. */
export interface DeniedEdge {
  src: Endpoint;
  dst: Endpoint;
  protocol: string;
  port: number;
  flows: number;
  firstSeen: string;
  lastSeen: string;
  decidedBy: DecidedBy;
}
