/**
 * ClickHouse section of `npm run bench`: the scale-out store (issue 9) measured beside SQLite, on a private server
 * started the way the tests start theirs (test/helpers/clickhouse-server.ts: the machine's `clickhouse-server` on
 * loopback, temp data dir, killed afterwards).
 *
 * - Ingest records/s of the same generated VPC flow log SQLite's section reads (`.bench/vpc-N.log`): SQLite with one
 *   writer, ClickHouse with one writer, and ClickHouse with two writer processes at once, each ingesting one half of the
 *   file (cached as `.bench/vpc-N.half1.log`, `.half2.log`). Each run is the built CLI, measured from outside.
 * - The graphs agree: ClickHouse's (1 writer) equals SQLite's byte for byte; the 2-writer one equals it but for the
 *   edges' `sources` (the halves are other files).
 * - Analysis over 50M aggregate rows: generated server-side (INSERT … SELECT FROM system.numbers, states built with
 *   arrayReduce — the staging table's materialized view would take ~10 minutes on 18.16) for one input whose cluster
 *   snapshot is the simulate section's estate (2,000 pods), so attribution does real work; then the read alone
 *   (`store.aggregates()` in this process) and `segmap graph --format json` (the CLI, measured from outside).
 *
 * Figures are printed, never asserted. Run alone: `node dist/bench/clickhouse.js [--records N] [--analysis-rows N]`.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClickHouseStore } from '../store/clickhouse.js';
import { findClickHouseServer, startClickHouseServer } from '../test/helpers/clickhouse-server.js';
import { runMeasured, type ChildResult } from './measure.js';
import { simulateEstate } from './simulate.js';
import { fmt, mark } from './table.js';
import { defaultTrafficParams, ensureTrafficLog } from './vpc-traffic.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_DIR = join(ROOT, '.bench');
const CLI = join(ROOT, 'dist/ui/cli/main.js');
/** The target: ClickHouse ingest (one writer) within 1.5× of SQLite's time. */
const TARGET_SLOWDOWN = 1.5;
/** The generated estate's first bucket (as bench/simulate.ts). */
const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;

