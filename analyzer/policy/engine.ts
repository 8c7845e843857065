import { ConnectionSet, type Protocol } from './connections.js';
import {
  adminRuleConnections, adminRuleMatchesPeer, adminSelectsPod, npRuleConnections, npRuleMatchesPeer, npSelectsPod,
} from './rules.js';
import type {
  AdminPolicyDef, DecidedBy, Decision, Direction, DirectionDecision, NetworkPolicyDef, Peer, PodPeer, PolicySet,
} from './types.js';

/** Which policies select one pod, per direction; pods with equal profiles get equal verdicts towards any peer. */
interface SelectionProfile {
  np: Record<Direction, NetworkPolicyDef[]>;
  anp: Record<Direction, AdminPolicyDef[]>;
  banp: Record<Direction, boolean>;
  /** Interned id of what the verdicts depend on, per direction; -1 when nothing selects the pod (allow-all). */
  cacheId: Record<Direction, number>;
}

/** What the admin tier (ANPs in priority order, or the BANP) decided for one direction; first matching rule wins. */
interface AdminVerdict {
  allowed: ConnectionSet;
  denied: ConnectionSet;
  passed: ConnectionSet;
}

const EMPTY_VERDICT: AdminVerdict = { allowed: ConnectionSet.NONE, denied: ConnectionSet.NONE, passed: ConnectionSet.NONE };

/**
 * Kubernetes network policy semantics as np-guard's netpol-analyzer implements them, per direction:
 *   1. AdminNetworkPolicies by ascending priority, rules in order: Allow / Deny are final, Pass defers to the next tiers;
 *   2. NetworkPolicies selecting the pod: the union of their matching rules is allowed, the rest denied;
 *   3. when no NetworkPolicy selects the pod, the BaselineAdminNetworkPolicy, and otherwise allow-all.
 * A connection is allowed when the source's egress and the destination's ingress both allow it.
 */
export class PolicyEngine {
  private readonly profiles = new WeakMap<PodPeer, SelectionProfile>();
  private readonly profileIds = new Map<string, number>();
  private readonly peerIds = new WeakMap<Peer, number>();
  /** [profile id][peer id] → verdict; arrays keep the hot path free of string keys. */
  private readonly cache: (ConnectionSet | undefined)[][] = [];

  constructor(readonly policies: PolicySet) {}

  /** Every (protocol, port) allowed from src to dst. External-to-external is not a question policies answer: ALL. */
  allowedConnections(src: Peer, dst: Peer): ConnectionSet {
    if (src === dst) return ConnectionSet.ALL; // a pod always reaches itself
    const egress = src.kind === 'pod' ? this.cachedDirection(src, dst, 'egress') : ConnectionSet.ALL;
    if (egress.isEmpty()) return egress;
    const ingress = dst.kind === 'pod' ? this.cachedDirection(dst, src, 'ingress') : ConnectionSet.ALL;
    return egress.intersect(ingress);
  }

  /** The verdict for one connection, with the policy and rule that decided it (for `simulate`). */
  decide(src: Peer, dst: Peer, protocol: Protocol, port: number): Decision {
    const egress = src.kind === 'pod' ? this.decideDirection(src, dst, 'egress', protocol, port) : noPolicy('egress');
    const ingress = dst.kind === 'pod' ? this.decideDirection(dst, src, 'ingress', protocol, port) : noPolicy('ingress');
    const allowed = egress.allowed && ingress.allowed;
    return { allowed, decidedBy: !egress.allowed ? egress.decidedBy : ingress.decidedBy, egress, ingress };
  }

  /** Policies that select `pod` on `direction` (NetworkPolicies, ANPs in priority order, BANP). */
  selectingPolicies(pod: PodPeer, direction: Direction): { networkPolicies: NetworkPolicyDef[]; adminPolicies: AdminPolicyDef[]; baseline: boolean } {
    const p = this.profile(pod);
    return { networkPolicies: p.np[direction], adminPolicies: p.anp[direction], baseline: p.banp[direction] };
  }

