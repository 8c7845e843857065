import { Option, type Command } from 'commander';
import { endpointId, type Endpoint, type Finding } from '../../../model/index.js';
import { analyzeFindings } from '../../pipeline.js';
import { openExisting } from '../db.js';
import { parseTime } from '../time.js';

export function registerFindings(program: Command): void {
  program
    .command('findings')
    .description('what the cluster\'s policies allow against what was observed (catalogue of ids in the README)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'text']).default('text'))
    .option('--since <time>', 'only traffic at or after this time')
    .option('--until <time>', 'only traffic before this time')
    .action(async (opts: { format: string; since?: string; until?: string }, cmd: Command) => {
      const store = await openExisting(cmd);
      try {
        const { findings, problems } = await analyzeFindings(store, {
          since: opts.since ? parseTime(opts.since, '--since') : undefined,
          until: opts.until ? parseTime(opts.until, '--until') : undefined,
        });
        for (const p of problems) process.stderr.write(`segmap: ${p}\n`);
        process.stdout.write(opts.format === 'json' ? JSON.stringify(findings, null, 2) + '\n' : findingsText(findings));
      } finally {
        await store.close();
      }
    });
}

function findingsText(fs: Finding[]): string {
  if (fs.length === 0) return 'no findings\n';
  return fs.map((f) => `${f.severity.toUpperCase().padEnd(8)} ${f.id} ${subjectId(f)}: ${f.message}`).join('\n') + '\n';
}

function subjectId(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject as Endpoint);
}