export interface ClickHouseBenchOptions {
  /** Lines of the generated VPC flow log (default 1M, SQLite's first size). */
  records?: number;
  /** Aggregate rows for the analysis run (default 50M). */
  analysisRows?: number;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** The file's lines split in two halves (the header line heads both), cached beside it. */
async function halves(path: string): Promise<[string, string]> {
  const out: [string, string] = [path.replace(/\.log$/, '.half1.log'), path.replace(/\.log$/, '.half2.log')];
  const meta = `${out[0]}.meta.json`;
  const key = JSON.stringify({ source: path, size: statSync(path).size, mtime: statSync(path).mtimeMs });
  if (out.every(existsSync) && existsSync(meta) && readFileSync(meta, 'utf8') === key) return out;
  let lines = 0;
  for await (const _ of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) lines++;
  const half = Math.ceil((lines - 1) / 2);
  const writers = out.map((p) => createWriteStream(p));
  let n = 0;
  let header = '';
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (n === 0) {
      header = line;
      for (const w of writers) w.write(`${header}\n`);
    } else {
      const w = writers[n <= half ? 0 : 1];
      if (!w.write(`${line}\n`)) await once(w, 'drain');
    }
    n++;
  }
  await Promise.all(writers.map((w) => new Promise((r) => w.end(r))));
  writeFileSync(meta, key);
  return out;
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

function ok(r: ChildResult, what: string): ChildResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code ?? r.signal}): ${firstLine(r.stderr) || firstLine(r.stdout)}`);
  return r;
}

const ingest = (db: string, ...files: string[]) => runMeasured(process.execPath, [CLI, '--db', db, 'ingest', ...files], { cwd: ROOT });
const graph = async (db: string) => ok(await runMeasured(process.execPath, [CLI, '--db', db, 'graph', '--format', 'json'], { cwd: ROOT, maxCapture: 256 << 20 }), `segmap graph on ${db}`);
const withoutSources = (json: string) => JSON.stringify((JSON.parse(json) as { edges: { sources?: unknown }[] }).edges.map(({ sources, ...e }) => e));

/** 50M distinct aggregate rows between the simulate estate's pods (and 20% to external addresses), built by the server. */
function generationSql(inputId: number, rows: number): string {
  // Row n: pair = n / 1000 (src pod s = pair / 25, its d-th peer), bucket n % 1000 (3.5 days of 5-min buckets).
  // Peers d < 20 are the 5 pods of 4 Deployments the source's Deployment calls; d ≥ 20 external addresses.
  const podIp = (e: string) => `concat('10.64.', toString(intDiv(${e}, 256)), '.', toString(${e} % 256))`;
  return `
    INSERT INTO {db}.flow_aggregates (input_id, observer, src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted,
      src_identity, dst_identity, rows, flows, packets, bytes, tcp_flags, first_seen, last_seen)
    SELECT toUInt64(${inputId}), 'eni-bench', ${podIp('s')},
      if(d < 20, ${podIp('dp')}, concat('203.0.113.', toString((s * 7 + d) % 250))),
      toUInt16(0), toUInt16(if(d < 20, [80, 443, 5432, 6379, 8080, 9090, 50051][toDep % 7 + 1], 443)), toUInt8(6), toFloat64(bk), toUInt8(1), '', '',
      arrayReduce('sumState', [toUInt64(1)]), arrayReduce('sumState', [toFloat64(1 + n % 20)]), arrayReduce('sumState', [toFloat64(10)]),
      arrayReduce('sumState', [toFloat64(1000)]), arrayReduce('groupBitOrState', [toUInt16(2)]), arrayReduce('minState', [toFloat64(bk)]),
      arrayReduce('maxState', [toFloat64(bk + 60)])
    FROM (
      SELECT number AS n, intDiv(number, 1000) AS pair, ${T0} + 300 * (number % 1000) AS bk, intDiv(pair, 25) % 2000 AS s, pair % 25 AS d,
             intDiv(s, 5) AS fromDep, (fromDep + [1, 7, 31, 101][intDiv(d, 5) % 4 + 1]) % 400 AS toDep, toDep * 5 + d % 5 AS dp
      FROM system.numbers LIMIT ${rows}
    )`;
}

export async function benchClickHouse(o: ClickHouseBenchOptions = {}): Promise<{ label: string; value: string }[]> {
  const records = o.records ?? 1_000_000;
  const analysisRows = o.analysisRows ?? 50_000_000;
  const binary = findClickHouseServer();
  if (!binary) throw new Error('clickhouse-server not installed');
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first`);
  mkdirSync(BENCH_DIR, { recursive: true });
  const rows: { label: string; value: string }[] = [];

  const input = await ensureTrafficLog(BENCH_DIR, defaultTrafficParams(records), (n) => log(`  generating: ${fmt.int(n)} / ${fmt.int(records)} lines`));
  const parts = await halves(input.path);
  const lines = input.stats.lines;
  log(`clickhouse: starting a private clickhouse-server (${binary}) …`);
  const server = await startClickHouseServer(binary);
  try {
    const url = (db: string) => `${server.url}/${db}`;
    const probe = await ClickHouseStore.open(url('bench_probe'));
    const [[version]] = await probe.rows('SELECT version()');
    await probe.close();
    rows.push({ label: 'server', value: `clickhouse-server ${version}, private, 127.0.0.1:${server.httpPort}, sharing this machine's ${cpus().length} CPUs with the CLI` });
    rows.push({ label: 'input', value: `VPC flow log, ${fmt.int(lines)} lines (${fmt.bytes(input.stats.bytes)}); 2 writers: one half each` });

    // Ingest: SQLite, ClickHouse × 1 writer, ClickHouse × 2 writers.
    const sqliteDb = join(BENCH_DIR, `ch-sqlite-${records}.db`);
    for (const s of ['', '-wal', '-shm']) rmSync(sqliteDb + s, { force: true });
    log(`clickhouse: segmap ingest ${fmt.size(records)} into SQLite …`);
    const sqlite = ok(await ingest(sqliteDb, input.path), 'SQLite ingest');
    log(`clickhouse: segmap ingest ${fmt.size(records)} into ClickHouse, 1 writer …`);
    const one = ok(await ingest(url('ingest_1'), input.path), 'ClickHouse ingest (1 writer)');
    // The schema exists before the two writers start, as it would on a server that is already in use.
    await (await ClickHouseStore.open(url('ingest_2'))).close();
    log(`clickhouse: segmap ingest ${fmt.size(records)} into ClickHouse, 2 writers at once …`);
    const t0 = performance.now();
    const two = await Promise.all(parts.map((p) => ingest(url('ingest_2'), p)));
    const twoSeconds = (performance.now() - t0) / 1000;
    two.forEach((r, i) => ok(r, `ClickHouse ingest (writer ${i + 1} of 2)`));
    const rate = (s: number) => lines / s;
    rows.push({ label: 'SQLite, 1 writer', value: `${fmt.rate(rate(sqlite.wallSeconds))} (${fmt.sec(sqlite.wallSeconds)}, peak RSS ${fmt.mb(sqlite.peakRssMB)})` });
    const slowdown = one.wallSeconds / sqlite.wallSeconds;
    rows.push({
      label: 'ClickHouse, 1 writer',
      value: `${fmt.rate(rate(one.wallSeconds))} (${fmt.sec(one.wallSeconds)}, peak RSS ${fmt.mb(one.peakRssMB)}); ${fmt.ratio(slowdown)} SQLite's time ` +
        `(target ≤ ${TARGET_SLOWDOWN}×: ${mark(slowdown <= TARGET_SLOWDOWN)})`,
    });
    rows.push({
      label: 'ClickHouse, 2 writers at once',
      value: `${fmt.rate(rate(twoSeconds))} (${fmt.sec(twoSeconds)}; writers ${two.map((r) => fmt.sec(r.wallSeconds)).join(' / ')}); ` +
        `${fmt.ratio(one.wallSeconds / twoSeconds)} one writer's rate`,
    });

    log('clickhouse: comparing graphs …');
    const gSqlite = (await graph(sqliteDb)).stdout;
    const gOne = (await graph(url('ingest_1'))).stdout;
    const gTwo = (await graph(url('ingest_2'))).stdout;
    rows.push({
      label: 'graph --format json vs SQLite',
      value: `1 writer byte-identical: ${mark(gOne === gSqlite)}; 2 writers equal but for sources: ${mark(withoutSources(gTwo) === withoutSources(gSqlite))} ` +
        `(${fmt.int((JSON.parse(gSqlite) as { edges: unknown[] }).edges.length)} edges)`,
    });
    for (const s of ['', '-wal', '-shm']) rmSync(sqliteDb + s, { force: true });

    // Analysis over 50M aggregate rows.
    log(`clickhouse: generating ${fmt.int(analysisRows)} aggregate rows server-side …`);
    const store = await ClickHouseStore.open(url('analysis'));
    let readSeconds: number;
    let stored: number;
    try {
      const g0 = performance.now();
      const w = await store.beginInput('bench:generated', `bench-generated-${analysisRows}`, 'bench');
      await w.addSnapshot(T0, simulateEstate(0).objects);
      await store.command(generationSql(w.inputId, analysisRows));
      await w.commit({ read: analysisRows, skipped: {} }, [], true);
      const genSeconds = (performance.now() - g0) / 1000;
      stored = (await store.counts()).aggregates;
      // Reads of an estate come long after its writes: let the background merges settle first (up to 10 minutes).
      log('clickhouse: waiting for background merges …');
      const m0 = performance.now();
      for (let quiet = 0; quiet < 3 && performance.now() - m0 < 600_000;) {
        await new Promise((r) => setTimeout(r, 1000));
        const [[merging]] = await store.rows(`SELECT count() FROM system.merges WHERE database = 'analysis'`);
        quiet = merging === '0' ? quiet + 1 : 0;
      }
      const [[parts]] = await store.rows(`SELECT count() FROM system.parts WHERE database = 'analysis' AND table = 'flow_aggregates' AND active`);
      rows.push({
        label: 'analysis input',
        value: `${fmt.int(stored)} aggregate rows (2,000 pods, 20% external peers), generated in ${fmt.sec(genSeconds)}; ` +
          `merges settled after ${fmt.sec((performance.now() - m0) / 1000)} (${parts} parts)`,
      });
      log('clickhouse: reading them back (store.aggregates()) …');
      const r0 = performance.now();
      let n = 0;
      for await (const chunk of store.aggregates()) n += chunk.length;
      readSeconds = (performance.now() - r0) / 1000;
      if (n !== stored) throw new Error(`read ${n} aggregates of ${stored}`);
    } finally {
      await store.close();
    }
    rows.push({ label: 'read: store.aggregates() (FINAL, RowBinary, folded here)', value: `${fmt.sec(readSeconds)} (${fmt.rate(stored / readSeconds)})` });
    log('clickhouse: segmap graph over them …');
    const analysis = await graph(url('analysis'));
    const edges = (JSON.parse(analysis.stdout) as { edges: unknown[] }).edges.length;
    rows.push({
      label: `analysis: segmap graph --format json over ${fmt.size(stored)}`,
      value: `${fmt.sec(analysis.wallSeconds)} (${fmt.rate(stored / analysis.wallSeconds)}), peak RSS ${fmt.mb(analysis.peakRssMB)}, ${fmt.int(edges)} edges`,
    });
  } finally {
    await server.stop();
  }
  return rows;
}

// Run alone (`node dist/bench/clickhouse.js`): print the rows; `npm run bench` prints them in its own table.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { records: { type: 'string' }, 'analysis-rows': { type: 'string' } } });
  const n = (s: string | undefined) => (s === undefined ? undefined : Number(s.replace(/_/g, '').replace(/[kK]$/, 'e3').replace(/[mM]$/, 'e6')));
  try {
    for (const r of await benchClickHouse({ records: n(values.records), analysisRows: n(values['analysis-rows']) })) {
      process.stdout.write(`${r.label.padEnd(58)} ${r.value}\n`);
    }
  } catch (e) {
    process.stderr.write(`bench clickhouse: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
