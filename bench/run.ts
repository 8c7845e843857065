/**
 * `npm run bench` — how fast segmap is, measured (never asserted). Runs the built CLI as a child process, the way
 * a user runs it, and measures it from the outside.
 *
 *   npm run bench -- [--sizes 1000000,5000000] [--skip-connectivity] [--skip-reference] [--skip-policies] [--skip-web] [--skip-sources] [--skip-clickhouse] [--analysis-rows N]
 *                    [--runs N] [--profile]
 *
 * Sections: ingest throughput + peak RSS per file size; sqlite3's own `.import` of the same file as the yardstick;
 * `segmap connectivity` on a generated 2,000-pod / 1,000-policy cluster; simulate (replay) throughput; policy
 * synthesis + proof; web API latency and first render; with --profile, a CPU profile of one ingest broken down by
 * stage plus a per-stage ladder run in fresh processes.
 * Progress goes to stderr, the report (tables) to stdout. Inputs are cached in .bench/ (gitignored).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { defaultClusterParams, ensureCluster, type ClusterStats } from './cluster.js';
import { rssMethod, runMeasured, type ChildResult } from './measure.js';
import { analyzeProfile, latestProfile, type Breakdown } from './profile.js';
import { STAGES } from './stage-worker-stages.js';
import { fmt, mark, renderTable, type Row } from './table.js';
import { defaultTrafficParams, ensureTrafficLog, type CachedLog } from './vpc-traffic.js';
import { benchPolicies } from './policies.js';
import { benchSimulateReplay } from './simulate.js';
import { benchClickHouse } from './clickhouse.js';
import { benchWeb } from './web.js';
import { benchLoad } from './load.js';
import { benchSources } from './sources.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BENCH_DIR = join(ROOT, '.bench');
const CLI = join(ROOT, 'dist/ui/cli/main.js');
const STAGE_WORKER = join(ROOT, 'dist/bench/stage-worker.js');

/** The issue's targets. */
const TARGET_RATIO = 2;
const TARGET_RSS_MB = 300;
const TARGET_RSS_AT = 5_000_000;
/** "Flat in file size": the largest file's peak RSS within this factor of the smallest's. */
const FLAT_FACTOR = 1.2;
const TARGET_CONNECTIVITY_S = 10;

interface Options { sizes: number[]; skipConnectivity: boolean; skipReference: boolean; runs: number; profile: boolean; skipWeb: boolean; skipPolicies: boolean; skipSources: boolean; skipClickHouse: boolean; analysisRows: number }

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1000000,5000000' },
      'skip-connectivity': { type: 'boolean', default: false },
      'skip-web': { type: 'boolean', default: false },
      'skip-policies': { type: 'boolean', default: false },
      'skip-sources': { type: 'boolean', default: false },
      'skip-clickhouse': { type: 'boolean', default: false },
      'analysis-rows': { type: 'string', default: '50000000' },
      'skip-reference': { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--sizes N[,N…]] [--skip-connectivity] [--skip-reference] [--runs N] [--profile]\n' +
      '  --sizes              record counts of the generated VPC flow logs (k/M suffixes ok; default 1000000,5000000)\n' +
      '  --skip-connectivity  skip the connectivity section\n' +
      '  --skip-policies      skip the policy-synthesis section\n' +
      '  --skip-web           skip the web and load sections (web needs /usr/bin/chromium)\n' +
      '  --skip-sources       skip the per-format parse rates\n' +
      '  --skip-clickhouse    skip the ClickHouse store section (needs clickhouse-server installed)\n' +
      '  --analysis-rows N    aggregate rows for the ClickHouse analysis run (default 50M; k/M suffixes ok)\n' +
      '  --skip-reference     skip the sqlite3 .import yardstick\n' +
      '  --runs N             ingest runs per size; the fastest is reported (default 1)\n' +
      '  --profile            CPU-profile one ingest (smallest size) and run the per-stage ladder\n',
    );
    process.exit(0);
  }
  const sizes = values.sizes.split(',').map((s) => parseSize(s.trim()));
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  return {
    sizes, skipConnectivity: values['skip-connectivity'], skipReference: values['skip-reference'], runs, profile: values.profile,
    skipWeb: values['skip-web'], skipPolicies: values['skip-policies'], skipSources: values['skip-sources'],
    skipClickHouse: values['skip-clickhouse'], analysisRows: parseSize(values['analysis-rows'] as string),
  };
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.replace(/_/g, ''));
  if (!m) throw new Error(`bad size ${JSON.stringify(s)} (use e.g. 1000000, 250k, 5M)`);
  const n = Math.round(Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6));
  if (n < 1) throw new Error(`size must be positive: ${s}`);
  return n;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const rel = (p: string) => relative(ROOT, p) || '.';

