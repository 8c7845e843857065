import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import { endpointId } from '../../../model/index.js';
import { coverageText, frictionText } from '../../../analyzer/emit/figures.js';
import { surfaceReduction } from '../../../analyzer/emit/readme.js';
import { TIER_NAMES } from '../../../analyzer/emit/tier-rules.js';
import type { TierConfig } from '../../../analyzer/tiers.js';
import { POLICY_TARGETS, proposePolicies, readTierConfig, type PolicyTarget, type Proposal } from '../../policies.js';
import { openExisting } from '../db.js';
import { InputError, UsageError } from '../errors.js';
import { parseTime } from '../time.js';
import { describeDecider } from './simulate.js';

interface PoliciesOpts {
  out: string; target: string; defaultDeny?: boolean; since?: string; until?: string; namespace?: string; trustDomain: string; istioDryRun?: boolean;
  tiers?: string; format: 'text' | 'json';
}

export function parseTargets(text: string): PolicyTarget[] {
  const targets = [...new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))];
  const unknown = targets.filter((t) => !(POLICY_TARGETS as readonly string[]).includes(t));
  if (unknown.length || targets.length === 0) throw new UsageError(`--target: unknown target ${unknown.join(',') || '(none)'} (use any of k8s, cilium, istio, linkerd, comma-separated)`);
  return targets as PolicyTarget[];
}

