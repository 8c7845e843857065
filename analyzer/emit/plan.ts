/**
 * The rollout plan: namespaces in the order to enforce them, each with a confidence and the reasons for it — what
 * the observation may have missed (CronJobs that may not have run in the window, traffic the sources cannot see,
 * peers nobody could attribute, workloads never seen talking) — its risk, tier, friction and zero-trust coverage.
 *
 * The order: namespaces ready to enforce (confidence high or medium) before those that are not (low: enforcing them
 * now would likely break something the observation missed, so they go last whatever their risk); within each group,
 * the riskiest first (the highest workload score of the risk ranking, then the sum of scores); then higher confidence,
 * fewer reasons, fewer workloads, and the name. Without a risk ranking this is narrowest-risk first, as before.
 */
import type { CoverageFigures, Friction, NamespaceRisk, Tier, TierChoice } from '../../model/index.js';
import { cronMaxGap, formatDuration } from './cron.js';
import { coverageText, frictionText, percent } from './figures.js';
import type { IntentSet, NamespaceFacts } from './types.js';

export type Confidence = 'high' | 'medium' | 'low';

export interface CronJobPlan { id: string; schedule: string; maxGap?: string; observed: boolean; note: string }

export interface NamespacePlan {
  namespace: string;
  confidence: Confidence;
  /** Why the confidence is not higher (empty when high). */
  reasons: string[];
  workloads: number;
  policies: number;
  cronJobs: CronJobPlan[];
  idle: string[];
  hostNetwork: string[];
  unselectable: string[];
  unknownPeers: { edge: string; flows: number }[];
  nodeClients: string[];
  suspectPorts: string[];
  sameNodePairs: number;
  /** Whether a default-deny is part of this namespace's proposal (`--default-deny`, or tier 3). */
  defaultDeny: boolean;
  /** Its own tier and its workloads per tier, when tiers are in use. */
  tier?: TierChoice;
  workloadTiers?: Record<Tier, number>;
  risk: NamespaceRisk;
  readiness: Readiness;
  /** Observed flows the proposal's NetworkPolicies would block where this namespace's pods decide (must be 0). */
  friction?: Friction;
  /** Its observed traffic under the current policies and under the proposal. */
  coverage?: { before: CoverageFigures; after: CoverageFigures };
}

/** How far the observation of a namespace can be trusted for enforcing it now. */
export interface Readiness {
  /** Confidence high or medium. */
  ready: boolean;
  /** Share of its observed flows whose both ends are attributed (no Unknown peer); null without traffic figures. */
  attributedShare: number | null;
  /** The observation window. */
  observedSeconds: number | null;
  /** Blind spots: same-node pairs the sources cannot see, node-address clients, Unknown peers. */
  blindSpots: number;
}

export interface PlanFigures {
  /** Namespace → its risk (from the per-workload ranking). */
  risk?: ReadonlyMap<string, NamespaceRisk>;
  friction?: ReadonlyMap<string, Friction>;
  coverage?: ReadonlyMap<string, { before: CoverageFigures; after: CoverageFigures }>;
}

export interface RolloutPlan {
  window: { since: string | null; until: string | null; seconds: number | null };
  defaultDeny: boolean;
  namespaces: NamespacePlan[];
  skipped: { namespace: string; reason: string }[];
}

const RANK: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

