/**
 * The order of the stages, in one place: store snapshot → identity (IP@time → workload) → graph.
 * Later passes (findings, intents, policy evaluation) join here.
 */
import { buildGraph } from '../analyzer/graph.js';
import { buildIdentity, type IdentityIndex } from '../analyzer/identity.js';
import type { Graph } from '../model/index.js';
import type { Store, TimeWindow } from '../store/store.js';

export interface AnalysisOptions extends TimeWindow {
  namespace?: string;
}

export function loadIdentity(store: Store): IdentityIndex {
  return buildIdentity(store.snapshots());
}

export function analyzeGraph(store: Store, opts: AnalysisOptions = {}): Graph {
  const identity = loadIdentity(store);
  const paths = new Map(store.inputs().map((i) => [i.id, i.path]));
  return buildGraph(identity, store.aggregates(opts), {
    since: opts.since, until: opts.until, namespace: opts.namespace,
    sourceName: (id) => paths.get(id) ?? `input#${id}`,
  });
}
