import type { LabelSelector } from '../../model/index.js';
import { npPeerMatches } from './rules.js';
import { selectorMatches } from '../../model/index.js';
import type { PodPeer, PolicySet } from './types.js';

/** `name=cart,tier In (a,b)`; `{}` for the empty selector that selects everything. */
export function formatSelector(sel: LabelSelector | undefined): string {
  const parts = [
    ...Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel?.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`),
  ];
  return parts.length ? parts.join(',') : '{}';
}

/**
 * Mistakes that make a policy silently do nothing or lock traffic out: a policy whose podSelector matches no pod, and
 * rule peers that match no pod (a label typo such as Sock Shop's `name: cart` for `name: carts`). Checked against the
 * pods the cluster actually runs.
 */
export function lintPolicies(policies: PolicySet, pods: readonly PodPeer[]): string[] {
  const out: string[] = [];
  for (const np of policies.networkPolicies) {
    const id = `NetworkPolicy ${np.namespace}/${np.name}`;
    const inNs = pods.filter((p) => p.namespace === np.namespace);
    if (!inNs.some((p) => selectorMatches(np.podSelector, p.labels as Record<string, string>))) {
      out.push(`${id} selects no pod (podSelector ${formatSelector(np.podSelector)} in namespace ${np.namespace})`);
    }
    for (const direction of ['ingress', 'egress'] as const) {
      np[direction].forEach((rule, i) => {
        rule.peers.forEach((peer) => {
          if (peer.ipBlock || (!peer.podSelector && !peer.namespaceSelector)) return;
          if (pods.some((p) => npPeerMatches(np, peer, p))) return;
          const what = [peer.namespaceSelector && `namespaceSelector ${formatSelector(peer.namespaceSelector)}`, peer.podSelector && `podSelector ${formatSelector(peer.podSelector)}`]
            .filter(Boolean).join(' + ');
          out.push(`${id} ${direction} rule ${i}: peer ${what} matches no pod`);
        });
      });
    }
  }
  return out;
}
