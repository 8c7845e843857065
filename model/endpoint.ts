/** Who is on one end of a flow. Plain data; `endpointId` gives the readable np-guard-style spelling. */

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'Pod', 'ReplicaSet', 'ReplicationController'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type EndpointKind = WorkloadKind | 'Node' | 'Service' | 'External' | 'Unknown';

export interface Endpoint {
  kind: EndpointKind;
  namespace?: string;
  name?: string;
  /** External / Node / unattributed peers: the address seen on the wire. */
  ip?: string;
  /** External peers folded into a network. */
  cidr?: string;
}

export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** `ns/name[Kind]`, `name[Node]`, `1.2.3.4[External]` — stable, readable, sortable. */
export function endpointId(e: Endpoint): string {
  if (isWorkloadKind(e.kind) || e.kind === 'Service') return `${e.namespace ?? ''}/${e.name ?? ''}[${e.kind}]`;
  if (e.kind === 'Node') return `${e.name ?? e.ip ?? ''}[Node]`;
  if (e.kind === 'External') return `${e.cidr ?? e.ip ?? ''}${e.name ? `(${e.name})` : ''}[External]`;
  return `${e.ip ?? ''}[Unknown]`;
}
