/** `README.md` of an output directory: what is in it, what was proven, and how much the proposal closes. */
import type { Friction, NamespaceCoverage, Tier } from '../../model/index.js';
import { coverageText, frictionText } from './figures.js';
import { CLOSED_ADMIN_PORTS, METADATA_CIDRS, TIER_NAMES } from './tier-rules.js';

/** What one target's manifests together would block; null when segmap cannot evaluate that target. */
export interface TargetFriction { target: string; friction: Friction | null; how: string }

export interface ReadmeInput {
  targets: readonly string[];
  defaultDeny: boolean;
  window: { since: string | null; until: string | null };
  /** Relative manifest paths. */
  files: readonly string[];
  proof: { replayedFlows: number; deniedFlows: number; unknownFlows: number };
  surface: { before: { pairs: number; triples: number }; after: { pairs: number; triples: number } };
  friction?: readonly TargetFriction[];
  coverage?: readonly NamespaceCoverage[];
  /** Per namespace when tiers are in use. */
  tiers?: readonly { namespace: string; tier: Tier; source: string; workloads: Record<Tier, number> }[];
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
    ...tiersSection(r),
    ...frictionSection(r),
    ...coverageSection(r),
    '## Files',
    '',
    'Apply namespace by namespace, in the order of `ROLLOUT.md` (`plan.json` holds the same plan as data).',
    '',
    ...[...byNs].flatMap(([ns, files]) => [`- \`${ns}/\`: ${files.length} manifests`]),
    '',
  ].join('\n');
}

function tiersSection(r: ReadmeInput): string[] {
  if (!r.tiers?.length) return [];
  return [
    '## Tiers',
    '',
    `Every manifest carries its tier in the annotation \`segmap.io/tier\`. Tier 1 (${TIER_NAMES[1]}): ingress least privilege; egress`,
    `open except the cloud metadata service (${METADATA_CIDRS.ipv4}, ${METADATA_CIDRS.ipv6}) and the admin ports ${CLOSED_ADMIN_PORTS.join(', ')}.`,
    `Tier 2 (${TIER_NAMES[2]}): ingress and egress least privilege, mTLS PERMISSIVE. Tier 3 (${TIER_NAMES[3]}): default deny, STRICT mTLS,`,
    'outside egress by DNS name only (CiliumNetworkPolicy `toFQDNs`; a NetworkPolicy admits only the observed addresses).',
    '',
    '| namespace | its tier | from | workloads in tier 1 / 2 / 3 |',
    '|---|---|---|---|',
    ...r.tiers.map((t) => `| ${t.namespace} | ${t.tier} | ${t.source} | ${t.workloads[1]} / ${t.workloads[2]} / ${t.workloads[3]} |`),
    '',
  ];
}

function frictionSection(r: ReadmeInput): string[] {
  if (!r.friction?.length) return [];
  return [
    '## Friction',
    '',
    'Observed legitimate flows each target\'s manifests would block. The NetworkPolicies must block none (the proof above);',
    'the mesh targets are evaluated as the meshes decide, and admit observed clients without a mesh identity by address',
    '(the exception under "mTLS"). If you edit a policy, `segmap simulate` replays it and prints the same figure. Per',
    'manifest: `segmap policies --format json`.',
    '',
    '| target | friction | how |',
    '|---|---|---|',
    ...r.friction.map((t) => `| ${t.target} | ${t.friction ? frictionText(t.friction) : 'not evaluated'} | ${t.how} |`),
    '',
  ];
}

function coverageSection(r: ReadmeInput): string[] {
  if (!r.coverage?.length) return [];
  return [
    '## Zero-trust coverage',
    '',
    'Each namespace\'s observed traffic (edges with an end in it, and their flows) by how it is admitted: **identity** (a rule',
    'naming the peer by pod / namespace labels, or an mTLS principal), **address** (an ipBlock), **open** (no policy',
    'restricts it: nothing selects either end, or the rule admits every pod / every address). An edge takes the better of',
    'its two ends. Blocked traffic is friction; unattributed traffic has an end nobody could identify.',
    '',
    '| namespace | now (current policies) | with the proposal |',
    '|---|---|---|',
    ...r.coverage.map((c) => `| ${c.namespace} | ${coverageText(c.before)} | ${coverageText(c.after)} |`),
    '',
  ];
}
