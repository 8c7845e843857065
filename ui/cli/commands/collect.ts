import type { Command } from 'commander';
import { AccessError, collect, connect, type CollectOptions, type CollectSummary } from '../../../collector/k8s-api.js';
import type { CollectionSink, FlowStore } from '../../../store/backend.js';
import { openStore } from '../../../store/open.js';
import { WriteQueue } from '../../write-queue.js';
import { dbPath } from '../db.js';
import { InputError, UsageError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `10m`, `2h`, `90s`, `1d` → seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new UsageError(`${flag}: cannot read duration "${text}" (use e.g. 90s, 10m, 2h, 1d)`);
  return Number(m[1]) * UNITS[m[2]];
}

export type CollectK8sOptions = Omit<CollectOptions, 'onListing' | 'onEvents' | 'onMessage'> & { log?: (line: string) => void };

export interface CollectK8sResult extends CollectSummary {
  /** Objects stored by listings (the first and every relist). */
  objects: number;
  listings: number;
}

/**
 * List (and with `watch`, keep watching) a live cluster into the store: the listing is one snapshot, each relist
 * another, each watch event a one-object snapshot marked with its type (store migration 2). Everything handed over is
 * committed before this returns, also when it ends by the signal or by an error.
 */
export async function collectK8s(store: FlowStore, opts: CollectK8sOptions): Promise<CollectK8sResult> {
  const connection = opts.connection ?? connect(opts);
  const log = opts.log ?? (() => {});
  // The collector hands listings and events over synchronously; they are stored in order, one write at a time.
  const writes = new WriteQueue();
  let writer: Promise<CollectionSink> | undefined;
  const open = () => (writer ??= store.beginCollection(`k8s-api:${connection.name}`, 'k8s-api'));
  let objects = 0;
  let listings = 0;
  let events = 0;
  const counts = () => ({ read: objects + events, skipped: {} });
  let summary: CollectSummary;
  try {
    summary = await collect({
      ...opts,
      connection,
      onMessage: (level, text) => log(level === 'warn' ? `warning: ${text}` : `  ${text}`),
      onListing: (takenAt, kinds, objs) => {
        writes.push(async () => (await open()).addListing(takenAt, kinds, objs)).catch(() => {}); // drain() reports it
        objects += objs.length;
        listings++;
      },
      onEvents: (evs) => {
        writes.push(async () => (await open()).addEvents(evs)).catch(() => {}); // drain() reports it
        events += evs.length;
      },
    });
  } catch (e) {
    await writes.drain().catch(() => {});
    await (await writer)?.finish(counts(), [], false);
    throw e;
  }
  await writes.drain();
  await (await writer)?.finish(counts(), [], true);
  return { ...summary, objects, listings };
}

export function registerCollect(program: Command): void {
  const group = program.command('collect').description('read cluster objects from a live source');
  group
    .command('k8s')
    .description('list a live cluster (read-only) into the database; with --watch keep recording changes (IP history)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--watch <duration>', 'keep watching for this long after the listing (e.g. 10m, 2h); Ctrl-C stops early')
    .option('-q, --quiet', 'only the summary line')
    .action(async (opts: { kubeconfig?: string; context?: string; watch?: string; quiet?: boolean }, cmd: Command) => {
      const watchSeconds = opts.watch !== undefined ? parseDuration(opts.watch, '--watch') : undefined;
      let connection;
      try {
        connection = connect({ kubeconfig: opts.kubeconfig, context: opts.context });
      } catch (e) {
        throw new InputError(withCause(e as Error));
      }
      const store = await openStore(dbPath(cmd));
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => {
        if (!opts.quiet) process.stderr.write(`\n${sig}: stopping, writing what was recorded…\n`);
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const timer = watchSeconds !== undefined ? setTimeout(() => stop.abort(), watchSeconds * 1000) : undefined;
      const t0 = performance.now();
      if (!opts.quiet) process.stderr.write(`collecting from ${connection.name}${watchSeconds ? `, watching for ${opts.watch}` : ''}\n`);
      try {
        const r = await collectK8s(store, {
          connection, watch: watchSeconds !== undefined, signal: stop.signal,
          log: (line) => { if (!opts.quiet || line.startsWith('warning:')) process.stderr.write(line + '\n'); },
        });
        const ev = Object.entries(r.events).map(([k, v]) => `${k} ${v}`).join(', ');
        const total = Object.values(r.events).reduce((a, b) => a + b, 0);
        process.stdout.write(
          `collected ${r.objects} objects of ${Object.keys(r.listed).length} kinds in ${r.listings} listing${r.listings === 1 ? '' : 's'}` +
          (watchSeconds !== undefined ? `; ${total} watch events${ev ? ` (${ev})` : ''} in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${r.relists} relists, ${r.reconnects} reconnects` : '') +
          (Object.keys(r.skipped).length ? `; skipped ${Object.entries(r.skipped).map(([k, v]) => `${k} (${v})`).join(', ')}` : '') + '\n',
        );
      } catch (e) {
        if (e instanceof AccessError) throw new InputError(e.message);
        throw new InputError(withCause(e as Error));
      } finally {
        clearTimeout(timer);
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        await store.close();
      }
    });
}

function withCause(e: Error): string {
  const cause = e.cause as Error | undefined;
  return e.message + (cause?.message ? `: ${cause.message}` : '');
}