  private profile(pod: PodPeer): SelectionProfile {
    let p = this.profiles.get(pod);
    if (p) return p;
    const { networkPolicies, adminPolicies, baseline } = this.policies;
    const np = {
      ingress: networkPolicies.filter((n) => npSelectsPod(n, pod, 'ingress')),
      egress: networkPolicies.filter((n) => npSelectsPod(n, pod, 'egress')),
    };
    const anp = {
      ingress: adminPolicies.filter((a) => adminSelectsPod(a, pod, 'ingress')),
      egress: adminPolicies.filter((a) => adminSelectsPod(a, pod, 'egress')),
    };
    const banp = {
      ingress: !!baseline && adminSelectsPod(baseline, pod, 'ingress'),
      egress: !!baseline && adminSelectsPod(baseline, pod, 'egress'),
    };
    const cacheId = (d: Direction) => {
      if (np[d].length === 0 && anp[d].length === 0 && !banp[d]) return -1;
      const key = [
        d,
        np[d].map((n) => `${n.namespace}/${n.name}`).join(','),
        anp[d].map((a) => a.name).join(','),
        banp[d] ? 'B' : '',
        // Ingress rules resolve named ports on the selected pod itself.
        d === 'ingress' ? namedPortsKey(pod) : '',
      ].join('|');
      let id = this.profileIds.get(key);
      if (id === undefined) this.profileIds.set(key, (id = this.profileIds.size));
      return id;
    };
    p = { np, anp, banp, cacheId: { ingress: cacheId('ingress'), egress: cacheId('egress') } };
    this.profiles.set(pod, p);
    return p;
  }

  /**
   * Egress verdicts depend on the source only through its profile; ingress verdicts depend on the destination's profile
   * and its containerPorts (named ports). Caching on that keeps large estates fast.
   */
  private cachedDirection(subject: PodPeer, other: Peer, direction: Direction): ConnectionSet {
    const profile = this.profile(subject);
    const id = profile.cacheId[direction];
    if (id < 0) return ConnectionSet.ALL;
    let peerId = this.peerIds.get(other);
    if (peerId === undefined) this.peerIds.set(other, (peerId = this.nextPeerId++));
    const row = this.cache[id] ?? (this.cache[id] = []);
    let res = row[peerId];
    if (!res) row[peerId] = res = this.directionConnections(subject, other, direction, profile);
    return res;
  }

  private nextPeerId = 0;

  /** `subject` is the selected pod (src on egress, dst on ingress); `other` is the peer the rules must match. */
  private directionConnections(subject: PodPeer, other: Peer, direction: Direction, profile: SelectionProfile): ConnectionSet {
    const dst = direction === 'egress' ? other : subject;
    const anp = adminVerdict(profile.anp[direction], direction, other, dst);
    if (anp !== EMPTY_VERDICT && anp.allowed.union(anp.denied).isAll()) return anp.allowed;
    const nps = profile.np[direction];
    if (nps.length > 0) {
      let npAllowed = ConnectionSet.NONE;
      for (const np of nps) {
        for (const rule of np[direction]) {
          if (npRuleMatchesPeer(np, rule, other)) npAllowed = npAllowed.union(npRuleConnections(rule, dst));
          if (npAllowed.isAll()) break;
        }
      }
      // Passed and unmatched traffic is decided by the NetworkPolicies; ANP Allow/Deny stay final.
      return anp.allowed.union(npAllowed.subtract(anp.denied));
    }
    const banp = profile.banp[direction] && this.policies.baseline
      ? adminVerdict([this.policies.baseline], direction, other, dst)
      : EMPTY_VERDICT;
    // No NetworkPolicy: everything not denied by an ANP (or by the BANP, unless an ANP allowed it) is allowed.
    return ConnectionSet.ALL.subtract(anp.denied).subtract(banp.denied.subtract(anp.allowed));
  }