export function rolloutPlan(set: IntentSet, opts: { defaultDeny: boolean; policiesPerNamespace: ReadonlyMap<string, number> } & PlanFigures): RolloutPlan {
  const { since, until } = set.window;
  const seconds = since && until ? Math.round((Date.parse(until) - Date.parse(since)) / 1000) : null;
  const namespaces = set.namespaces.map((f) => {
    const defaultDeny = opts.defaultDeny || f.tier?.tier === 3;
    const p = namespacePlan(f, seconds, set.sameNodeBlind, defaultDeny, opts.policiesPerNamespace.get(f.namespace) ?? 0);
    const coverage = opts.coverage?.get(f.namespace);
    const friction = opts.friction?.get(f.namespace);
    const workloadTiers = set.tiered ? { 1: 0, 2: 0, 3: 0 } as Record<Tier, number> : undefined;
    if (workloadTiers) for (const w of set.workloads) if (w.namespace === f.namespace && w.tier) workloadTiers[w.tier.tier]++;
    const all = coverage ? Object.values(coverage.after.flows).reduce((a, b) => a + b, 0) : 0;
    return {
      ...p,
      ...(f.tier ? { tier: f.tier } : {}),
      ...(workloadTiers ? { workloadTiers } : {}),
      risk: opts.risk?.get(f.namespace) ?? { namespace: f.namespace, score: 0, total: 0, top: [] },
      readiness: {
        ready: p.confidence !== 'low',
        attributedShare: coverage ? (all === 0 ? 1 : 1 - coverage.after.flows.unattributed / all) : null,
        observedSeconds: seconds,
        blindSpots: (set.sameNodeBlind ? f.sameNodePairs : 0) + f.nodeClients.length + f.unknownPeers.length,
      },
      ...(friction ? { friction } : {}),
      ...(coverage ? { coverage: { before: coverage.before, after: coverage.after } } : {}),
    };
  });
  namespaces.sort(planOrder);
  return { window: { since, until, seconds }, defaultDeny: opts.defaultDeny, namespaces, skipped: set.skippedNamespaces };
}

/** Ready before not ready; riskiest first; then narrowest risk (confidence, reasons, size), then the name. */
export function planOrder(a: NamespacePlan, b: NamespacePlan): number {
  return Number(b.readiness.ready) - Number(a.readiness.ready) || b.risk.score - a.risk.score || b.risk.total - a.risk.total
    || RANK[a.confidence] - RANK[b.confidence] || a.reasons.length - b.reasons.length
    || a.workloads - b.workloads || a.namespace.localeCompare(b.namespace);
}

type BasePlan = Omit<NamespacePlan, 'risk' | 'readiness' | 'tier' | 'workloadTiers' | 'friction' | 'coverage'>;

function namespacePlan(f: NamespaceFacts, windowSeconds: number | null, sameNodeBlind: boolean, defaultDeny: boolean, policies: number): BasePlan {
  const low: string[] = [];
  const medium: string[] = [];
  const cronJobs = f.cronJobs.map((c): CronJobPlan => {
    const gap = cronMaxGap(c.schedule);
    if ('error' in gap) {
      low.push(`${c.id}: cannot read schedule "${c.schedule}" (${gap.error}); its runs may have been missed`);
      return { id: c.id, schedule: c.schedule, observed: c.observed, note: `unreadable schedule: ${gap.error}` };
    }
    const maxGap = formatDuration(gap.maxGapSeconds);
    const longer = windowSeconds === null || gap.maxGapSeconds > windowSeconds;
    if (longer && !c.observed) low.push(`${c.id} runs up to every ${maxGap}, longer than the window, and was not observed: its traffic may be missing`);
    else if (longer) medium.push(`${c.id} runs up to every ${maxGap}, longer than the window: a run with other peers may have been missed`);
    else if (!c.observed) low.push(`${c.id} should have run within the window (every ${maxGap}) but was not observed`);
    const note = longer ? `may have been missed (runs up to every ${maxGap})` : `covered (runs at least every ${maxGap})`;
    return { id: c.id, schedule: c.schedule, maxGap, observed: c.observed, note };
  });
  if (f.unknownPeers.length) low.push(`${f.unknownPeers.length} observed edges have an Unknown peer: not in any policy; the proposal would block them`);
  if (f.unselectable.length) low.push(`${f.unselectable.length} workloads have no stable label to select on: no policy generated`);
  if (f.suspectPorts.length) low.push(`${f.suspectPorts.length} observed ports need review (ephemeral range or a protocol policies cannot name)`);
  if (f.idle.length && defaultDeny) low.push(`${f.idle.length} workloads had no observed traffic: the default-deny cuts them off (DNS aside)`);
  else if (f.idle.length) medium.push(`${f.idle.length} workloads had no observed traffic: no policy generated for them`);
  if (sameNodeBlind && f.sameNodePairs > 0) medium.push(`${f.sameNodePairs} workload pairs shared a node without an observed edge: VPC flow logs cannot see same-node traffic`);
  if (f.nodeClients.length) medium.push(`${f.nodeClients.length} edges come from node addresses: they may be SNAT'd pods; node-address rules go stale when nodes are replaced`);
  return {
    namespace: f.namespace,
    confidence: low.length ? 'low' : medium.length ? 'medium' : 'high',
    reasons: [...low, ...medium],
    workloads: f.workloads.length, policies, cronJobs,
    idle: f.idle, hostNetwork: f.hostNetwork, unselectable: f.unselectable, unknownPeers: f.unknownPeers,
    nodeClients: f.nodeClients, suspectPorts: f.suspectPorts, sameNodePairs: f.sameNodePairs, defaultDeny,
  };
}

