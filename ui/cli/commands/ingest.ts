import type { Command } from 'commander';
import { formatIssue, totalSkipped } from '../../../model/index.js';
import { SOURCES } from '../../../collector/registry.js';
import { openStore } from '../../../store/open.js';
import { ingestPaths, type IngestReport } from '../../ingest.js';
import { dbPath } from '../db.js';
import { InputError, UsageError } from '../errors.js';
import { parseTime } from '../time.js';

const MAX_ISSUES_SHOWN = 5;

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('read flow logs and cluster dumps into the database (format auto-detected per file; .gz ok; dirs recurse)')
    .argument('<path...>', 'files or directories')
    .option('--at <time>', 'snapshot time for cluster dumps (default: newest timestamp inside the dump)')
    .option('-q, --quiet', 'only the summary line')
    .option('-n, --namespace <ns>', 'namespace for objects in dumps or manifests that name none (as kubectl apply -n)')
    .option('--format <name>', `read every file as this format instead of detecting it (${SOURCES.map((s) => s.format).join(', ')})`)
    .action(async (paths: string[], opts: { at?: string; quiet?: boolean; format?: string; namespace?: string }, cmd: Command) => {
      if (opts.format && !SOURCES.some((s) => s.format === opts.format)) {
        throw new UsageError(`--format: unknown format ${opts.format} (one of ${SOURCES.map((s) => s.format).join(', ')})`);
      }
      const store = await openStore(dbPath(cmd));
      const t0 = performance.now();
      let reports: IngestReport[];
      try {
        reports = await ingestPaths(store, paths, {
          snapshotAt: opts.at ? parseTime(opts.at, '--at') : undefined,
          format: opts.format,
          namespace: opts.namespace,
          onProgress: (p, n) => { if (!opts.quiet) process.stderr.write(`  ${p}: ${n.toLocaleString('en-US')} lines…\n`); },
          onReport: (r) => { if (!opts.quiet) process.stderr.write(describe(r)); },
        });
      } catch (e) {
        await store.close();
        throw new InputError((e as Error).message + ((e as Error).cause ? `: ${((e as Error).cause as Error).message}` : ''));
      }
      await store.close();
      const seconds = (performance.now() - t0) / 1000;
      const read = reports.reduce((s, r) => s + r.counts.read, 0);
      const skipped = reports.reduce((s, r) => s + totalSkipped(r.counts), 0);
      const by = (st: IngestReport['status']) => reports.filter((r) => r.status === st).length;
      const rss = process.resourceUsage().maxRSS / 1024;
      process.stdout.write(
        `ingested ${by('ingested') + by('partial')} of ${reports.length} files (${by('unchanged')} unchanged, ${by('partial')} partial, ` +
        `${by('unrecognized')} unrecognized, ${by('failed')} failed): ${read} records read, ${skipped} skipped; ` +
        `${Math.round(read / Math.max(seconds, 1e-6))} records/s; peak RSS ${Math.round(rss)} MB\n`,
      );
      // Non-zero only when nothing usable came out of inputs that had something wrong with them.
      const usable = reports.some((r) => r.status === 'unchanged' || (r.status !== 'failed' && r.status !== 'unrecognized' && r.counts.read > 0));
      if (!usable) process.exitCode = 1;
    });
}

function describe(r: IngestReport): string {
  const skipped = Object.entries(r.counts.skipped).map(([k, v]) => `${k}=${v}`).join(' ');
  let s = `${r.status} ${r.path}${r.format ? ` (${r.format})` : ''}`;
  const notes = Object.entries(r.counts.notes ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  if (r.status !== 'unchanged' && r.status !== 'unrecognized') s += `: ${r.counts.read} records${skipped ? `, skipped ${skipped}` : ''}${notes ? `, ${notes}` : ''}, ${r.written} rows in ${r.seconds.toFixed(2)} s`;
  if (r.error) s += `: ${r.error}`;
  s += '\n';
  for (const i of r.issues.slice(0, MAX_ISSUES_SHOWN)) s += `  ${formatIssue(i)}\n`;
  if (r.issues.length > MAX_ISSUES_SHOWN) s += `  … ${totalSkipped(r.counts) - MAX_ISSUES_SHOWN} more\n`;
  return s;
}
