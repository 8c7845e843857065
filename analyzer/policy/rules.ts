import { selectorMatches, type LabelSelector } from '../../model/index.js';
import { ConnectionSet, isProtocol, type Protocol } from './connections.js';
import type { AdminPeerSelector, AdminPolicyDef, AdminRule, NetworkPolicyDef, NpPeerSelector, NpRule, Peer, PodPeer } from './types.js';

/** Rule-level semantics shared by the set-based (connlist) and single-connection (simulate) evaluations. */

/** An empty selector `{}` selects everything; selectorMatches already implements that. */
function matches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selectorMatches(sel, labels as Record<string, string>);
}

// ---- NetworkPolicy ----

export function npSelectsPod(np: NetworkPolicyDef, pod: PodPeer, direction: 'ingress' | 'egress'): boolean {
  return np.affects[direction] && pod.namespace === np.namespace && matches(np.podSelector, pod.labels);
}

export function npPeerMatches(np: NetworkPolicyDef, sel: NpPeerSelector, peer: Peer): boolean {
  if (sel.ipBlock) {
    // Pods are never selected by ipBlock, and an external range matches only when wholly inside the block.
    return peer.kind === 'external' && sel.ipBlock.containsSet(peer.addresses);
  }
  if (peer.kind !== 'pod' || (!sel.podSelector && !sel.namespaceSelector)) return false;
  const nsOk = sel.namespaceSelector ? matches(sel.namespaceSelector, peer.namespaceLabels) : peer.namespace === np.namespace;
  return nsOk && (!sel.podSelector || matches(sel.podSelector, peer.labels));
}

export function npRuleMatchesPeer(np: NetworkPolicyDef, rule: NpRule, peer: Peer): boolean {
  return rule.peers.length === 0 || rule.peers.some((s) => npPeerMatches(np, s, peer));
}

/** The named port's number on the destination pod, when it exists there with the rule's protocol. */
function resolveNamedPort(dst: Peer | undefined, name: string): { protocol: Protocol; port: number } | undefined {
  if (!dst || dst.kind !== 'pod') return undefined;
  const cp = dst.containerPorts.find((p) => p.name === name);
  const protocol = (cp?.protocol || 'TCP').toUpperCase();
  if (!cp || !isProtocol(protocol)) return undefined;
  return { protocol, port: cp.containerPort };
}

/** Connections a rule's `ports` allow towards `dst`; named ports resolve on dst's containerPorts (nothing when absent). */
export function npRuleConnections(rule: NpRule, dst: Peer): ConnectionSet {
  if (rule.ports.length === 0) return ConnectionSet.ALL;
  let out = ConnectionSet.NONE;
  for (const p of rule.ports) {
    if (p.port === undefined) out = out.union(ConnectionSet.allPorts(p.protocol));
    else if (typeof p.port === 'number') out = out.union(ConnectionSet.range(p.protocol, p.port, p.endPort ?? p.port));
    else {
      const resolved = resolveNamedPort(dst, p.port);
      if (resolved && resolved.protocol === p.protocol) out = out.union(ConnectionSet.range(p.protocol, resolved.port, resolved.port));
    }
  }
  return out;
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy ----

export function adminSelectsPod(policy: AdminPolicyDef, pod: PodPeer, direction: 'ingress' | 'egress'): boolean {
  if (policy[direction].length === 0) return false; // (B)ANPs affect only the directions they have rules for
  const s = policy.subject;
  if ('namespaces' in s) return matches(s.namespaces, pod.namespaceLabels);
  return matches(s.pods.namespaceSelector, pod.namespaceLabels) && matches(s.pods.podSelector, pod.labels);
}

function adminPeerMatches(sel: AdminPeerSelector, peer: Peer): boolean {
  if ('networks' in sel) return peer.kind === 'external' && sel.networks.containsSet(peer.addresses);
  if (peer.kind !== 'pod') return false;
  if ('namespaces' in sel) return matches(sel.namespaces, peer.namespaceLabels);
  if ('pods' in sel) return matches(sel.pods.namespaceSelector, peer.namespaceLabels) && matches(sel.pods.podSelector, peer.labels);
  return false; // nodes select node IPs; pods are never nodes
}

export function adminRuleMatchesPeer(rule: AdminRule, peer: Peer): boolean {
  return rule.peers.some((s) => adminPeerMatches(s, peer));
}

export function adminRuleConnections(rule: AdminRule, dst: Peer): ConnectionSet {
  if (!rule.ports) return ConnectionSet.ALL;
  let out = ConnectionSet.NONE;
  for (const p of rule.ports) {
    if ('namedPort' in p) {
      const resolved = resolveNamedPort(dst, p.namedPort);
      if (resolved) out = out.union(ConnectionSet.range(resolved.protocol, resolved.port, resolved.port));
    } else if ('start' in p) out = out.union(ConnectionSet.range(p.protocol, p.start, p.end));
    else out = out.union(ConnectionSet.range(p.protocol, p.port, p.port));
  }
  return out;
}
