import type { Endpoint, K8sObject } from '../model/index.js';

/** Addresses and node names that are the API server: the `default/kubernetes` Service, its endpoints, nodes holding them. */
export function apiServerEnds(current: readonly K8sObject[]): { ips: Set<string>; nodes: Set<string> } {
  const ips = new Set<string>();
  for (const o of current) {
    const isApi = o.metadata.namespace === 'default' && (o.metadata.name === 'kubernetes' || o.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes');
    if (!isApi) continue;
    if (o.kind === 'EndpointSlice') for (const ep of (o as any).endpoints ?? []) for (const a of ep.addresses ?? []) ips.add(a);
    if (o.kind === 'Endpoints') for (const s of (o as any).subsets ?? []) for (const a of s.addresses ?? []) if (a.ip) ips.add(a.ip);
    if (o.kind === 'Service') for (const ip of o.spec?.clusterIPs ?? [o.spec?.clusterIP]) if (typeof ip === 'string' && ip !== 'None') ips.add(ip);
  }
  const nodes = new Set<string>();
  for (const o of current) if (o.kind === 'Node' && (o.status?.addresses ?? []).some((a: { address: string }) => ips.has(a.address))) nodes.add(o.metadata.name);
  return { ips, nodes };
}

/** Whether an edge's end is the API server (as `apiServerEnds` found it). */
export function isApiServerEnd(e: Endpoint, api: { ips: Set<string>; nodes: Set<string> }): boolean {
  if (e.kind === 'Service') return e.namespace === 'default' && e.name === 'kubernetes';
  if (e.kind === 'Node') return (!!e.name && api.nodes.has(e.name)) || (!!e.ip && api.ips.has(e.ip));
  return (e.kind === 'External' || e.kind === 'Unknown') && !!e.ip && api.ips.has(e.ip);
}
