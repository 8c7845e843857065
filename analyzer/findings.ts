import { endpointId, SEVERITY_RANK, type Edge, type Endpoint, type Finding, type Graph, type K8sObject } from '../model/index.js';
import type { IdentityIndex, Workload } from './identity.js';
import { ConnectionSet, isProtocol } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { ALL_IPV4 } from './policy/ipv4.js';
import type { Direction, Peer, PodPeer } from './policy/types.js';

const MAX_LISTED = 20;
const INTERNET: Peer = { kind: 'external', addresses: ALL_IPV4 };

/** The finding ids this pass emits (the README's catalogue lists them with their meaning). */
export const POLICY_FINDING_IDS = ['UNPROTECTED_WORKLOAD', 'EGRESS_OPEN_TO_INTERNET', 'ALLOWED_UNUSED'] as const;

export function podPeer(pod: K8sObject, identity: IdentityIndex): PodPeer {
  const namespace = pod.metadata.namespace ?? 'default';
  return {
    kind: 'pod', namespace, name: pod.metadata.name, labels: pod.metadata.labels ?? {}, namespaceLabels: identity.namespaceLabels(namespace),
    containerPorts: (pod.spec?.containers ?? []).flatMap((c: { ports?: [] }) => c.ports ?? []),
    ...(typeof pod.status?.podIP === 'string' ? { ip: pod.status.podIP } : {}),
  };
}

/**
 * Allowed vs. used: what the cluster's current policies allow each workload, set against what was observed.
 * Pure; `graph` is the observed graph for the same window.
 */
export function policyFindings(identity: IdentityIndex, graph: Graph, engine: PolicyEngine): Finding[] {
  const findings: Finding[] = [];
  const subjects = identity.workloads.filter((w) => w.pod && !w.hostNetwork).map((w) => ({ w, peer: podPeer(w.pod!, identity) }));
  const observed = graph.edges.filter((e) => e.verdict === 'allowed');
  const bySrc = groupBy(observed, (e) => endpointId(e.src));
  const byDst = groupBy(observed, (e) => endpointId(e.dst));

  for (const { w, peer } of subjects) {
    const id = endpointId(w.endpoint);
    const guarded = (d: Direction) => {
      const s = engine.selectingPolicies(peer, d);
      return s.networkPolicies.length > 0 || s.adminPolicies.length > 0 || s.baseline;
    };
    const ingressGuarded = guarded('ingress');
    const egressGuarded = guarded('egress');
    const callers = byDst.get(id) ?? [];
    const destinations = bySrc.get(id) ?? [];

    if (!ingressGuarded && !egressGuarded) {
      findings.push({
        id: 'UNPROTECTED_WORKLOAD', severity: callers.length > 0 ? 'medium' : 'low', subject: w.endpoint,
        message: `no policy selects ${id}: any peer may reach it and it may reach anything (${uniq(callers.map((e) => endpointId(e.src))).length} callers and ${uniq(destinations.map((e) => endpointId(e.dst))).length} destinations observed)`,
        evidence: { callers: list(uniq(callers.map((e) => endpointId(e.src)))), destinations: list(uniq(destinations.map((e) => endpointId(e.dst)))) },
      });
    }

    const internet = engine.allowedConnections(peer, INTERNET);
    if (!internet.isEmpty()) {
      const used = uniq(destinations.filter((e) => e.dst.kind === 'External').map((e) => `${e.dst.cidr ?? e.dst.ip}:${e.protocol}/${e.port}`));
      findings.push({
        id: 'EGRESS_OPEN_TO_INTERNET', severity: used.length === 0 ? 'high' : 'medium', subject: w.endpoint,
        message: `${id} may send ${internet.toString()} to any address (0.0.0.0/0) but ${used.length === 0 ? 'no external destination was observed' : `only ${used.length} external destination${used.length === 1 ? ' was' : 's were'} observed`}`,
        evidence: { allowed: internet.toString(), externalDestinationsUsed: list(used), count: used.length, explicit: egressGuarded },
      });
    }

    // Only where someone wrote a policy: for unguarded workloads everything is allowed and UNPROTECTED_WORKLOAD says so.
    for (const [direction, isGuarded, edges] of [['ingress', ingressGuarded, callers], ['egress', egressGuarded, destinations]] as const) {
      if (!isGuarded) continue;
      const unused = unusedAllowances(peer, w, subjects, edges, engine, direction);
      if (unused.length === 0) continue;
      findings.push({
        id: 'ALLOWED_UNUSED', severity: 'low', subject: w.endpoint,
        message: `policies allow ${direction} ${direction === 'ingress' ? 'from' : 'to'} ${unused.length} peer${unused.length === 1 ? '' : 's'} of ${id} on connections never observed`,
        evidence: { direction, unused: unused.slice(0, MAX_LISTED), more: Math.max(0, unused.length - MAX_LISTED) },
      });
    }
  }
  return findings.sort(compareFindings);
}

interface Unused { peer: string; allowed: string; used: string[]; unusedPart: string }

/** Peers a direction's policies allow, minus the (protocol, port)s actually seen with each of them. */
function unusedAllowances(
  self: PodPeer, w: Workload, subjects: { w: Workload; peer: PodPeer }[], edges: Edge[], engine: PolicyEngine, direction: Direction,
): Unused[] {
  const out: Unused[] = [];
  const selfId = endpointId(w.endpoint);
  for (const other of subjects) {
    const otherId = endpointId(other.w.endpoint);
    if (otherId === selfId) continue;
    const allowed = direction === 'ingress' ? engine.allowedConnections(other.peer, self) : engine.allowedConnections(self, other.peer);
    if (allowed.isEmpty()) continue;
    const seen = edges.filter((e) => endpointId(direction === 'ingress' ? e.src : e.dst) === otherId);
    let used = ConnectionSet.NONE;
    for (const e of seen) if (isProtocol(e.protocol) && e.port > 0) used = used.union(ConnectionSet.range(e.protocol, e.port, e.port));
    const rest = allowed.subtract(used);
    if (rest.isEmpty()) continue;
    out.push({ peer: otherId, allowed: allowed.toString(), used: seen.map((e) => `${e.protocol} ${e.port}`), unusedPart: rest.toString() });
  }
  return out;
}

function compareFindings(a: Finding, b: Finding): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id)
    || endpointId(a.subject as Endpoint).localeCompare(endpointId(b.subject as Endpoint));
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x); else m.set(k, [x]);
  }
  return m;
}

const uniq = (xs: string[]) => [...new Set(xs)].sort();
const list = (xs: string[]) => (xs.length > MAX_LISTED ? [...xs.slice(0, MAX_LISTED), `… ${xs.length - MAX_LISTED} more`] : xs);