  private decideDirection(subject: PodPeer, other: Peer, direction: Direction, protocol: Protocol, port: number): DirectionDecision {
    const profile = this.profile(subject);
    const dst = direction === 'egress' ? other : subject;
    for (const anp of profile.anp[direction]) {
      const hit = firstAdminRule(anp, direction, other, dst, protocol, port);
      if (hit && hit.rule.action !== 'Pass') return { allowed: hit.rule.action === 'Allow', decidedBy: adminDecidedBy(anp, direction, hit) };
      if (hit) break; // Pass: skip the remaining ANPs, on to the NetworkPolicy tier
    }
    const nps = profile.np[direction];
    if (nps.length > 0) {
      for (const np of [...nps].sort((a, b) => a.name.localeCompare(b.name))) {
        const idx = np[direction].findIndex((r) => npRuleMatchesPeer(np, r, other) && npRuleConnections(r, dst).contains(protocol, port));
        if (idx >= 0) return { allowed: true, decidedBy: { kind: 'NetworkPolicy', namespace: np.namespace, name: np.name, direction, rule: idx } };
      }
      const first = [...nps].sort((a, b) => a.name.localeCompare(b.name))[0];
      return { allowed: false, decidedBy: { kind: 'NetworkPolicy', namespace: first.namespace, name: first.name, direction, rule: 'default-deny' } };
    }
    const banp = this.policies.baseline;
    if (banp && profile.banp[direction]) {
      const hit = firstAdminRule(banp, direction, other, dst, protocol, port);
      if (hit) return { allowed: hit.rule.action !== 'Deny', decidedBy: adminDecidedBy(banp, direction, hit) };
    }
    return noPolicy(direction);
  }
}

function noPolicy(direction: Direction): DirectionDecision {
  return { allowed: true, decidedBy: { kind: 'None', name: '', direction, rule: 'no policy selects' } };
}

function namedPortsKey(pod: PodPeer): string {
  return pod.containerPorts.filter((p) => p.name).map((p) => `${p.name}:${p.protocol ?? ''}:${p.containerPort}`).join(',');
}

function adminVerdict(policies: readonly AdminPolicyDef[], direction: Direction, other: Peer, dst: Peer): AdminVerdict {
  if (policies.length === 0) return EMPTY_VERDICT;
  let decided = ConnectionSet.NONE;
  const v = { allowed: ConnectionSet.NONE, denied: ConnectionSet.NONE, passed: ConnectionSet.NONE };
  for (const policy of policies) {
    for (const rule of policy[direction]) {
      if (!adminRuleMatchesPeer(rule, other)) continue;
      const fresh = adminRuleConnections(rule, dst).subtract(decided);
      if (fresh.isEmpty()) continue;
      decided = decided.union(fresh);
      if (rule.action === 'Allow') v.allowed = v.allowed.union(fresh);
      else if (rule.action === 'Deny') v.denied = v.denied.union(fresh);
      else v.passed = v.passed.union(fresh);
    }
    if (decided.isAll()) break;
  }
  return decided.isEmpty() ? EMPTY_VERDICT : v;
}

interface AdminHit { rule: AdminPolicyDef['egress'][number]; index: number }

function firstAdminRule(policy: AdminPolicyDef, direction: Direction, other: Peer, dst: Peer, protocol: Protocol, port: number): AdminHit | undefined {
  const rules = policy[direction];
  for (let i = 0; i < rules.length; i++) {
    if (adminRuleMatchesPeer(rules[i], other) && adminRuleConnections(rules[i], dst).contains(protocol, port)) return { rule: rules[i], index: i };
  }
  return undefined;
}

function adminDecidedBy(policy: AdminPolicyDef, direction: Direction, hit: AdminHit): DecidedBy {
  return { kind: policy.kind, name: policy.name, direction, rule: hit.index, ...(hit.rule.name ? { ruleName: hit.rule.name } : {}) };
}