export function registerPolicies(program: Command): void {
  program
    .command('policies')
    .description('propose least-privilege NetworkPolicy / CiliumNetworkPolicy / Istio / Linkerd policy from observed traffic, proven by replay, with a rollout plan')
    .requiredOption('--out <dir>', 'output directory: <ns>/<workload>.<target>.yaml, README.md, ROLLOUT.md, plan.json')
    .option('--target <targets>', 'comma-separated: k8s, cilium, istio, linkerd', 'k8s,cilium')
    .option('--trust-domain <domain>', 'istio, linkerd: the mesh trust domain of the principals', 'cluster.local')
    .option('--istio-dry-run', 'istio: mark AuthorizationPolicies istio.io/dry-run (logged, not enforced)')
    .option('--default-deny', 'also a default-deny per namespace (DNS stays open); tier-3 namespaces always get one')
    .option('--tiers <file>', 'tier per namespace / workload (YAML or JSON: default, namespaces, workloads); also read from segmap.io/tier labels')
    .addOption(new Option('--format <format>', 'summary on stdout').choices(['text', 'json']).default('text'))
    .option('--since <time>', 'only traffic at or after this time')
    .option('--until <time>', 'only traffic before this time')
    .option('--namespace <ns>', 'only this namespace (system namespaces are left out unless named here)')
    .addHelpText('after', '\nExit status 1 when the proof fails: the generated policies would drop observed traffic (nothing is written then).')
    .action(async (opts: PoliciesOpts, cmd: Command) => {
      const targets = parseTargets(opts.target);
      const window = { since: opts.since ? parseTime(opts.since, '--since') : undefined, until: opts.until ? parseTime(opts.until, '--until') : undefined };
      let tiers: TierConfig | undefined;
      if (opts.tiers) tiers = await readTierConfig(opts.tiers).catch((e: Error) => { throw new InputError(e.message); });
      const store = await openExisting(cmd);
      let p: Proposal;
      try {
        p = await proposePolicies(store, { ...window, namespace: opts.namespace, targets, defaultDeny: opts.defaultDeny, trustDomain: opts.trustDomain, istioDryRun: opts.istioDryRun, tiers });
      } finally {
        await store.close();
      }
      for (const problem of p.problems) process.stderr.write(`segmap: ${problem}\n`);
      if (p.proof.denied.length > 0) {
        process.stderr.write(`segmap: PROOF FAILED: the generated policies would deny ${p.proof.deniedFlows} observed flows on ${p.proof.denied.length} edges; nothing written:\n`);
        for (const e of p.proof.denied) {
          process.stderr.write(`  ${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port} (${e.flows} flows, ${e.firstSeen} .. ${e.lastSeen}) denied by ${describeDecider(e.decidedBy)}\n`);
        }
        process.exitCode = 1;
        return;
      }
      writeProposal(opts.out, p);
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(jsonSummary(opts.out, p), null, 2)}\n` : summary(opts.out, p));
    });
}

function writeProposal(dir: string, p: Proposal): void {
  const files: [string, string][] = [
    ...p.manifests.map((m): [string, string] => [m.path, m.yaml]),
    ['README.md', p.readme], ['ROLLOUT.md', p.rollout], ['plan.json', `${JSON.stringify(p.plan, null, 2)}\n`],
  ];
  for (const [rel, text] of files) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

function summary(dir: string, p: Proposal): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const namespaces = new Set(p.manifests.map((m) => m.namespace));
  const byTarget = POLICY_TARGETS.filter((t) => p.manifests.some((m) => m.target === t) || t === 'k8s' || t === 'cilium').map((t) => `${p.manifests.filter((m) => m.target === t).length} ${t}`).join(', ');
  const { before, after } = p.surface;
  return [
    `segmap policies: ${p.intents.workloads.length} workloads in ${plural(namespaces.size, 'namespace')} → ${p.manifests.length} manifests (${byTarget}) in ${dir}`,
    `proof: ${n(p.proof.replayedFlows)} observed flows replayed against the generated NetworkPolicies: ${n(p.proof.deniedFlows)} denied` +
      (p.proof.unknownFlows ? `; ${n(p.proof.unknownFlows)} flows with an Unknown or unlabelled peer not proven (see ROLLOUT.md)` : ''),
    `surface: before ${n(before.pairs)} workload pairs / ${n(before.triples)} (src, dst, port); after ${n(after.pairs)} / ${n(after.triples)}` +
      ` (${change(before.pairs, after.pairs)} pairs, ${change(before.triples, after.triples)} ports)`,
    ...p.tiers.map((t) => `tier: ${t.namespace}: tier ${t.tier} (${TIER_NAMES[t.tier]}, from ${t.source}); workloads in tier 1/2/3: ${t.workloads[1]}/${t.workloads[2]}/${t.workloads[3]}`),
    ...p.friction.map((f) => `friction: ${f.target}: ${f.friction ? frictionText(f.friction) : `not evaluated (${f.how})`}`),
    ...p.coverage.map((c) => `coverage: ${c.namespace}: now ${coverageText(c.before)}; proposal ${coverageText(c.after)}`),
    `plan: ${join(dir, 'ROLLOUT.md')}: ${p.plan.namespaces.map((ns) => `${ns.namespace} (${ns.confidence}${ns.risk.score > 0 ? `, risk ${ns.risk.score}` : ''})`).join(', ') || 'no namespace'}` +
      (p.plan.skipped.length ? `; not generated: ${p.plan.skipped.map((s) => s.namespace).join(', ')}` : ''),
    '',
  ].join('\n');
}

/** `--format json`: the summary as data; friction per manifest, per target, coverage and tiers, and the plan. */
function jsonSummary(dir: string, p: Proposal) {
  return {
    out: dir,
    manifests: p.manifests.map((m) => ({ path: m.path, namespace: m.namespace, workload: m.workload, target: m.target, ...(m.tier ? { tier: m.tier } : {}), friction: m.friction })),
    proof: { replayedFlows: p.proof.replayedFlows, deniedFlows: p.proof.deniedFlows, unknownFlows: p.proof.unknownFlows, notEvaluatedFlows: p.proof.notEvaluatedFlows },
    surface: p.surface,
    tiers: p.tiers,
    friction: p.friction,
    coverage: p.coverage,
    plan: p.plan,
  };
}

/** `−85.58%`; `+6.25%` when the proposal allows more than today (merged with the cluster's own policies). */
const change = (before: number, after: number) => (after > before ? `+${surfaceReduction(before, after).replace(/^-/, '')}` : `−${surfaceReduction(before, after)}`);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
