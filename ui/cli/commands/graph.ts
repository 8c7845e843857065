import { Option, type Command } from 'commander';
import { analyzeGraph } from '../../pipeline.js';
import { openExisting } from '../db.js';
import { graphDot, graphText } from '../format-graph.js';
import { parseTime } from '../time.js';

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description('print the workload dependency graph')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'dot', 'text']).default('text'))
    .option('--since <time>', 'only traffic at or after this time (ISO 8601, epoch s, or a duration such as 24h)')
    .option('--until <time>', 'only traffic before this time')
    .option('--namespace <ns>', 'only edges with an end in this namespace')
    .action(async (opts: { format: string; since?: string; until?: string; namespace?: string }, cmd: Command) => {
      const store = await openExisting(cmd);
      try {
        const g = await analyzeGraph(store, {
          since: opts.since ? parseTime(opts.since, '--since') : undefined,
          until: opts.until ? parseTime(opts.until, '--until') : undefined,
          namespace: opts.namespace,
        });
        process.stdout.write(opts.format === 'json' ? JSON.stringify(g, null, 2) + '\n' : opts.format === 'dot' ? graphDot(g) : graphText(g));
      } finally {
        await store.close();
      }
    });
}
