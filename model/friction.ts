/**
 * Friction and zero-trust coverage: what a policy proposal costs (observed legitimate traffic it would block) and what
 * it buys (how much of the observed traffic is admitted by identity rather than by address, or not restricted at all).
 * analyzer/friction.ts computes them; `policies`, `simulate`, the plan and the README print them.
 */

/**
 * Observed allowed traffic that a set of policies would block: `blockedFlows` of `replayedFlows`, on `blockedEdges`
 * edges (src, dst, protocol, port as in `graph`). `simulate` and `policies` print it in the same words.
 */
export interface Friction {
  replayedFlows: number;
  blockedFlows: number;
  blockedEdges: number;
}

/**
 * How one observed edge is admitted, the better of its two ends (a connection is restricted by whichever end names
 * its peer most precisely):
 * - `identity`: a rule that names the peer by pod / namespace labels, or an mTLS principal;
 * - `address`: an ipBlock narrower than "everything";
 * - `open`: admitted without naming the peer (no policy selects either end, an empty peer list, `namespaceSelector: {}`
 *   without a pod selector, an ipBlock of the whole address space);
 * - `blocked`: the policies would drop it (friction);
 * - `unattributed`: an end is `Unknown` (or known only by a flow identity without labels), so no rule can be judged.
 */
export type CoverageClass = 'identity' | 'address' | 'open' | 'blocked' | 'unattributed';
export const COVERAGE_CLASSES: readonly CoverageClass[] = ['identity', 'address', 'open', 'blocked', 'unattributed'];

export interface CoverageFigures {
  /** Observed flows per class. */
  flows: Record<CoverageClass, number>;
  /** Observed edges per class. */
  edges: Record<CoverageClass, number>;
}

/** Per namespace: its observed traffic (edges with an end in it) under the cluster's current policies and the proposal. */
export interface NamespaceCoverage {
  namespace: string;
  before: CoverageFigures;
  after: CoverageFigures;
}

/** A namespace's place in "where do we start?", from the per-workload risk ranking. */
export interface NamespaceRisk {
  namespace: string;
  /** The highest score of its workloads (0 when none was ranked). */
  score: number;
  /** The sum of its workloads' scores (the tie-breaker). */
  total: number;
  /** Its most urgent workloads, most urgent first (at most 3). */
  top: string[];
}
