import type { FlowStore, TimeWindow } from '../../store/backend.js';
import type { ObservedAggregate } from '../../model/index.js';

/** Every aggregate the store streams for the window, in its order. */
export async function allAggregates(store: FlowStore, w: TimeWindow = {}): Promise<ObservedAggregate[]> {
  const out: ObservedAggregate[] = [];
  for await (const chunk of store.aggregates(w)) out.push(...chunk);
  return out;
}
