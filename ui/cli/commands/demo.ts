import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { openStore } from '../../../store/open.js';
import { ingestPaths } from '../../ingest.js';
import { analyzeGraph } from '../../pipeline.js';
import { InputError } from '../errors.js';
import { graphText } from '../format-graph.js';
import { parsePort, serveStore } from './serve.js';

/** The bundled scenario, found from the compiled file (dist/ui/cli/commands) or the sources (ui/cli/commands). */
export function demoInputDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../..', '../../..']) {
    const dir = join(here, up, 'fixtures', 'online-boutique', 'input');
    if (existsSync(dir)) return dir;
  }
  throw new InputError('the bundled demo scenario (fixtures/online-boutique/input) is missing from this installation');
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('ingest the bundled Online Boutique scenario into a fresh database, summarise it, and serve the web UI')
    .option('--port <port>', 'port for the web UI (0 picks a free one)', '8080')
    .option('--no-serve', 'stop after the summary (do not start the web UI)')
    .action(async (opts: { port: string; serve: boolean }, cmd: Command) => {
      if (opts.serve) parsePort(opts.port);
      // The demo never touches the user's own ./segmap.db unless --db names a file explicitly.
      const explicit = cmd.parent?.getOptionValueSource('db') !== 'default';
      const db = explicit ? (cmd.optsWithGlobals() as { db: string }).db : 'segmap-demo.db';
      for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
      const input = demoInputDir();
      process.stderr.write(`segmap demo: ingesting ${input} into ${db}\n`);
      const store = await openStore(db);
      try {
        const reports = await ingestPaths(store, [input]);
        const read = reports.reduce((s, r) => s + r.counts.read, 0);
        process.stderr.write(`segmap demo: ${reports.length} files, ${read} records\n`);
        const g = await analyzeGraph(store);
        process.stdout.write(graphText(g));
        if (!opts.serve) {
          process.stderr.write(`segmap demo: done. Explore with: npx segmap --db ${db} graph --format json\n`);
          return;
        }
        await serveStore(store, { host: '127.0.0.1', port: opts.port }, 'segmap demo');
      } finally {
        await store.close();
      }
    });
}
