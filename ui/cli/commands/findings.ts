import { Option, type Command } from 'commander';
import { sortFindingsByRisk } from '../../../analyzer/risk.js';
import { endpointId, type Endpoint, type Finding, type WorkloadRisk } from '../../../model/index.js';
import { analyzeFindings } from '../../pipeline.js';
import { openExisting } from '../db.js';
import { parseTime } from '../time.js';

export function registerFindings(program: Command): void {
  program
    .command('findings')
    .description('what the cluster\'s policies allow against what was observed, egress risk, service accounts; ranked by workload risk (catalogue of ids in the README)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'text']).default('text'))
    .option('--since <time>', 'only traffic at or after this time')
    .option('--until <time>', 'only traffic before this time')
    .option('--with-risk', 'json: print {risk, findings}: the per-workload risk ranking, and the findings in its order')
    .action(async (opts: { format: string; since?: string; until?: string; withRisk?: boolean }, cmd: Command) => {
      const store = await openExisting(cmd);
      try {
        const { findings, problems, risk } = await analyzeFindings(store, {
          since: opts.since ? parseTime(opts.since, '--since') : undefined,
          until: opts.until ? parseTime(opts.until, '--until') : undefined,
        });
        for (const p of problems) process.stderr.write(`segmap: ${p}\n`);
        // JSON keeps its contract (an array, most severe first) unless --with-risk; text answers "where do we start?".
        const ranked = sortFindingsByRisk(findings, risk);
        process.stdout.write(opts.format === 'json'
          ? JSON.stringify(opts.withRisk ? { risk, findings: ranked } : findings, null, 2) + '\n'
          : findingsText(ranked, risk));
      } finally {
        await store.close();
      }
    });
}

const TOP = 10;

/** The ranking's head (workloads with a score), then every finding in ranking order, severity first on each line. */
function findingsText(fs: Finding[], risk: WorkloadRisk[]): string {
  if (fs.length === 0) return 'no findings\n';
  const scored = risk.filter((r) => r.score > 0);
  const head = scored.length === 0 ? [] : [
    'where to start (risk score: per factor, its most severe finding 10/6/3/1 + 1 per further finding id; see the README):',
    ...scored.slice(0, TOP).map((r) => `${String(r.rank).padStart(4)}. ${String(r.score).padStart(3)}  ${r.workload}  ${r.factors.map((f) => `${f.factor} ${f.points}`).join(', ')}`),
    ...(scored.length > TOP ? [`      … ${scored.length - TOP} more workloads with a score`] : []),
    '',
  ];
  const lines = fs.map((f) => `${f.severity.toUpperCase().padEnd(8)} ${f.id} ${subjectId(f)}: ${f.message}`);
  // Names come from the inputs (DNS answers, cluster objects): never let them drive the terminal.
  return [...head, ...lines].map((l) => l.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')).join('\n') + '\n';
}

function subjectId(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject as Endpoint);
}