const list = (title: string, items: readonly string[]) => (items.length ? [`- ${title}:`, ...items.map((i) => `  - ${i}`)] : []);

export function rolloutMarkdown(plan: RolloutPlan): string {
  const w = plan.window;
  const out = [
    '# Rollout plan',
    '',
    `Observation window: ${w.since ?? 'start'} .. ${w.until ?? 'end'}${w.seconds !== null ? ` (${formatDuration(w.seconds)})` : ''}.`,
    '',
    'Apply one namespace at a time, in this order. After each, watch for drops before the next;',
    '`segmap simulate DIR/<namespace>` replays newly ingested traffic against the proposal at any time.',
    '',
    'The order: namespaces ready to enforce (confidence high or medium) first, the riskiest of them first (highest',
    'workload risk score, then the sum of scores); namespaces whose observation cannot be trusted yet (confidence low)',
    'last, whatever their risk: fix what their reasons say, observe again, then enforce. Ties: higher confidence,',
    'fewer reasons, fewer workloads, name.',
    '',
    plan.defaultDeny || plan.namespaces.some((n) => n.defaultDeny)
      ? 'Apply a namespace\'s `default-deny` last, once its per-workload policies have held.'
      : 'No default-deny was generated (`--default-deny`, or tier 3): pods without a policy stay open.',
    '',
  ];
  plan.namespaces.forEach((n, i) => {
    out.push(`## ${i + 1}. ${n.namespace} — confidence: ${n.confidence}`, '');
    out.push(`- ${n.workloads} workloads, ${n.policies} manifests${n.defaultDeny ? ' (with a default-deny)' : ''}`);
    if (n.tier) {
      const per = n.workloadTiers ? ([1, 2, 3] as const).filter((t) => n.workloadTiers![t] > 0).map((t) => `${n.workloadTiers![t]} in tier ${t}`).join(', ') : '';
      out.push(`- tier ${n.tier.tier} (from ${n.tier.source})${per ? `; workloads: ${per}` : ''}`);
    }
    out.push(`- risk: ${n.risk.score > 0 ? `highest workload score ${n.risk.score} (sum ${n.risk.total}): ${n.risk.top.join(', ')}` : 'no risk factor ranked'}`);
    out.push(`- readiness: ${n.readiness.ready ? 'ready' : 'not ready (confidence low)'}` +
      `${n.readiness.attributedShare !== null ? `; ${percent(Math.round(n.readiness.attributedShare * 1e6), 1e6)} of its observed flows attributed` : ''}` +
      `${n.readiness.observedSeconds !== null ? `; observed ${formatDuration(n.readiness.observedSeconds)}` : ''}; ${n.readiness.blindSpots} blind spot${n.readiness.blindSpots === 1 ? '' : 's'}`);
    if (n.friction) out.push(`- friction (NetworkPolicies, replayed): ${frictionText(n.friction)}`);
    if (n.coverage) out.push(`- zero-trust coverage: now ${coverageText(n.coverage.before)}; with the proposal ${coverageText(n.coverage.after)}`);
    out.push(...list('why not higher', n.reasons));
    out.push(...list('CronJobs', n.cronJobs.map((c) => `${c.id} \`${c.schedule}\`: ${c.note}${c.observed ? ', observed' : ', not observed'}`)));
    out.push(...list('no observed traffic (no policy)', n.idle));
    out.push(...list('host network (NetworkPolicy does not apply)', n.hostNetwork));
    out.push(...list('no stable selector (no policy)', n.unselectable));
    out.push(...list('Unknown peers (reported, not guessed)', n.unknownPeers.map((u) => `${u.edge} (${u.flows} flows)`)));
    out.push(...list('from node addresses', n.nodeClients));
    out.push(...list('ports to review', n.suspectPorts));
    out.push('');
  });
  if (plan.skipped.length) out.push('## Not generated', '', ...plan.skipped.map((s) => `- ${s.namespace}: ${s.reason}`), '');
  return out.join('\n');
}
