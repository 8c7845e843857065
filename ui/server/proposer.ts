import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FlowStore } from '../../store/backend.js';
import type { ManifestEntry } from '../web/api-types.js';

/** What `proposePolicies` in ui/policies.ts returns; `manifests` (and the output directory's READMEs) are read here. */
export interface Proposal { manifests: ManifestEntry[]; proof?: unknown; surface?: unknown; plan?: unknown; readme?: string; rollout?: string }
export type ProposeFn = (store: FlowStore, opts: Record<string, unknown>) => Proposal | Promise<Proposal>;

/**
 * Policy synthesis lives in ui/policies.ts, written separately. It is looked up at run time so this server builds and
 * runs with or without it: no module, no proposer (the API answers 501). A module that exists but fails to load is
 * a real error and is thrown.
 */
export async function loadProposer(): Promise<ProposeFn | undefined> {
  const candidates = ['../policies.js', '../policies.ts'].map((rel) => new URL(rel, import.meta.url));
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!found) return undefined;
  // A computed specifier: tsc must not require the module to exist at build time.
  const spec: string = found.href;
  const mod = (await import(spec)) as { proposePolicies?: unknown };
  return typeof mod.proposePolicies === 'function' ? (mod.proposePolicies as ProposeFn) : undefined;
}