// ───────────────────────────── ingest ─────────────────────────────

interface SegmapRun {
  ok: boolean;
  error?: string;
  wallSeconds: number;
  /** What the CLI's summary line says. */
  cliRecords?: number;
  cliRate?: number;
  cliRssMB?: number;
  /** Aggregate rows, from the per-file report on stderr. */
  rows?: number;
  peakRssMB?: number;
}

interface RefRun { ok: boolean; error?: string; wallSeconds: number; rows?: number; peakRssMB?: number }

interface SizeResult { size: number; log: CachedLog; segmap: SegmapRun; ref?: RefRun }

function removeDb(path: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(path + s, { force: true });
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

async function runSegmapIngest(file: string, size: number, extraNodeArgs: string[] = []): Promise<SegmapRun> {
  const db = join(BENCH_DIR, `bench-${size}.db`);
  removeDb(db);
  const r = await runMeasured(process.execPath, [...extraNodeArgs, CLI, '--db', db, 'ingest', file], { cwd: ROOT });
  const summary = /(\d+) records read, (\d+) skipped; (\d+) records\/s; peak RSS (\d+) MB/.exec(r.stdout);
  const rows = /(\d+) rows in [\d.]+ s/.exec(r.stderr);
  const run: SegmapRun = {
    ok: r.code === 0 && summary !== null,
    wallSeconds: r.wallSeconds,
    peakRssMB: r.peakRssMB,
    cliRecords: summary ? Number(summary[1]) : undefined,
    cliRate: summary ? Number(summary[3]) : undefined,
    cliRssMB: summary ? Number(summary[4]) : undefined,
    rows: rows ? Number(rows[1]) : undefined,
  };
  if (!run.ok) run.error = `exit ${r.code ?? r.signal}: ${firstLine(r.stderr) || firstLine(r.stdout) || 'no summary line'}`;
  return run;
}

function sqlite3Binary(): string | undefined {
  for (const c of ['/usr/bin/sqlite3', '/usr/local/bin/sqlite3']) if (existsSync(c)) return c;
  const r = spawnSync('sqlite3', ['-version']);
  return r.status === 0 ? 'sqlite3' : undefined;
}

/**
 * sqlite3's `.import` into a plain table (columns named by the header line), fresh db, the shell's defaults:
 * rollback journal (DELETE), synchronous=FULL, the whole import in one transaction.
 */
async function runReferenceImport(sqlite3: string, file: string): Promise<RefRun> {
  const db = join(BENCH_DIR, 'ref.db');
  removeDb(db);
  const script = `.bail on\n.mode csv\n.separator " "\n.import "${file.replace(/"/g, '""')}" flows\n`;
  const r = await runMeasured(sqlite3, [db], { cwd: ROOT, stdin: script });
  const run: RefRun = { ok: r.code === 0 && r.stderr.trim() === '', wallSeconds: r.wallSeconds, peakRssMB: r.peakRssMB };
  if (r.code === 0) {
    const c = spawnSync(sqlite3, [db, 'SELECT count(*) FROM flows;'], { encoding: 'utf8' });
    if (c.status === 0) run.rows = Number(c.stdout.trim());
  }
  if (!run.ok) run.error = `exit ${r.code ?? r.signal}: ${firstLine(r.stderr) || 'unknown'}`;
  removeDb(db);
  return run;
}

// ───────────────────────────── connectivity ─────────────────────────────

interface ConnectivityResult { available: boolean; reason?: string; cluster?: ClusterStats; reused?: boolean; run?: ChildResult }

async function benchConnectivity(): Promise<ConnectivityResult> {
  let cluster: ClusterStats;
  let reused: boolean;
  const dir = join(BENCH_DIR, 'cluster');
  try {
    log(`connectivity: generating ${rel(dir)} …`);
    ({ stats: cluster, reused } = ensureCluster(dir, defaultClusterParams()));
    log(`  ${reused ? 'reused' : 'generated'}: ${cluster.pods} pods, ${cluster.workloads} workloads, ${cluster.namespaces} namespaces, ${cluster.policies} NetworkPolicies in ${cluster.files} files (${fmt.bytes(cluster.bytes)})`);
  } catch (e) {
    return { available: false, reason: `cluster generation failed: ${(e as Error).message}` };
  }
  log('connectivity: running segmap connectivity …');
  let run: ChildResult;
  try {
    run = await runMeasured(process.execPath, [CLI, 'connectivity', dir, '--format', 'txt'], { cwd: ROOT, timeoutMs: 300_000, maxCapture: 4096 });
  } catch (e) {
    return { available: false, reason: (e as Error).message, cluster, reused };
  }
  if (run.timedOut) return { available: false, reason: 'timed out after 300 s', cluster, reused, run };
  if (run.code !== 0) {
    const err = firstLine(run.stderr);
    const reason = /unknown command/i.test(run.stderr) ? 'command not registered' : `exit ${run.code ?? run.signal}: ${err || 'no message'}`;
    return { available: false, reason, cluster, reused, run };
  }
  return { available: true, cluster, reused, run };
}

// ───────────────────────────── simulate (placeholder) ─────────────────────────────

interface SimulateResult { available: boolean; reason?: string; aggregates?: number; seconds?: number; detail?: string }

/** Replay throughput of the policy engine over 1M in-memory aggregates (see bench/simulate.ts). */
async function benchSimulate(): Promise<SimulateResult> {
  log('simulate: generating 2,000 pods / 1,000 policies / 1M aggregates and replaying …');
  try {
    const r = await benchSimulateReplay();
    return {
      available: true, aggregates: r.aggregates, seconds: r.seconds,
      detail: `of which ${r.generateSeconds.toFixed(2)} s making the aggregates; ${r.deniedEdges} denied edges, ${r.deniedFlows} of ${r.deniedFlows + r.allowedFlows} flows`,
    };
  } catch (e) {
    return { available: false, reason: `not available (${(e as Error).message})` };
  }
}

// ─────────────────────── policies, web (sections that report their own rows) ───────────────────────

interface Section { title: string; rows?: { label: string; value: string }[]; reason?: string }

async function benchSections(opts: { skipWeb: boolean; skipPolicies: boolean; skipSources: boolean; skipClickHouse: boolean; analysisRows: number; sizes: number[] }): Promise<Section[]> {
  const sections: [string, boolean, () => Promise<{ label: string; value: string }[]>][] = [
    ['POLICIES  (synthesis + proof + attack surface, generated 2,000-workload estate; target < 10 s)', opts.skipPolicies, benchPolicies],
    ['WEB  (graph API latency and first render in headless chromium, 2,000 workloads / 10,000 edges; targets p95 < 200 ms, render < 3 s)', opts.skipWeb, benchWeb],
    ['LOAD  (read API under a bounded request loop on 127.0.0.1)', opts.skipWeb, benchLoad],
    ['SOURCES  (records/s per flow format, one core; targets Hubble ≥ 150k/s, pcap ≥ 300k packets/s)', opts.skipSources, benchSources],
    [`CLICKHOUSE  (scale-out store: ingest with 1 and 2 writers beside SQLite, analysis over ${opts.analysisRows.toLocaleString('en-US')} aggregate rows; target ≤ 1.5× SQLite's ingest time on one writer, scaling with writers)`,
      opts.skipClickHouse, () => benchClickHouse({ records: opts.sizes[0], analysisRows: opts.analysisRows })],
  ];
  const out: Section[] = [];
  for (const [title, skip, run] of sections) {
    if (skip) { out.push({ title, reason: 'skipped' }); continue; }
    log(`${title.split(' ')[0].toLowerCase()}: running …`);
    try {
      out.push({ title, rows: await run() });
    } catch (e) {
      out.push({ title, reason: `not available (${(e as Error).message.split('\n')[0]})` });
    }
  }
  return out;
}

// ───────────────────────────── profile ─────────────────────────────

interface StageResult { stage: string; seconds: number; records: number; aggregates: number; peakRssMB?: number; wall: number; error?: string }
interface ProfileResult { size: number; breakdown?: Breakdown; profilePath?: string; cpuProfRun?: SegmapRun; stages: StageResult[] }

async function benchProfile(size: number, file: string): Promise<ProfileResult> {
  const dir = join(BENCH_DIR, 'prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`profile: segmap ingest ${fmt.size(size)} under --cpu-prof …`);
  const cpuProfRun = await runSegmapIngest(file, size, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const profilePath = latestProfile(dir);
  const breakdown = profilePath ? analyzeProfile(profilePath) : undefined;
  const stages: StageResult[] = [];
  for (const stage of STAGES) {
    log(`profile: stage ${stage} …`);
    const db = join(BENCH_DIR, `stage-${size}.db`);
    const r = await runMeasured(process.execPath, [STAGE_WORKER, stage, file, db], { cwd: ROOT });
    removeDb(db);
    try {
      const j = JSON.parse(firstLine(r.stdout)) as { seconds: number; records: number; aggregates: number };
      stages.push({ stage, ...j, peakRssMB: r.peakRssMB, wall: r.wallSeconds });
    } catch {
      stages.push({ stage, seconds: NaN, records: 0, aggregates: 0, wall: r.wallSeconds, error: firstLine(r.stderr) || `exit ${r.code}` });
    }
  }
  return { size, breakdown, profilePath, cpuProfRun, stages };
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${rel(CLI)} not found: run npm run build first`);
  mkdirSync(BENCH_DIR, { recursive: true });
  const sqlite3 = opts.skipReference ? undefined : sqlite3Binary();
  const sqliteVersion = sqlite3 ? (spawnSync(sqlite3, ['-version'], { encoding: 'utf8' }).stdout ?? '').split(' ')[0] : undefined;
  const method = rssMethod();
  const started = performance.now();

  // 1. Inputs.
  const logs: CachedLog[] = [];
  for (const size of opts.sizes) {
    const params = defaultTrafficParams(size);
    log(`input: VPC flow log, ${fmt.int(size)} lines …`);
    const c = await ensureTrafficLog(BENCH_DIR, params, (n) => log(`  generating: ${fmt.int(n)} / ${fmt.int(size)} lines (${Math.floor((n / size) * 100)}%)`));
    const s = c.stats;
    log(`  ${c.reused ? 'reused' : `generated in ${fmt.sec(s.seconds)} (${fmt.rate(s.lines / s.seconds)})`}: ${rel(c.path)}, ${fmt.bytes(s.bytes)}, ${s.hours.toFixed(1)} h of 60-s windows`);
    logs.push(c);
  }

  // 2. Ingest, then the yardstick, per size.
  const results: SizeResult[] = [];
  for (const c of logs) {
    const size = c.stats.lines;
    let best: SegmapRun | undefined;
    for (let i = 0; i < opts.runs; i++) {
      log(`ingest: segmap ${fmt.size(size)}${opts.runs > 1 ? ` (run ${i + 1}/${opts.runs})` : ''} …`);
      const r = await runSegmapIngest(c.path, size);
      log(r.ok ? `  ${fmt.sec(r.wallSeconds)}, ${fmt.rate(size / r.wallSeconds)}, peak RSS ${fmt.mb(r.peakRssMB)}` : `  failed: ${r.error}`);
      if (!best || (r.ok && (!best.ok || r.wallSeconds < best.wallSeconds))) best = r;
    }
    let ref: RefRun | undefined;
    if (sqlite3) {
      for (let i = 0; i < opts.runs; i++) {
        log(`ingest: sqlite3 .import ${fmt.size(size)}${opts.runs > 1 ? ` (run ${i + 1}/${opts.runs})` : ''} …`);
        const r = await runReferenceImport(sqlite3, c.path);
        log(r.ok ? `  ${fmt.sec(r.wallSeconds)}, ${fmt.rate(size / r.wallSeconds)}` : `  failed: ${r.error}`);
        if (!ref || (r.ok && (!ref.ok || r.wallSeconds < ref.wallSeconds))) ref = r;
      }
    }
    results.push({ size, log: c, segmap: best!, ref });
  }

  // 3. Connectivity, 4. simulate, 5. profile.
  const conn = opts.skipConnectivity ? undefined : await benchConnectivity();
  const sim = await benchSimulate();
  const extra = await benchSections(opts);
  const smallest = logs.reduce((a, b) => (b.stats.lines < a.stats.lines ? b : a), logs[0]);
  const prof = opts.profile && smallest ? await benchProfile(smallest.stats.lines, smallest.path) : undefined;

  // Report.
  const out: string[] = [];
  out.push(
    `segmap bench — node ${process.version}, ${platform()} ${arch()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'})` +
    `${sqliteVersion ? `, sqlite3 ${sqliteVersion}` : ''}; peak RSS measured via ${method === 'gnu-time' ? 'GNU time %M (exact)' : method === 'proc-vmhwm' ? '/proc VmHWM polling (lower bound)' : 'nothing (not available)'}` +
    `${opts.runs > 1 ? `; best of ${opts.runs} runs` : ''}\n`,
  );

  const header = ['INGEST  (AWS VPC flow log, S3 text + header, v5 custom format, 24 fields)', ...results.map((r) => fmt.size(r.size))];
  const col = (f: (r: SizeResult) => string) => results.map(f);
  const segOk = (r: SizeResult) => r.segmap.ok;
  const refOk = (r: SizeResult) => r.ref?.ok === true;
  const segRate = (r: SizeResult) => r.size / r.segmap.wallSeconds;
  const refRate = (r: SizeResult) => r.size / r.ref!.wallSeconds;
  const rows: Row[] = [
    ['input file', ...col((r) => `${fmt.bytes(r.log.stats.bytes)}${r.log.reused ? ' (cached)' : ''}`)],
    ['  traffic span (60-s windows)', ...col((r) => `${r.log.stats.hours.toFixed(1)} h`)],
    ['  external-peer records', ...col((r) => fmt.pct(r.log.stats.externalRecords / r.log.stats.lines))],
    { section: 'segmap ingest (node dist/ui/cli/main.js --db .bench/bench-N.db ingest FILE, fresh db)' },
    ['  wall time', ...col((r) => (segOk(r) ? fmt.sec(r.segmap.wallSeconds) : 'FAILED'))],
    ['  records/s, end to end (lines ÷ wall)', ...col((r) => (segOk(r) ? fmt.rate(segRate(r)) : '—'))],
    ['  records/s, CLI summary line', ...col((r) => (r.segmap.cliRate !== undefined ? fmt.rate(r.segmap.cliRate) : '—'))],
    ['  records read / aggregate rows', ...col((r) => (r.segmap.cliRecords !== undefined ? `${fmt.int(r.segmap.cliRecords)} / ${r.segmap.rows !== undefined ? fmt.int(r.segmap.rows) : '?'}` : '—'))],
    ['  fold (records per row)', ...col((r) => (r.segmap.cliRecords && r.segmap.rows ? `${(r.segmap.cliRecords / r.segmap.rows).toFixed(1)}` : '—'))],
    [`  peak RSS (${method === 'gnu-time' ? 'GNU time' : method === 'proc-vmhwm' ? 'VmHWM' : 'n/a'})`, ...col((r) => fmt.mb(r.segmap.peakRssMB))],
    ['  peak RSS, CLI summary line', ...col((r) => fmt.mb(r.segmap.cliRssMB))],
  ];
  if (sqlite3) {
    rows.push(
      { section: 'sqlite3 .import (csv mode, separator " ", plain table, fresh db, default DELETE journal, one transaction)' },
      ['  wall time', ...col((r) => (refOk(r) ? fmt.sec(r.ref!.wallSeconds) : 'FAILED'))],
      ['  rows/s', ...col((r) => (refOk(r) ? fmt.rate(refRate(r)) : '—'))],
      ['  rows imported', ...col((r) => (r.ref?.rows !== undefined ? fmt.int(r.ref.rows) : '—'))],
      ['  peak RSS', ...col((r) => fmt.mb(r.ref?.peakRssMB))],
      ['segmap ÷ .import (records/s)', ...col((r) => (segOk(r) && refOk(r) ? fmt.ratio(segRate(r) / refRate(r)) : '—'))],
    );
  } else {
    rows.push({ section: `sqlite3 .import: ${opts.skipReference ? 'skipped (--skip-reference)' : 'not available (no sqlite3 binary)'}` });
  }
  out.push(renderTable(header, rows));
  const failures = results.filter((r) => !r.segmap.ok || (r.ref && !r.ref.ok));
  for (const r of failures) {
    if (!r.segmap.ok) out.push(`  segmap ingest ${fmt.size(r.size)} failed: ${r.segmap.error}\n`);
    if (r.ref && !r.ref.ok) out.push(`  sqlite3 .import ${fmt.size(r.size)} failed: ${r.ref.error}\n`);
  }

  // Targets: printed, never asserted.
  const targets: Row[] = [];
  for (const r of results) {
    if (segOk(r) && refOk(r)) {
      const x = segRate(r) / refRate(r);
      targets.push([`segmap ≥ ${TARGET_RATIO}× .import rate at ${fmt.size(r.size)}`, `${mark(x >= TARGET_RATIO)} ${fmt.ratio(x)}`]);
    } else targets.push([`segmap ≥ ${TARGET_RATIO}× .import rate at ${fmt.size(r.size)}`, '? not measured']);
  }
  const at5m = results.find((r) => r.size === TARGET_RSS_AT);
  const largest = results.reduce<SizeResult | undefined>((a, b) => (!a || b.size > a.size ? b : a), undefined);
  const rssRow = at5m ?? largest;
  if (rssRow?.segmap.peakRssMB !== undefined) {
    const note = rssRow.size === TARGET_RSS_AT ? '' : ` (at ${fmt.size(rssRow.size)}; ${fmt.size(TARGET_RSS_AT)} not run)`;
    targets.push([`peak RSS < ${TARGET_RSS_MB} MB at ${fmt.size(TARGET_RSS_AT)}`, `${mark(rssRow.segmap.peakRssMB < TARGET_RSS_MB)} ${fmt.mb(rssRow.segmap.peakRssMB)}${note}`]);
  } else targets.push([`peak RSS < ${TARGET_RSS_MB} MB at ${fmt.size(TARGET_RSS_AT)}`, '? not measured']);
  const measured = results.filter((r) => r.segmap.peakRssMB !== undefined).sort((a, b) => a.size - b.size);
  if (measured.length >= 2) {
    const lo = measured[0];
    const hi = measured[measured.length - 1];
    const f = hi.segmap.peakRssMB! / lo.segmap.peakRssMB!;
    targets.push([`peak RSS flat in file size (≤ ${FLAT_FACTOR}× from ${fmt.size(lo.size)} to ${fmt.size(hi.size)})`,
      `${mark(f <= FLAT_FACTOR)} ${fmt.mb(lo.segmap.peakRssMB)} → ${fmt.mb(hi.segmap.peakRssMB)} (${fmt.ratio(f)})`]);
  } else targets.push(['peak RSS flat in file size', '? needs two sizes']);
  if (conn?.available && conn.run) {
    targets.push([`connectivity < ${TARGET_CONNECTIVITY_S} s`, `${mark(conn.run.wallSeconds < TARGET_CONNECTIVITY_S)} ${fmt.sec(conn.run.wallSeconds)}`]);
  }
  out.push('\n' + renderTable(['TARGETS (from the issue; reported, not asserted)', 'result'], targets));

  // Connectivity.
  if (!conn) out.push('\nconnectivity: skipped (--skip-connectivity)\n');
  else if (!conn.available) out.push(`\nconnectivity: not available (${conn.reason})\n`);
  else {
    const c = conn.cluster!;
    const r = conn.run!;
    out.push('\n' + renderTable(['CONNECTIVITY  (segmap connectivity .bench/cluster --format txt)', ''], [
      ['cluster', `${fmt.int(c.pods)} pods / ${fmt.int(c.workloads)} workloads / ${c.namespaces} namespaces / ${fmt.int(c.policies)} NetworkPolicies${conn.reused ? ' (cached)' : ''}`],
      ['manifests', `${c.files} YAML files, ${fmt.bytes(c.bytes)}`],
      ['wall time', fmt.sec(r.wallSeconds)],
      ['connlist lines', fmt.int(r.stdoutLines)],
      ['peak RSS', fmt.mb(r.peakRssMB)],
    ]));
  }
  out.push(sim.available
    ? `\nSIMULATE: replay of ${sim.aggregates!.toLocaleString('en-US')} aggregates against 1,000 policies (2,000 pods): ${fmt.rate(sim.aggregates! / sim.seconds!)} aggregates (${sim.seconds!.toFixed(2)} s; ${sim.detail})   target > 1M/s: ${sim.aggregates! / sim.seconds! > 1e6 ? '✓' : '✗'}\n`
    : `\nsimulate: ${sim.reason}\n`);

  for (const x of extra) {
    out.push('\n' + (x.rows ? renderTable([x.title, ''], x.rows.map((r) => [r.label, r.value])) : `${x.title}: ${x.reason}\n`));
  }

  // Profile.
  if (prof) {
    out.push(`\nPROFILE  (segmap ingest ${fmt.size(prof.size)} under node --cpu-prof; ${prof.profilePath ? rel(prof.profilePath) : 'no profile written'})\n`);
    if (prof.cpuProfRun && !prof.cpuProfRun.ok) out.push(`  profiled run failed: ${prof.cpuProfRun.error}\n`);
    if (prof.breakdown) {
      const b = prof.breakdown;
      out.push(renderTable(['where the CPU time goes (nearest stage on the stack)', 'ms', 'share'],
        b.categories.map((c) => [c.name, fmt.int(c.ms), fmt.pct(c.share)])));
      out.push('\n' + renderTable(['top self time (function)', 'where', 'ms', 'share'],
        b.topSelf.map((t) => [t.fn, t.where, fmt.int(t.ms), fmt.pct(t.share)])));
    }
    const base = prof.stages;
    const prev = (i: number) => (i > 0 && ['parse', 'aggregate', 'store'].includes(base[i].stage) ? base[i - 1] : undefined);
    out.push('\n' + renderTable(['STAGE LADDER (fresh process each; cumulative)', 'in-process', 'Δ vs previous', 'records/s', 'peak RSS'],
      base.map((s, i) => {
        const p = prev(i);
        return [
          s.stage, s.error ? `FAILED: ${s.error}` : fmt.sec(s.seconds),
          p && !s.error && !p.error ? `+${fmt.sec(s.seconds - p.seconds)}` : '',
          !s.error && s.seconds > 0 ? fmt.rate(prof.size / s.seconds) : '', fmt.mb(s.peakRssMB),
        ];
      })));
  }
  out.push(`\n(total bench time ${fmt.sec((performance.now() - started) / 1000)}; inputs cached in ${rel(BENCH_DIR)}/)\n`);
  process.stdout.write(out.join(''));
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
