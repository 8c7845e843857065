/**
 * One stage of the ingest pipeline, run alone in a fresh process so each stage's time and peak RSS are its own:
 *
 *   node dist/bench/stage-worker.js STAGE FILE [DB]
 *
 * Stages are cumulative (each adds one step to the previous), so differences between them are the step's cost:
 *   read       stream + utf8 decode + split lines (collector/lines forEachLine), handler does nothing
 *   parse      + AWS VPC parser (collector/aws-vpc), records dropped
 *   aggregate  + FlowAggregator (collector/aggregate), flushed aggregates iterated and dropped
 *   store      + InputWriter multi-row inserts into a fresh SQLite db, one transaction (no sha256 pre-pass)
 *   hash       the sha256 pre-pass alone (ui/ingest sha256File), for comparison
 *   full       ui/ingest ingestFile: sha256 + detect + everything above, as the CLI runs it minus startup
 *
 * Prints one JSON line: {stage, seconds, records, aggregates}. BENCH_MAX_ENTRIES=N overrides the aggregator's flush
 * threshold in the aggregate and store stages (an experiment knob; the CLI's own default is what `full` uses).
 */
import { rmSync } from 'node:fs';
import { FlowAggregator } from '../collector/aggregate.js';
import { forEachLine, readHead } from '../collector/lines.js';
import { detectSource } from '../collector/registry.js';
import { newReadContext } from '../collector/source.js';
import type { AggregateBatch, FlowRecord } from '../model/index.js';
import type { InputSink } from '../store/backend.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestFile, sha256File } from '../ui/ingest.js';
import { STAGES, type Stage } from './stage-worker-stages.js';


async function main(): Promise<void> {
  const [stage, file, db] = process.argv.slice(2) as [Stage, string, string | undefined];
  if (!STAGES.includes(stage) || !file) {
    process.stderr.write(`usage: stage-worker.js ${STAGES.join('|')} FILE [DB]\n`);
    process.exitCode = 2;
    return;
  }
  const t0 = performance.now();
  let records = 0;
  let aggregates = 0;
  const freshDb = () => {
    const path = db ?? `${file}.stage.db`;
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
    return SqliteStore.open(path);
  };

  if (stage === 'hash') {
    await sha256File(file);
  } else if (stage === 'full') {
    const store = freshDb();
    const r = await ingestFile(store, file);
    await store.close();
    records = r.counts.read;
    aggregates = r.written;
  } else if (stage === 'read') {
    const out = await forEachLine(file, () => { records++; });
    records = out.lines;
  } else {
    const source = detectSource(await readHead(file), file);
    if (!source || source.kind !== 'flows') throw new Error(`${file}: not a flow log`);
    const ctx = newReadContext(file);
    let sink: (r: FlowRecord) => void = () => {};
    let agg: FlowAggregator | undefined;
    let store: SqliteStore | undefined;
    let writer: InputSink | undefined;
    if (stage === 'aggregate' || stage === 'store') {
      let flush: (batch: AggregateBatch) => void;
      if (stage === 'store') {
        store = freshDb();
        writer = await store.beginInput(file, 'stage-worker', source.format);
        const w = writer;
        flush = (batch) => {
          void w.addBatch(batch); // SQLite writes at once inside the call
          aggregates += batch.size;
        };
      } else {
        flush = (batch) => { aggregates += batch.size; };
      }
      // BENCH_MAX_ENTRIES: try other flush thresholds without touching collector/ (memory vs. rows written).
      const maxEntries = process.env.BENCH_MAX_ENTRIES ? Number(process.env.BENCH_MAX_ENTRIES) : undefined;
      const a = new FlowAggregator(flush, { maxEntries });
      agg = a;
      sink = (r) => a.add(r);
    }
    const handler = source.open(ctx, sink);
    await forEachLine(file, (line, n) => handler.line(line, n));
    handler.end?.();
    agg?.drain();
    await writer?.commit(ctx.counts, ctx.issues, true);
    await store?.close();
    records = ctx.counts.read;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ stage, seconds, records, aggregates }) + '\n');
}


await main();
