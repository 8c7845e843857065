/**
 * The rollout plan: namespaces ordered narrowest-risk first, each with a confidence and the reasons for it — what
 * the observation may have missed (CronJobs that may not have run in the window, traffic the sources cannot see,
 * peers nobody could attribute, workloads never seen talking).
 */
import { cronMaxGap, formatDuration } from './cron.js';
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
}

export interface RolloutPlan {
  window: { since: string | null; until: string | null; seconds: number | null };
  defaultDeny: boolean;
  namespaces: NamespacePlan[];
  skipped: { namespace: string; reason: string }[];
}

const RANK: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

export function rolloutPlan(set: IntentSet, opts: { defaultDeny: boolean; policiesPerNamespace: ReadonlyMap<string, number> }): RolloutPlan {
  const { since, until } = set.window;
  const seconds = since && until ? Math.round((Date.parse(until) - Date.parse(since)) / 1000) : null;
  const namespaces = set.namespaces.map((f) => namespacePlan(f, seconds, set.sameNodeBlind, opts.defaultDeny, opts.policiesPerNamespace.get(f.namespace) ?? 0));
  namespaces.sort((a, b) => RANK[a.confidence] - RANK[b.confidence] || a.reasons.length - b.reasons.length
    || a.workloads - b.workloads || a.namespace.localeCompare(b.namespace));
  return { window: { since, until, seconds }, defaultDeny: opts.defaultDeny, namespaces, skipped: set.skippedNamespaces };
}

function namespacePlan(f: NamespaceFacts, windowSeconds: number | null, sameNodeBlind: boolean, defaultDeny: boolean, policies: number): NamespacePlan {
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
    nodeClients: f.nodeClients, suspectPorts: f.suspectPorts, sameNodePairs: f.sameNodePairs,
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
    'Apply one namespace at a time, in this order (narrowest risk first). After each, watch for drops before the next;',
    '`segmap simulate DIR/<namespace>` replays newly ingested traffic against the proposal at any time.',
    plan.defaultDeny ? 'Apply a namespace\'s `default-deny` last, once its per-workload policies have held.' : 'No default-deny was generated (`--default-deny`): pods without a policy stay open.',
    '',
  ];
  plan.namespaces.forEach((n, i) => {
    out.push(`## ${i + 1}. ${n.namespace} — confidence: ${n.confidence}`, '');
    out.push(`- ${n.workloads} workloads, ${n.policies} manifests`);
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
