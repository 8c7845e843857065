/** `README.md` of an output directory: what is in it, what was proven, and how much the proposal closes. */

export interface ReadmeInput {
  targets: readonly string[];
  defaultDeny: boolean;
  window: { since: string | null; until: string | null };
  /** Relative manifest paths. */
  files: readonly string[];
  proof: { replayedFlows: number; deniedFlows: number; unknownFlows: number };
  surface: { before: { pairs: number; triples: number }; after: { pairs: number; triples: number } };
}

export function surfaceReduction(before: number, after: number): string {
  if (before === 0) return '0%';
  const pct = (1 - after / before) * 100;
  return `${pct >= 99.995 && after > 0 ? '>99.99' : pct.toFixed(2)}%`;
}

export function outputReadme(r: ReadmeInput): string {
  const byNs = new Map<string, string[]>();
  for (const f of r.files) {
    const [ns] = f.split('/');
    byNs.set(ns, [...(byNs.get(ns) ?? []), f]);
  }
  const fmt = (n: number) => n.toLocaleString('en-US');
  return [
    '# Proposed network policies (segmap)',
    '',
    `Generated from traffic observed ${r.window.since ?? 'from the start'} .. ${r.window.until ?? 'to the end'}; targets: ${r.targets.join(', ')}${r.defaultDeny ? '; with a default-deny per namespace' : ''}.`,
    'Every manifest starts with a comment header saying which flows, from which inputs, justify each rule.',
    '',
    '## Proof',
    '',
    `Every observed allowed flow (${fmt(r.proof.replayedFlows)}) was replayed against the generated NetworkPolicies (with the cluster's`,
    `current policies): ${fmt(r.proof.deniedFlows)} would be denied.${r.proof.unknownFlows ? ` ${fmt(r.proof.unknownFlows)} flows with an Unknown peer, or a peer known only from a flow identity without labels, were not proven (see ROLLOUT.md).` : ''}`,
    '',
    '## Attack surface',
    '',
    '| | workload pairs | (src, dst, port) |',
    '|---|---|---|',
    `| before (current policies) | ${fmt(r.surface.before.pairs)} | ${fmt(r.surface.before.triples)} |`,
    `| after (proposal) | ${fmt(r.surface.after.pairs)} | ${fmt(r.surface.after.triples)} |`,
    `| reduction | ${surfaceReduction(r.surface.before.pairs, r.surface.after.pairs)} | ${surfaceReduction(r.surface.before.triples, r.surface.after.triples)} |`,
    '',
    'Pairs count every ordered pair of workloads (and "any outside address" as one more peer) that may connect at all;',
    'triples count each allowed (protocol, port) of each pair.',
    '',
    '## Files',
    '',
    'Apply namespace by namespace, in the order of `ROLLOUT.md` (`plan.json` holds the same plan as data).',
    '',
    ...[...byNs].flatMap(([ns, files]) => [`- \`${ns}/\`: ${files.length} manifests`]),
    '',
  ].join('\n');
}
