import { Option, type Command } from 'commander';
import { endpointId, formatIssue, type Friction } from '../../../model/index.js';
import { frictionText } from '../../../analyzer/emit/figures.js';
import { explain, replay, type DeniedEdge, type Explanation, type ReplayResult } from '../../../analyzer/replay.js';
import type { DecidedBy } from '../../../analyzer/policy/types.js';
import { lintPolicies } from '../../../analyzer/policy/lint.js';
import { parsePolicies } from '../../../analyzer/policy/parse-policies.js';
import { loadIdentity, policyEngine, workloadPods } from '../../pipeline.js';
import { mergePolicies, readPolicyFiles } from '../../policy-input.js';
import { openExisting } from '../db.js';
import { InputError } from '../errors.js';
import { parseTime } from '../time.js';
import { UsageError } from '../errors.js';

interface SimulateOpts { format: string; namespace: string; ignoreExisting?: boolean; explain?: string; since?: string; until?: string }

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('replay observed flows against policy manifests (plus the cluster\'s own policies) and list what they would drop')
    .argument('<policy-path...>', 'policy manifests: files or directories')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'text']).default('text'))
    .option('-n, --namespace <ns>', 'namespace for NetworkPolicies that name none', 'default')
    .option('--ignore-existing', 'replay against the given manifests only, not the cluster\'s current policies')
    .option('--explain <flow>', 'explain one observed edge: "SRC => DST : PROTO PORT" as `graph` prints it')
    .option('--since <time>', 'only traffic at or after this time')
    .option('--until <time>', 'only traffic before this time')
    .addHelpText('after', '\nExit status 1 when the policies would drop observed traffic (a failed check).')
    .action(async (paths: string[], opts: SimulateOpts, cmd: Command) => {
      const input = await readPolicyFiles(paths, opts.namespace).catch((e: Error) => { throw new InputError(`${e.message}${e.cause ? `: ${(e.cause as Error).message}` : ''}`); });
      for (const i of input.issues) process.stderr.write(`${formatIssue(i)}\n`);
      if (input.objects.length === 0) throw new InputError(`no NetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy in ${paths.join(', ')}`);
      const store = await openExisting(cmd);
      try {
        const identity = await loadIdentity(store);
        const objects = opts.ignoreExisting ? input.objects : mergePolicies(identity.current, input.objects);
        const { engine, problems } = policyEngine(objects);
        const warnings = [...problems, ...input.ignored, ...lintPolicies(parsePolicies(input.objects).policies, workloadPods(identity))];
        for (const w of warnings) process.stderr.write(`segmap: warning: ${w}\n`);
        const window = { since: opts.since ? parseTime(opts.since, '--since') : undefined, until: opts.until ? parseTime(opts.until, '--until') : undefined };
        if (opts.explain) {
          const spec = parseFlowSpec(opts.explain);
          const x = await explain(identity, store.aggregates(window), engine, spec);
          if (!x) throw new InputError(`no observed flow ${opts.explain} in the window (spell it as \`graph --format text\` prints it)`);
          process.stdout.write(opts.format === 'json' ? JSON.stringify(x, null, 2) + '\n' : explanationText(x));
          if (!x.decision.allowed) process.exitCode = 1;
          return;
        }
        const result = await replay(identity, store.aggregates(window), engine);
        process.stdout.write(opts.format === 'json' ? JSON.stringify({ ...jsonResult(result), warnings }, null, 2) + '\n' : textResult(result));
        if (result.denied.length > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

/** The blocked-flow count in the words `policies` uses for its proposals (`friction`). */
export function replayFriction(r: ReplayResult): Friction {
  return { replayedFlows: r.allowedFlows + r.deniedFlows, blockedFlows: r.deniedFlows, blockedEdges: r.denied.length };
}

function jsonResult(r: ReplayResult) {
  return { denied: r.denied, allowedFlows: r.allowedFlows, deniedFlows: r.deniedFlows, notEvaluatedFlows: r.notEvaluatedFlows, friction: { ...replayFriction(r), byPolicy: frictionByPolicy(r) } };
}

/** Blocked flows per deciding policy (`ns/name`, or the direction's `no policy`), most first. */
function frictionByPolicy(r: ReplayResult): { policy: string; blockedFlows: number; blockedEdges: number }[] {
  const m = new Map<string, { policy: string; blockedFlows: number; blockedEdges: number }>();
  for (const e of r.denied) {
    const d = e.decidedBy;
    const policy = d.kind === 'None' ? `(no policy, ${d.direction})` : `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}`;
    const t = m.get(policy) ?? m.set(policy, { policy, blockedFlows: 0, blockedEdges: 0 }).get(policy)!;
    t.blockedFlows += e.flows;
    t.blockedEdges++;
  }
  return [...m.values()].sort((a, b) => b.blockedFlows - a.blockedFlows || a.policy.localeCompare(b.policy));
}

export function describeDecider(d: DecidedBy): string {
  if (d.kind === 'None') return `no policy (${d.direction})`;
  const name = d.namespace ? `${d.namespace}/${d.name}` : d.name;
  const rule = typeof d.rule === 'number' ? `${d.direction} rule ${d.rule}${d.ruleName ? ` "${d.ruleName}"` : ''}` : `${d.direction} ${d.rule}`;
  return `${d.kind} ${name}: ${rule}`;
}

function deniedLine(e: DeniedEdge): string {
  return `${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port} (${e.flows} flows, ${e.firstSeen} .. ${e.lastSeen}) denied by ${describeDecider(e.decidedBy)}`;
}

function textResult(r: ReplayResult): string {
  const total = r.allowedFlows + r.deniedFlows;
  const head = `friction: ${frictionText(replayFriction(r))}\n` + (r.denied.length === 0
    ? `no observed flow would be denied (${r.allowedFlows} flows replayed)`
    : [...frictionByPolicy(r).map((p) => `  by ${p.policy}: ${p.blockedFlows} flows (${p.blockedEdges} edges)`),
      `${r.deniedFlows} of ${total} observed flows would be denied, on ${r.denied.length} edges:`].join('\n'));
  const tail = r.notEvaluatedFlows ? `\n(${r.notEvaluatedFlows} flows of protocols policies cannot name by port, e.g. ICMP, were not evaluated)` : '';
  return [head, ...r.denied.map((e) => `  ${deniedLine(e)}`)].join('\n') + tail + '\n';
}

/** `SRC => DST : PROTO PORT`, the spelling `graph --format text` uses. */
export function parseFlowSpec(text: string) {
  const m = /^\s*(.+?)\s*=>\s*(.+?)\s*:\s*([A-Za-z]+)[\s/]+(\d+)/.exec(text);
  if (!m) throw new UsageError(`--explain: cannot read "${text}"; expected "SRC => DST : PROTO PORT", e.g. "shop/web[Deployment] => shop/db[StatefulSet] : TCP 5432"`);
  return { src: m[1], dst: m[2], protocol: m[3].toUpperCase(), port: Number(m[4]) };
}

function explanationText(x: Explanation): string {
  const side = (label: string, d: Explanation['decision']['egress'], policies: string[]) =>
    `  ${label}: ${d.allowed ? 'allowed' : 'denied'} by ${describeDecider(d.decidedBy)}\n` +
    `    policies selecting it: ${policies.length ? policies.join('; ') : 'none'}`;
  return [
    `${endpointId(x.src)} => ${endpointId(x.dst)} : ${x.protocol} ${x.port} — ${x.decision.allowed ? 'ALLOWED' : 'DENIED'}`,
    `  (evaluated for ${x.srcPeer} → ${x.dstPeer})`,
    side(`egress of ${x.srcPeer}`, x.decision.egress, x.egressPolicies),
    side(`ingress of ${x.dstPeer}`, x.decision.ingress, x.ingressPolicies),
  ].join('\n') + '\n';
}
