/**
 * The ClickHouse backend: the same `FlowStore` as SQLite for an estate too large for one machine.
 *
 * Written for Debian's clickhouse-server 18.16 and current releases alike, which rules out query parameters (values
 * are inlined, escaped here), LowCardinality, IPv4/IPv6 column types, JSONCompactEachRow, `input()`, transactions and
 * lightweight DELETE. What takes their place:
 *
 * - **Flow aggregates** live in `flow_aggregates`, an AggregatingMergeTree keyed like the SQLite rows (plus `input_id`
 *   and `observer`) whose background merges keep folding rows of the same key. Ingest writes each row as aggregate
 *   states (RowBinary, straight from the columnar batch); `flow_staging`, a `Null` table with a materialized view
 *   into it, takes plain values for anyone loading flows with SQL. Reads finish the fold (FINAL / the -Merge
 *   combinators): a part not merged yet holds partial states, so only merging on read gives the value, whatever the
 *   merge progress.
 * - **No transactions**: every row carries its `input_id`, and the input registry (`inputs`) is an append-only log of
 *   states per id, the newest `rev` winning: `committed` (a live collection adds revisions as it goes) or
 *   `rolled_back`. Nothing is registered before commit, so a crashed input leaves rows no reader looks at. Readers
 *   see only rows of committed inputs, and of those only the first committed input per content hash: two processes
 *   racing on the same file still give one copy. A rolled-back input's rows are also deleted (a mutation, run by the
 *   server in the background).
 * - **Input ids** are random 53-bit integers: several processes write at once and nothing hands out ids centrally.
 *
 * Only this file imports @clickhouse/client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { batchFromAggregates, type AggregateBatch, type DnsEvidence, type FlowAggregate, type InputIssue, type K8sObject, type ObservedAggregate, type ReadCounts } from '../model/index.js';
import type { AuditAggregate } from '../model/audit.js';
import type { CollectionSink, FlowStore, InputRow, InputSink, Snapshot, StoreCounts, TimeWindow, WatchEventRecord } from './backend.js';

/** Aggregates per chunk `aggregates()` yields (as SQLite's store). */
const AGGREGATE_CHUNK = 4096;
/** Stored rows per read slice of `aggregates()`: each slice is one sort the server holds in memory at once. */
const SLICE_ROWS = 2_000_000;
/** Buffered flow rows (RowBinary bytes) per insert: big inserts are what ClickHouse wants (one part each). */
const INSERT_BYTES = 16 << 20;
/** Reads over 50M aggregates take a while before their first byte: the client's 30-s default is too short. */
const REQUEST_TIMEOUT_MS = 30 * 60_000;

/**
 * An insert returns once the rows are on their shards (a Distributed table otherwise queues them and sends them later:
 * a commit could then become visible before its rows).
 */
const INSERT_SETTINGS = { insert_distributed_sync: 1 } as const;

// ───────────────────────────── schema ─────────────────────────────

/** The key of a stored flow row, in the order SQLite's `aggregates()` sorts by. */
const FLOW_KEYS = ['src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol', 'bucket', 'accepted', 'src_identity', 'dst_identity'] as const;
const FLOW_KEY_LIST = FLOW_KEYS.join(', ');
/** Columns of a stored flow row, in the order `rowBinaryBatch` writes them. */
const AGGREGATE_COLUMNS = ['input_id', 'observer', ...FLOW_KEYS, 'rows', 'flows', 'packets', 'bytes', 'tcp_flags', 'first_seen', 'last_seen'] as const;
const AUDIT_KEYS = ['`user`', 'verb', 'api_group', 'resource', 'subresource', 'namespace', 'non_resource_url', 'outcome'] as const;
const AUDIT_KEY_LIST = AUDIT_KEYS.join(', ');

/**
 * Numbered, append-only schema steps (as store/migrations.ts for SQLite); `schema_version` records the steps run.
 * Every statement is idempotent, so processes opening a fresh database at once do no harm. `{db}` is the database.
 */
const SCHEMA: readonly (readonly string[])[] = [
  [
    // The input registry: one row per state change of an input (newest `rev` wins). `begun` orders inputs oldest
    // first; `committed_ms` decides which of two committed inputs with the same content hash counts (the first).
    `CREATE TABLE IF NOT EXISTS {db}.inputs (
      id UInt64, rev UInt32, state String, begun UInt64, path String, sha256 String, format String, ingested_at String,
      records_read Float64, skipped_json String, issues_json String, complete UInt8, committed_ms UInt64, written_ms UInt64
    ) ENGINE = MergeTree() ORDER BY (id, rev)`,
    `CREATE TABLE IF NOT EXISTS {db}.flow_staging (
      input_id UInt64, observer String, src_ip String, dst_ip String, src_port UInt16, dst_port UInt16, protocol UInt8,
      bucket Float64, accepted UInt8, src_identity String, dst_identity String,
      flows Float64, packets Float64, bytes Float64, tcp_flags UInt16, first_seen Float64, last_seen Float64
    ) ENGINE = Null`,
    // Sorted by the read order (src_ip first): a read slice of src_ip values uses the primary index.
    `CREATE TABLE IF NOT EXISTS {db}.flow_aggregates (
      input_id UInt64, observer String, src_ip String, dst_ip String, src_port UInt16, dst_port UInt16, protocol UInt8,
      bucket Float64, accepted UInt8, src_identity String, dst_identity String,
      rows AggregateFunction(sum, UInt64), flows AggregateFunction(sum, Float64), packets AggregateFunction(sum, Float64),
      bytes AggregateFunction(sum, Float64), tcp_flags AggregateFunction(groupBitOr, UInt16),
      first_seen AggregateFunction(min, Float64), last_seen AggregateFunction(max, Float64)
    ) ENGINE = AggregatingMergeTree() ORDER BY (${FLOW_KEY_LIST}, observer, input_id)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.flow_aggregates_mv TO {db}.flow_aggregates AS
      SELECT input_id, observer, ${FLOW_KEY_LIST},
             sumState(toUInt64(1)) AS rows, sumState(flows) AS flows, sumState(packets) AS packets, sumState(bytes) AS bytes,
             groupBitOrState(tcp_flags) AS tcp_flags, minState(first_seen) AS first_seen, maxState(last_seen) AS last_seen
      FROM {db}.flow_staging
      GROUP BY input_id, observer, ${FLOW_KEY_LIST}`,
    `CREATE TABLE IF NOT EXISTS {db}.snapshots (
      input_id UInt64, id UInt64, taken_at Float64, event String, kinds_json String
    ) ENGINE = MergeTree() ORDER BY (input_id, id)`,
    `CREATE TABLE IF NOT EXISTS {db}.k8s_objects (
      input_id UInt64, snapshot_id UInt64, seq UInt32, kind String, namespace String, name String, uid String, json String
    ) ENGINE = MergeTree() ORDER BY (input_id, snapshot_id, seq)`,
    `CREATE TABLE IF NOT EXISTS {db}.dns_names (
      input_id UInt64, ip String, name String, first_seen Float64, last_seen Float64
    ) ENGINE = MergeTree() ORDER BY (ip, name, input_id)`,
    `CREATE TABLE IF NOT EXISTS {db}.audit_aggregates (
      input_id UInt64, \`user\` String, verb String, api_group String, resource String, subresource String, namespace String,
      non_resource_url String, outcome String, count Float64, first_seen Float64, last_seen Float64
    ) ENGINE = MergeTree() ORDER BY (${AUDIT_KEY_LIST}, input_id)`,
  ],
];

/** Tables holding an input's rows (what a rollback deletes). */
const DATA_TABLES = ['flow_aggregates', 'snapshots', 'k8s_objects', 'dns_names', 'audit_aggregates'] as const;

// ───────────────────────────── values ─────────────────────────────

/** A string literal: ClickHouse unescapes backslash sequences inside quotes. */
export function sqlString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function sqlNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
}

const TSV_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const TSV_UNESCAPE: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', 0: '\0', a: '\x07', v: '\v' };

/** A TabSeparated field. */
export function tsv(s: string): string {
  return /[\\\t\n\r\0]/.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPE[c]) : s;
}

function untsv(s: string): string {
  return s.includes('\\') ? s.replace(/\\(.)/gs, (_, c: string) => TSV_UNESCAPE[c] ?? c) : s;
}

/** A TabSeparated number (Float64 columns take JS's shortest round-trip text, exponents included). */
function tsvNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
}

/** A unique positive safe integer, from 53 random bits: no central counter, so any number of writers may run. */
function randomId(): number {
  for (;;) {
    const b = randomBytes(7);
    const id = (b[0] & 0x1f) * 2 ** 48 + b.readUIntBE(1, 6);
    if (id > 0) return id;
  }
}

/**
 * Increasing within this process, roughly time-ordered across processes (ms × 1000 + a counter): what orders inputs
 * oldest first and snapshots taken at the same second in the order they were written, as SQLite's rowids do.
 */
let lastSequence = 0;
function nextSequence(): number {
  lastSequence = Math.max(lastSequence + 1, Date.now() * 1000);
  return lastSequence;
}

// ───────────────────────────── the store ─────────────────────────────

interface Target {
  url: string;
  username: string;
  password: string;
  database: string;
  /** `host:port`, for messages. */
  hostPort: string;
  /** The URL as `location` shows it: never the password. */
  location: string;
}

/** `clickhouse://[user[:password]@]host[:port]/database` (HTTP interface; port 8123 by default). */
export function parseClickHouseUrl(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('not a ClickHouse URL: expected clickhouse://[user[:password]@]host[:port]/database');
  }
  if (u.protocol !== 'clickhouse:' || !u.hostname) throw new Error('not a ClickHouse URL: expected clickhouse://[user[:password]@]host[:port]/database');
  const database = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new Error(`ClickHouse URL needs a database name (letters, digits, _): clickhouse://host:port/database`);
  }
  const port = u.port || '8123';
  const host = u.hostname;
  const username = decodeURIComponent(u.username) || 'default';
  const hostPort = `${host}:${port}`;
  return {
    url: `http://${host}:${port}`, username, password: decodeURIComponent(u.password), database, hostPort,
    location: `clickhouse://${u.username ? `${u.username}@` : ''}${hostPort}/${database}`,
  };
}

export class ClickHouseStore implements FlowStore {
  readonly backend = 'clickhouse' as const;
  readonly location: string;
  /** `SELECT … FINAL` returns rows in sort-key order on this server (checked while reading; see `open`; tests clear it to run the ORDER BY path). */
  finalIsSorted = false;
  /** Stored rows per read slice of `aggregates()` (tests lower it to exercise several slices). */
  sliceRows = SLICE_ROWS;
  /** `db.` prefix for table names (the database name is validated as an identifier). */
  private readonly db: string;

  private constructor(private readonly client: ClickHouseClient, private readonly target: Target) {
    this.location = target.location;
    this.db = `\`${target.database}\``;
  }

  static async open(url: string, opts: { readonly?: boolean } = {}): Promise<ClickHouseStore> {
    const target = parseClickHouseUrl(url);
    const client = createClient({
      url: target.url, username: target.username, password: target.password, database: 'default',
      request_timeout: REQUEST_TIMEOUT_MS, compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF }, application: 'segmap',
    });
    const store = new ClickHouseStore(client, target);
    try {
      const ping = await client.ping();
      if (!ping.success) throw new Error(`cannot reach ClickHouse at ${target.hostPort}: ${errorText(ping.error)}`, { cause: ping.error });
      const [[version]] = await store.rows('SELECT version()');
      if (opts.readonly) await store.checkSchema();
      else await store.migrate();
      // Before 20.x FINAL is one merging stream over all parts: its rows come in sort-key order, and an ORDER BY
      // would only sort them again (doubling the server's work on 18.16). Later releases read FINAL in parallel, and
      // a Distributed table concatenates its shards' streams: both need the ORDER BY.
      const [[engine]] = await store.rows(`SELECT any(engine) FROM system.tables WHERE database = ${sqlString(target.database)} AND name = 'flow_aggregates'`);
      store.finalIsSorted = Number(version.split('.')[0]) < 20 && engine !== 'Distributed';
    } catch (e) {
      await client.close();
      throw e;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private sql(q: string): string {
    return q.replace(/\{db\}/g, this.db);
  }

  /** A statement with no result. */
  async command(query: string): Promise<void> {
    try {
      await this.client.command({ query: this.sql(query) });
    } catch (e) {
      throw this.failure(e);
    }
  }

  /** Rows of a query as arrays of TabSeparated fields (unescaped), all at once: for small results. */
  async rows(query: string): Promise<string[][]> {
    const out: string[][] = [];
    for await (const chunk of this.stream(query)) out.push(...chunk);
    return out;
  }

  /** Rows of a query streamed from the server, in the chunks the client reads them. */
  async *stream(query: string, signal?: AbortSignal): AsyncGenerator<string[][]> {
    let rs;
    try {
      // The server answers only once the query is done (buffering the result), so a failure midway is an HTTP error
      // and never text appended to rows already sent. These results are small, or read whole anyway.
      rs = await this.client.query({ query: this.sql(query), format: 'TabSeparated', abort_signal: signal, clickhouse_settings: { wait_end_of_query: 1 } });
    } catch (e) {
      throw this.failure(e);
    }
    const s = rs.stream();
    try {
      for await (const rows of s as AsyncIterable<{ text: string }[]>) yield rows.map((r) => r.text.split('\t').map(untsv));
    } catch (e) {
      throw this.failure(e);
    } finally {
      // Only a stream left unread is destroyed: a finished one has handed its socket back to the pool.
      if (!s.readableEnded) s.destroy();
    }
  }

  /** Insert TabSeparated text (rows ending in newlines) into a table. */
  async insertText(table: string, columns: readonly string[], text: string | string[]): Promise<void> {
    const parts = typeof text === 'string' ? [text] : text;
    if (parts.every((p) => p.length === 0)) return;
    try {
      await this.client.insert({
        table: `${this.db}.${table}`, columns: [...columns] as [string, ...string[]], format: 'TabSeparated',
        values: Readable.from(parts.filter((p) => p.length > 0), { objectMode: false }),
        clickhouse_settings: INSERT_SETTINGS,
      });
    } catch (e) {
      throw this.failure(e);
    }
  }

  /** Insert RowBinary-encoded rows: the cheapest format for the server to read (no text to parse). */
  async insertRowBinary(table: string, columns: readonly string[], parts: Buffer[]): Promise<void> {
    if (parts.length === 0) return;
    try {
      const r = await this.client.exec({
        query: `INSERT INTO ${this.db}.${table} (${columns.join(', ')}) FORMAT RowBinary`,
        values: Readable.from(parts, { objectMode: false }),
        clickhouse_settings: INSERT_SETTINGS,
      });
      r.stream.resume();
      await finished(r.stream);
    } catch (e) {
      throw this.failure(e);
    }
  }

  private failure(e: unknown): Error {
    const msg = errorText(e);
    if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|socket hang up/i.test(msg)) {
      return new Error(`cannot reach ClickHouse at ${this.target.hostPort}: ${msg}`, { cause: e });
    }
    return new Error(`ClickHouse at ${this.target.hostPort}: ${msg}`, { cause: e });
  }

  private async schemaVersion(): Promise<number | undefined> {
    const [[exists]] = await this.rows(`SELECT count() FROM system.tables WHERE database = ${sqlString(this.target.database)} AND name = 'schema_version'`);
    if (exists === '0') return undefined;
    const [[v]] = await this.rows('SELECT max(version) FROM {db}.schema_version');
    return Number(v);
  }

  private async checkSchema(): Promise<void> {
    const v = await this.schemaVersion();
    if (v === undefined) throw new Error(`no segmap data in ClickHouse database ${this.target.database} at ${this.target.hostPort}: run \`segmap ingest\` into it first`);
    if (v < SCHEMA.length) throw new Error(`ClickHouse database ${this.target.database} was written by an older segmap; open it once without --readonly to upgrade`);
    if (v > SCHEMA.length) throw new Error(`ClickHouse database ${this.target.database} has schema ${v}, newer than this segmap (${SCHEMA.length})`);
  }

  /** Create the database and tables if missing (idempotent: several processes may open a fresh database at once). */
  private async migrate(): Promise<void> {
    await this.idempotent(`CREATE DATABASE IF NOT EXISTS ${this.db}`);
    await this.idempotent('CREATE TABLE IF NOT EXISTS {db}.schema_version (version UInt32, applied_ms UInt64) ENGINE = MergeTree() ORDER BY version');
    const current = (await this.schemaVersion()) ?? 0;
    if (current > SCHEMA.length) throw new Error(`ClickHouse database ${this.target.database} has schema ${current}, newer than this segmap (${SCHEMA.length})`);
    for (let v = current; v < SCHEMA.length; v++) {
      for (const stmt of SCHEMA[v]) await this.idempotent(stmt);
      await this.insertText('schema_version', ['version', 'applied_ms'], `${v + 1}\t${Date.now()}\n`);
    }
  }

  /** `IF NOT EXISTS` still loses a race now and then on old servers ("already exists"): that is success too. */
  private async idempotent(stmt: string): Promise<void> {
    try {
      await this.command(stmt);
    } catch (e) {
      if (!/already exists|Code: (57|82)\b/i.test((e as Error).message)) throw e;
    }
  }

  // ─────────── the registry ───────────

  /** Each input's newest state. */
  private static readonly LATEST = `
    SELECT id, argMax(state, rev) AS st, min(begun) AS bg, argMax(path, rev) AS p, argMax(sha256, rev) AS h, argMax(format, rev) AS fmt,
           argMax(ingested_at, rev) AS ia, argMax(records_read, rev) AS rr, argMax(skipped_json, rev) AS sj, argMax(issues_json, rev) AS ij,
           argMax(complete, rev) AS cp, argMax(committed_ms, rev) AS cm
    FROM {db}.inputs GROUP BY id`;

  /**
   * Ids of the inputs readers see: committed, and the first committed one per content hash. Used as
   * `input_id GLOBAL IN (…)`: with Distributed tables the set is computed once and sent to every shard (a plain IN
   * would run it on each shard, against that shard's part of the registry); on a single server GLOBAL IN is IN.
   */
  private static readonly VISIBLE = `
    SELECT argMin(id, (cm, id)) AS v FROM (
      SELECT id, argMax(state, rev) AS st, argMax(sha256, rev) AS h, argMax(committed_ms, rev) AS cm FROM {db}.inputs GROUP BY id
    ) WHERE st = 'committed' GROUP BY h`;

  private async visibleInputs(where = ''): Promise<InputRow[]> {
    const rows = await this.rows(`
      SELECT id, p, h, fmt, ia, rr, sj, ij, cp FROM (${ClickHouseStore.LATEST})
      WHERE id IN (${ClickHouseStore.VISIBLE}) ${where} ORDER BY bg, id`);
    return rows.map((r) => ({
      id: Number(r[0]), path: r[1], sha256: r[2], format: r[3], ingestedAt: r[4], recordsRead: Number(r[5]),
      skipped: JSON.parse(r[6]) as Record<string, number>, issues: JSON.parse(r[7]) as InputIssue[], complete: r[8] === '1',
    }));
  }

  async findInput(sha256: string): Promise<InputRow | undefined> {
    return (await this.visibleInputs(`AND h = ${sqlString(sha256)}`))[0];
  }

  async inputs(): Promise<InputRow[]> {
    return this.visibleInputs();
  }

  /** One registry row: a state of input `r.id`. */
  async writeRegistry(r: RegistryRow): Promise<void> {
    const line = [
      r.id, r.rev, tsv(r.state), r.begun, tsv(r.path), tsv(r.sha256), tsv(r.format), tsv(r.ingestedAt), tsvNumber(r.recordsRead),
      tsv(JSON.stringify(r.skipped)), tsv(JSON.stringify(r.issues)), r.complete ? 1 : 0, r.committedMs, Date.now(),
    ].join('\t');
    await this.insertText('inputs', REGISTRY_COLUMNS, `${line}\n`);
  }

  /** Whether `id` is the input readers see for its content hash. */
  async isVisible(id: number): Promise<boolean> {
    const [[n]] = await this.rows(`SELECT count() FROM (${ClickHouseStore.VISIBLE}) WHERE v = ${sqlNumber(id)}`);
    return n !== '0';
  }

  /**
   * Delete every row of an input: a mutation the server runs in the background. Best effort — readers ignore the rows
   * already, and a table that takes no mutation (a Distributed one: mutate its local tables) just keeps them.
   */
  async deleteInput(id: number, tables: Iterable<string>): Promise<void> {
    for (const t of tables) await this.command(`ALTER TABLE {db}.${t} DELETE WHERE input_id = ${sqlNumber(id)}`).catch(() => undefined);
  }

  async beginInput(path: string, sha256: string, format: string, now: Date = new Date()): Promise<ClickHouseInputWriter> {
    // Nothing is registered until commit: an input that never commits (a crash) leaves rows no reader looks at.
    const row: RegistryRow = {
      id: randomId(), rev: 0, state: 'open', begun: nextSequence(), path, sha256, format, ingestedAt: now.toISOString(),
      recordsRead: 0, skipped: {}, issues: [], complete: true, committedMs: 0,
    };
    return new ClickHouseInputWriter(this, row);
  }

  async beginCollection(path: string, format: string, now: Date = new Date()): Promise<ClickHouseCollectionWriter> {
    const row: RegistryRow = {
      id: randomId(), rev: 1, state: 'committed', begun: nextSequence(), path, sha256: `live:${randomUUID()}`, format,
      ingestedAt: now.toISOString(), recordsRead: 0, skipped: {}, issues: [], complete: false, committedMs: Date.now(),
    };
    await this.writeRegistry(row);
    return new ClickHouseCollectionWriter(this, row);
  }

  // ─────────── reads ───────────

  async snapshots(): Promise<Snapshot[]> {
    const visible = ClickHouseStore.VISIBLE;
    const snaps = await this.rows(`
      SELECT input_id, id, taken_at, event, kinds_json FROM {db}.snapshots WHERE input_id GLOBAL IN (${visible}) ORDER BY taken_at, id, input_id`);
    const byKey = new Map<string, Snapshot>();
    const out = snaps.map((r) => {
      const s: Snapshot = {
        id: Number(r[1]), takenAt: Number(r[2]), objects: [],
        ...(r[3] ? { event: r[3] } : {}), ...(r[4] ? { kinds: JSON.parse(r[4]) as string[] } : {}),
      };
      byKey.set(`${r[0]}:${r[1]}`, s);
      return s;
    });
    if (out.length === 0) return out;
    // Objects are written before their snapshot row, so a snapshot read here always has all of them; objects of a
    // listing written since the first query have no snapshot in the map and are skipped.
    for await (const chunk of this.stream(`
      SELECT input_id, snapshot_id, json FROM {db}.k8s_objects WHERE input_id GLOBAL IN (${visible}) ORDER BY input_id, snapshot_id, seq`)) {
      for (const r of chunk) byKey.get(`${r[0]}:${r[1]}`)?.objects.push(JSON.parse(r[2]) as K8sObject);
    }
    return out;
  }

  /**
   * Aggregates in the window, de-duplicated across observers: per input and observer the stored states are merged
   * (the window applies to that), summed per observer across inputs, then combined with MAX across observers.
   *
   * The server does no GROUP BY (on 18.16 one over 50M string keys takes minutes): `FINAL` merges the states of each
   * stored key (input and observer included) while reading the parts in sort order, and the rows arrive sorted by the
   * key, observer, input — so the two folds above happen here, one row at a time, in the order SQLite sorts by. Where
   * the server must be asked to sort (20.x on, Distributed tables) the key space is read in slices of `src_ip` ranges
   * (the leading sort column: the primary index finds them), each sorted in bounded memory, the next one prepared
   * while this one is read.
   */
  async *aggregates(w: TimeWindow = {}): AsyncGenerator<ObservedAggregate[]> {
    const visible = `input_id GLOBAL IN (${ClickHouseStore.VISIBLE})`;
    // Slice bounds: [from, to) over src_ip; the first slice is open below, the last open above. A FINAL the server
    // need not sort streams in bounded memory: one slice.
    const bounds: (string | undefined)[] = [undefined];
    if (!this.finalIsSorted) {
      const counts = await this.rows(`SELECT src_ip, count() FROM {db}.flow_aggregates WHERE ${visible} GROUP BY src_ip ORDER BY src_ip`);
      if (counts.length === 0) return;
      let rows = 0;
      for (const [ip, n] of counts) {
        if (rows > 0 && rows + Number(n) > this.sliceRows) {
          bounds.push(ip);
          rows = 0;
        }
        rows += Number(n);
      }
    }
    bounds.push(undefined);
    const sliceQuery = (i: number) => {
      const from = bounds[i];
      const to = bounds[i + 1];
      const where = [visible, from !== undefined ? `src_ip >= ${sqlString(from)}` : '', to !== undefined ? `src_ip < ${sqlString(to)}` : ''];
      return `
        SELECT toUInt8(${ROW_MARK}), ${FLOW_KEY_LIST}, observer, input_id,
               finalizeAggregation(flows), finalizeAggregation(packets), finalizeAggregation(bytes), finalizeAggregation(tcp_flags),
               finalizeAggregation(first_seen), finalizeAggregation(last_seen)
        FROM {db}.flow_aggregates FINAL
        WHERE ${where.filter(Boolean).join(' AND ')}
        ${this.finalIsSorted ? '' : `ORDER BY ${FLOW_KEY_LIST}, observer, input_id`}
        FORMAT RowBinary`;
    };
    const abort = new AbortController();
    let completed = false;
    const open = (i: number) => this.rawStream(sliceQuery(i), abort.signal);
    const fold = new ObserverFold(w, this.finalIsSorted);
    let next: Promise<Readable> | undefined = open(0);
    // A rejection of the prepared slice surfaces when it is awaited, not as an unhandled rejection meanwhile.
    next.catch(() => undefined);
    let current: Readable | undefined;
    try {
      for (let i = 0; i + 1 < bounds.length; i++) {
        current = await next!;
        next = i + 2 < bounds.length ? open(i + 1) : undefined;
        next?.catch(() => undefined);
        const reader = new RowBinaryFlows();
        for await (const data of current as AsyncIterable<Buffer>) yield* fold.add(reader, data);
        reader.end();
      }
      yield* fold.end();
      completed = true;
    } catch (e) {
      throw e instanceof Error && e.message.startsWith('ClickHouse') ? e : this.failure(e);
    } finally {
      // The consumer stopped early (or a read failed): drop what is still being sent.
      if (!completed) {
        abort.abort();
        if (current && !current.readableEnded) current.destroy();
        void next?.then((s) => s.destroy(), () => undefined);
      }
    }
  }

  /** The raw response of a query (its FORMAT clause included), for binary formats. */
  private async rawStream(query: string, signal: AbortSignal): Promise<Readable> {
    try {
      const r = await this.client.exec({ query: this.sql(query), abort_signal: signal });
      return r.stream as Readable;
    } catch (e) {
      throw this.failure(e);
    }
  }

  async dnsNames(): Promise<DnsEvidence[]> {
    const rows = await this.rows(`
      SELECT ip, name, min(first_seen) AS first, max(last_seen) AS last FROM {db}.dns_names
      WHERE input_id GLOBAL IN (${ClickHouseStore.VISIBLE}) GROUP BY ip, name ORDER BY ip, first, name`);
    return rows.map((r) => ({ ip: r[0], name: r[1], first: Number(r[2]), last: Number(r[3]) }));
  }

  async auditAggregates(w: TimeWindow = {}): Promise<AuditAggregate[]> {
    const where = [
      `input_id GLOBAL IN (${ClickHouseStore.VISIBLE})`,
      w.since !== undefined ? `last_seen >= ${sqlNumber(w.since)}` : '',
      w.until !== undefined ? `first_seen < ${sqlNumber(w.until)}` : '',
    ].filter(Boolean).join(' AND ');
    const rows = await this.rows(`
      SELECT ${AUDIT_KEY_LIST}, sum(count), min(first_seen), max(last_seen) FROM {db}.audit_aggregates
      WHERE ${where} GROUP BY ${AUDIT_KEY_LIST} ORDER BY ${AUDIT_KEY_LIST}`);
    return rows.map((r) => ({
      user: r[0], verb: r[1], apiGroup: r[2], resource: r[3], subresource: r[4], namespace: r[5], nonResourceURL: r[6],
      outcome: r[7] as AuditAggregate['outcome'], count: Number(r[8]), firstSeen: Number(r[9]), lastSeen: Number(r[10]),
    }));
  }

  async counts(): Promise<StoreCounts> {
    const visible = `input_id GLOBAL IN (${ClickHouseStore.VISIBLE})`;
    const [r] = await this.rows(`
      SELECT (SELECT count() FROM (${ClickHouseStore.VISIBLE})),
             (SELECT count() FROM {db}.snapshots WHERE ${visible}),
             (SELECT count() FROM {db}.k8s_objects WHERE ${visible}),
             (SELECT sumMerge(rows) FROM {db}.flow_aggregates WHERE ${visible}),
             (SELECT sumMerge(flows) FROM {db}.flow_aggregates WHERE ${visible})`);
    return { inputs: Number(r[0]), snapshots: Number(r[1]), objects: Number(r[2]), aggregates: Number(r[3]), flows: Number(r[4]) };
  }

  /** Every registry write (any process) and every live listing or event batch changes it. */
  async version(): Promise<string> {
    const [r] = await this.rows('SELECT (SELECT count() FROM {db}.inputs), (SELECT max(written_ms) FROM {db}.inputs), (SELECT count() FROM {db}.snapshots)');
    return r.join(':');
  }
}

// ───────────────────────────── reading flows ─────────────────────────────

/** First byte of every RowBinary row `aggregates()` reads: an error text the server appends mid-stream cannot pass for a row. */
const ROW_MARK = 0xa5;

/** A string column whose value often repeats from row to row: the last value is kept with its bytes, decoded once. */
class RepeatedString {
  private bytes = Buffer.alloc(64);
  private len = -1;
  value = '';

  read(buf: Buffer, start: number, len: number): string {
    if (len === this.len) {
      const b = this.bytes;
      let i = 0;
      while (i < len && b[i] === buf[start + i]) i++;
      if (i === len) return this.value;
    }
    if (len > this.bytes.length) this.bytes = Buffer.alloc(len * 2);
    buf.copy(this.bytes, 0, start, start + len);
    this.len = len;
    this.value = len === 0 ? '' : buf.toString('utf8', start, start + len);
    return this.value;
  }
}

/** One stored row: a key's merged state for one observer and input. */
interface StoredFlow {
  srcIp: string; dstIp: string; srcPort: number; dstPort: number; protocol: number; bucket: number; accepted: number;
  srcIdentity: string; dstIdentity: string; observer: string; inputId: number;
  flows: number; packets: number; bytes: number; tcpFlags: number; firstSeen: number; lastSeen: number;
}

/** Thrown (one shared value, no stack to capture) when a row continues in the next chunk. */
const INCOMPLETE = { incomplete: true };

/** Parses the RowBinary rows of `aggregates()`'s query across the chunks they arrive in. */
class RowBinaryFlows {
  private rest: Buffer | undefined;
  /** The row handed to `row`: one object, overwritten for each row (no garbage per row). */
  private readonly r: StoredFlow = {
    srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, protocol: 0, bucket: 0, accepted: 0, srcIdentity: '', dstIdentity: '', observer: '',
    inputId: 0, flows: 0, packets: 0, bytes: 0, tcpFlags: 0, firstSeen: 0, lastSeen: 0,
  };
  private readonly strings = [new RepeatedString(), new RepeatedString(), new RepeatedString(), new RepeatedString(), new RepeatedString()];

  /** Every whole row in `rest + chunk`, handed to `row`; a partial row at the end waits for the next chunk. */
  parse(chunk: Buffer, row: (r: StoredFlow) => void): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let o = 0;
    const end = buf.length;
    const need = (n: number) => {
      if (o + n > end) throw INCOMPLETE;
    };
    const str = (k: number) => {
      let len = 0;
      let shift = 0;
      for (;;) {
        need(1);
        const b = buf[o++];
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      need(len);
      const v = this.strings[k].read(buf, o, len);
      o += len;
      return v;
    };
    for (;;) {
      const start = o;
      if (o === end) {
        this.rest = undefined;
        return;
      }
      try {
        if (buf[o] !== ROW_MARK) throw new Error(`unexpected data in the result: ${buf.toString('utf8', o, Math.min(end, o + 500)).trim()}`);
        o++;
        const r = this.r;
        r.srcIp = str(0);
        r.dstIp = str(1);
        need(2 + 2 + 1 + 8 + 1);
        r.srcPort = buf.readUInt16LE(o);
        r.dstPort = buf.readUInt16LE(o + 2);
        r.protocol = buf[o + 4];
        r.bucket = buf.readDoubleLE(o + 5);
        r.accepted = buf[o + 13];
        o += 14;
        r.srcIdentity = str(2);
        r.dstIdentity = str(3);
        r.observer = str(4);
        need(8 + 8 * 3 + 2 + 8 * 2);
        r.inputId = buf.readUInt32LE(o) + buf.readUInt32LE(o + 4) * 2 ** 32;
        r.flows = buf.readDoubleLE(o + 8);
        r.packets = buf.readDoubleLE(o + 16);
        r.bytes = buf.readDoubleLE(o + 24);
        r.tcpFlags = buf.readUInt16LE(o + 32);
        r.firstSeen = buf.readDoubleLE(o + 34);
        r.lastSeen = buf.readDoubleLE(o + 42);
        o += 50;
        row(r);
      } catch (e) {
        if (e !== INCOMPLETE) throw e;
        this.rest = buf.subarray(start);
        return;
      }
    }
  }

  end(): void {
    if (this.rest?.length) throw new Error(`the result ended inside a row: ${this.rest.toString('utf8', 0, Math.min(this.rest.length, 500)).trim()}`);
  }
}

/** Strings in UTF-8 byte order (= code point order; JS's `<` compares UTF-16 units, which differs past U+D7FF). */
function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const fix = (c: number) => (c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c);
  return fix(a.charCodeAt(i)) - fix(b.charCodeAt(i));
}

/** The table's sort order: key, observer, input. */
function compareStored(a: StoredFlow, b: StoredFlow): number {
  return compareUtf8(a.srcIp, b.srcIp) || compareUtf8(a.dstIp, b.dstIp) || a.srcPort - b.srcPort || a.dstPort - b.dstPort
    || a.protocol - b.protocol || a.bucket - b.bucket || a.accepted - b.accepted || compareUtf8(a.srcIdentity, b.srcIdentity)
    || compareUtf8(a.dstIdentity, b.dstIdentity) || compareUtf8(a.observer, b.observer) || a.inputId - b.inputId;
}

/**
 * The two folds of `aggregates()` over rows sorted by key, observer, input: per observer the inputs' rows (in the
 * window) summed, per key the observers combined with MAX; aggregates come out in chunks of AGGREGATE_CHUNK.
 */
class ObserverFold {
  private chunk: ObservedAggregate[] = [];
  private ready: ObservedAggregate[][] = [];
  /** The key being folded: its result so far, and the key columns `out` does not show as they are. */
  private out: ObservedAggregate | undefined;
  private accepted = 0;
  private srcIdentity = '';
  private dstIdentity = '';
  /** The observer being summed, and its sums. */
  private observer = '';
  private flows = 0;
  private packets = 0;
  private bytes = 0;
  private readonly since: number;
  private readonly until: number;

  /** `checkOrder`: the server was not asked to sort; a row out of order is an error, not a wrong answer. */
  constructor(w: TimeWindow, private readonly checkOrder = false) {
    this.since = w.since ?? -Infinity;
    this.until = w.until ?? Infinity;
  }

  /** Fold the rows of one piece of the response; returns the chunks of aggregates it completed. */
  add(reader: RowBinaryFlows, data: Buffer): ObservedAggregate[][] {
    reader.parse(data, (r) => this.row(r));
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** The previous row (a copy, reused), for the order check. */
  private last: StoredFlow | undefined;

  private row(r: StoredFlow): void {
    if (this.checkOrder) this.checkAfterLast(r);
    if (r.lastSeen < this.since || r.firstSeen >= this.until) return;
    const o = this.out;
    if (!o || o.srcIp !== r.srcIp || o.dstIp !== r.dstIp || o.srcPort !== r.srcPort || o.dstPort !== r.dstPort || o.protocol !== r.protocol
      || o.bucket !== r.bucket || this.accepted !== r.accepted || this.srcIdentity !== r.srcIdentity || this.dstIdentity !== r.dstIdentity) {
      this.finishKey();
      this.accepted = r.accepted;
      this.srcIdentity = r.srcIdentity;
      this.dstIdentity = r.dstIdentity;
      this.observer = r.observer;
      this.flows = r.flows;
      this.packets = r.packets;
      this.bytes = r.bytes;
      const out: ObservedAggregate = {
        srcIp: r.srcIp, dstIp: r.dstIp, srcPort: r.srcPort, dstPort: r.dstPort, protocol: r.protocol, bucket: r.bucket,
        action: r.accepted ? 'ACCEPT' : 'REJECT', flows: 0, packets: 0, bytes: 0, tcpFlags: r.tcpFlags, firstSeen: r.firstSeen,
        lastSeen: r.lastSeen, inputIds: [r.inputId],
      };
      if (r.srcIdentity) out.srcIdentity = r.srcIdentity;
      if (r.dstIdentity) out.dstIdentity = r.dstIdentity;
      this.out = out;
      return;
    }
    if (r.observer !== this.observer) {
      this.finishObserver();
      this.observer = r.observer;
      this.flows = r.flows;
      this.packets = r.packets;
      this.bytes = r.bytes;
    } else {
      this.flows += r.flows;
      this.packets += r.packets;
      this.bytes += r.bytes;
    }
    o.tcpFlags |= r.tcpFlags;
    if (r.firstSeen < o.firstSeen) o.firstSeen = r.firstSeen;
    if (r.lastSeen > o.lastSeen) o.lastSeen = r.lastSeen;
    if (!o.inputIds.includes(r.inputId)) o.inputIds.push(r.inputId);
  }

  private checkAfterLast(r: StoredFlow): void {
    const l = this.last;
    if (!l) {
      this.last = { ...r };
      return;
    }
    if (compareStored(l, r) >= 0) throw new Error('ClickHouse returned the rows of SELECT … FINAL out of sort-key order');
    l.srcIp = r.srcIp; l.dstIp = r.dstIp; l.srcPort = r.srcPort; l.dstPort = r.dstPort; l.protocol = r.protocol; l.bucket = r.bucket;
    l.accepted = r.accepted; l.srcIdentity = r.srcIdentity; l.dstIdentity = r.dstIdentity; l.observer = r.observer; l.inputId = r.inputId;
  }

  private finishObserver(): void {
    const o = this.out!;
    if (this.flows > o.flows) o.flows = this.flows;
    if (this.packets > o.packets) o.packets = this.packets;
    if (this.bytes > o.bytes) o.bytes = this.bytes;
  }

  private finishKey(): void {
    if (!this.out) return;
    this.finishObserver();
    if (this.out.inputIds.length > 1) this.out.inputIds.sort((a, b) => a - b);
    this.chunk.push(this.out);
    if (this.chunk.length === AGGREGATE_CHUNK) {
      this.ready.push(this.chunk);
      this.chunk = [];
    }
    this.out = undefined;
  }

  /** The last key: the chunks left. */
  end(): ObservedAggregate[][] {
    this.finishKey();
    const rest = [...this.ready, ...(this.chunk.length ? [this.chunk] : [])];
    this.ready = [];
    this.chunk = [];
    return rest;
  }
}

// ───────────────────────────── writers ─────────────────────────────

const REGISTRY_COLUMNS = [
  'id', 'rev', 'state', 'begun', 'path', 'sha256', 'format', 'ingested_at', 'records_read', 'skipped_json', 'issues_json',
  'complete', 'committed_ms', 'written_ms',
] as const;
const SNAPSHOT_COLUMNS = ['input_id', 'id', 'taken_at', 'event', 'kinds_json'] as const;
const OBJECT_COLUMNS = ['input_id', 'snapshot_id', 'seq', 'kind', 'namespace', 'name', 'uid', 'json'] as const;
const DNS_COLUMNS = ['input_id', 'ip', 'name', 'first_seen', 'last_seen'] as const;
const AUDIT_COLUMNS = ['input_id', ...AUDIT_KEYS, 'count', 'first_seen', 'last_seen'] as const;

/** One revision of an input in the append-only registry: the input row plus its state. */
interface RegistryRow extends InputRow {
  rev: number;
  state: 'open' | 'committed' | 'rolled_back';
  begun: number;
  committedMs: number;
}

/** Objects first, then the snapshot row: a reader that sees the snapshot sees all its objects. */
async function writeSnapshot(store: ClickHouseStore, inputId: number, takenAt: number, objects: readonly K8sObject[], event?: string, kinds?: readonly string[]): Promise<void> {
  const id = nextSequence();
  const lines = objects.map((o, seq) => [
    inputId, id, seq, tsv(o.kind), tsv(o.metadata.namespace ?? ''), tsv(o.metadata.name), tsv(o.metadata.uid ?? ''), tsv(JSON.stringify(o)),
  ].join('\t') + '\n');
  await store.insertText('k8s_objects', OBJECT_COLUMNS, lines);
  await store.insertText('snapshots', SNAPSHOT_COLUMNS, `${inputId}\t${id}\t${tsvNumber(takenAt)}\t${tsv(event ?? '')}\t${tsv(kinds ? JSON.stringify([...kinds].sort()) : '')}\n`);
}

/**
 * One batch as RowBinary rows of `flow_aggregates` (AGGREGATE_COLUMNS order), each row already an aggregate state:
 * the server only sorts and writes them, where the staging table's materialized view would GROUP BY every block (on
 * 18.16 that costs more CPU than parsing the flow log did). Strings are a varint length and their UTF-8 bytes, numbers
 * little-endian; the states are ClickHouse's stored formats, which stay readable across releases (they are what
 * AggregatingMergeTree parts hold on disk): sum — the sum; groupBitOr — the value; min/max — a has-value byte, then
 * the value. Each distinct name is encoded once per batch.
 */
export function rowBinaryBatch(inputId: number, b: AggregateBatch): Buffer {
  const names = b.names.map((n) => {
    const bytes = Buffer.from(n, 'utf8');
    const len: number[] = [];
    let v = bytes.length;
    do {
      len.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
      v >>>= 7;
    } while (v > 0);
    return Buffer.concat([Buffer.from(len), bytes]);
  });
  const empty = Buffer.from([0]);
  const srcId = b.srcIdentity;
  const dstId = b.dstIdentity;
  // Fixed part of a row: input_id 8, ports 2+2, protocol 1, bucket 8, accepted 1, rows/flows/packets/bytes 32,
  // flags 2, first/last 9+9; plus five strings.
  let size = 0;
  for (let i = 0; i < b.size; i++) {
    size += 74 + names[b.observer[i]].length + names[b.src[i]].length + names[b.dst[i]].length
      + (srcId ? names[srcId[i]].length : 1) + (dstId ? names[dstId[i]].length : 1);
  }
  const out = Buffer.allocUnsafe(size);
  const lo = inputId % 2 ** 32;
  const hi = Math.floor(inputId / 2 ** 32);
  let o = 0;
  const str = (s: Buffer) => {
    o += s.copy(out, o);
  };
  for (let i = 0; i < b.size; i++) {
    o = out.writeUInt32LE(lo, o);
    o = out.writeUInt32LE(hi, o);
    str(names[b.observer[i]]);
    str(names[b.src[i]]);
    str(names[b.dst[i]]);
    o = out.writeUInt16LE(b.srcPort[i], o);
    o = out.writeUInt16LE(b.dstPort[i], o);
    o = out.writeUInt8(b.protocol[i], o);
    o = out.writeDoubleLE(b.bucket[i], o);
    o = out.writeUInt8(b.accepted[i], o);
    str(srcId ? names[srcId[i]] : empty);
    str(dstId ? names[dstId[i]] : empty);
    o = out.writeUInt32LE(1, o); // rows: sum(UInt64) of 1
    o = out.writeUInt32LE(0, o);
    o = out.writeDoubleLE(b.flows[i], o);
    o = out.writeDoubleLE(b.packets[i], o);
    o = out.writeDoubleLE(b.bytes[i], o);
    o = out.writeUInt16LE(b.tcpFlags[i], o);
    o = out.writeUInt8(1, o); // min: has a value
    o = out.writeDoubleLE(b.firstSeen[i], o);
    o = out.writeUInt8(1, o); // max: has a value
    o = out.writeDoubleLE(b.lastSeen[i], o);
  }
  if (o !== size) throw new Error(`RowBinary encoding: wrote ${o} of ${size} bytes`);
  return out;
}

/**
 * Writes of one input. Flow rows are buffered as TabSeparated text and inserted in large blocks, one insert in flight
 * while the next block fills; nothing is visible to readers until `commit` writes the registry row.
 */
export class ClickHouseInputWriter implements InputSink {
  readonly inputId: number;
  /** Flow rows not inserted yet, RowBinary-encoded. */
  private parts: Buffer[] = [];
  private bytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  private failed?: { error: unknown };
  private dns = new Map<string, DnsEvidence>();
  private readonly written = new Set<string>();
  private closed = false;

  constructor(private readonly store: ClickHouseStore, private readonly row: RegistryRow) {
    this.inputId = row.id;
  }

  async addSnapshot(takenAt: number, objects: K8sObject[]): Promise<void> {
    this.written.add('k8s_objects').add('snapshots');
    await writeSnapshot(this.store, this.inputId, takenAt, objects);
  }

  async addAuditAggregates(aggs: readonly AuditAggregate[]): Promise<void> {
    if (aggs.length === 0) return;
    this.written.add('audit_aggregates');
    const lines = aggs.map((a) => [
      this.inputId, tsv(a.user), tsv(a.verb), tsv(a.apiGroup), tsv(a.resource), tsv(a.subresource), tsv(a.namespace), tsv(a.nonResourceURL),
      tsv(a.outcome), tsvNumber(a.count), tsvNumber(a.firstSeen), tsvNumber(a.lastSeen),
    ].join('\t') + '\n');
    await this.store.insertText('audit_aggregates', AUDIT_COLUMNS, lines);
  }

  async addAggregates(aggs: readonly FlowAggregate[]): Promise<void> {
    await this.addBatch(batchFromAggregates(aggs));
  }

  async addBatch(b: AggregateBatch): Promise<void> {
    if (this.failed) throw this.failed.error;
    const buf = rowBinaryBatch(this.inputId, b);
    this.parts.push(buf);
    this.bytes += buf.length;
    for (const d of b.dns ?? []) {
      const key = `${d.ip}\t${d.name}`;
      const k = this.dns.get(key);
      const first = Math.floor(d.first);
      const last = Math.ceil(d.last);
      if (!k) this.dns.set(key, { ip: d.ip, name: d.name, first, last });
      else {
        k.first = Math.min(k.first, first);
        k.last = Math.max(k.last, last);
      }
    }
    if (this.bytes >= INSERT_BYTES) await this.flush();
  }

  /** Hand the buffered rows to an insert; waits only for the previous insert (one in flight). */
  private async flush(): Promise<void> {
    await this.inflight;
    if (this.failed) throw this.failed.error;
    if (this.parts.length === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    this.written.add('flow_aggregates');
    this.inflight = this.store.insertRowBinary('flow_aggregates', AGGREGATE_COLUMNS, parts).catch((error: unknown) => {
      this.failed ??= { error };
    });
  }

  async commit(counts: ReadCounts, issues: InputIssue[], complete: boolean, sha256?: string): Promise<void> {
    await this.flush();
    await this.inflight;
    if (this.failed) throw this.failed.error;
    if (this.dns.size > 0) {
      this.written.add('dns_names');
      // SQLite keeps one row per answer; the widest window per (ip, name) of this input is what readers take anyway.
      await this.store.insertText('dns_names', DNS_COLUMNS, [...this.dns.values()].map((d) =>
        `${this.inputId}\t${tsv(d.ip)}\t${tsv(d.name)}\t${tsvNumber(d.first)}\t${tsvNumber(d.last)}\n`));
    }
    await this.store.writeRegistry({
      ...this.row, rev: 1, state: 'committed', sha256: sha256 ?? this.row.sha256, recordsRead: counts.read, skipped: counts.skipped,
      issues: issues.slice(0, 100), complete, committedMs: Date.now(),
    });
    this.closed = true;
    // Lost a race with another process committing the same content first: its copy counts, ours is garbage.
    if (this.written.size > 0 && !(await this.store.isVisible(this.inputId))) await this.store.deleteInput(this.inputId, this.written);
  }

  async rollback(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.parts = [];
    await this.inflight;
    await this.store.writeRegistry({ ...this.row, rev: 2, state: 'rolled_back' });
    if (this.written.size > 0) await this.store.deleteInput(this.inputId, DATA_TABLES.filter((t) => this.written.has(t)));
  }
}

/** Writes of one live collection: visible as soon as each call returns. */
export class ClickHouseCollectionWriter implements CollectionSink {
  readonly inputId: number;

  constructor(private readonly store: ClickHouseStore, private readonly row: RegistryRow) {
    this.inputId = row.id;
  }

  async addListing(takenAt: number, kinds: readonly string[], objects: readonly K8sObject[]): Promise<void> {
    await writeSnapshot(this.store, this.inputId, takenAt, objects, undefined, kinds);
  }

  async addEvents(events: readonly WatchEventRecord[]): Promise<void> {
    // One object and one snapshot row per event; all objects first, so every snapshot a reader sees is whole.
    if (events.length === 0) return;
    const ids = events.map(() => nextSequence());
    await this.store.insertText('k8s_objects', OBJECT_COLUMNS, events.map((e, i) => [
      this.inputId, ids[i], 0, tsv(e.object.kind), tsv(e.object.metadata.namespace ?? ''), tsv(e.object.metadata.name),
      tsv(e.object.metadata.uid ?? ''), tsv(JSON.stringify(e.object)),
    ].join('\t') + '\n'));
    await this.store.insertText('snapshots', SNAPSHOT_COLUMNS, events.map((e, i) => `${this.inputId}\t${ids[i]}\t${tsvNumber(e.at)}\t${tsv(e.type)}\t\n`));
  }

  async finish(counts: ReadCounts, issues: InputIssue[], complete: boolean): Promise<void> {
    await this.store.writeRegistry({ ...this.row, rev: 2, recordsRead: counts.read, skipped: counts.skipped, issues: issues.slice(0, 100), complete });
  }
}

function errorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // 18.16 wraps its message: "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist, e.what() = DB::Exception".
  return m.replace(/, e\.what\(\) = .*$/s, '').replace(/e\.displayText\(\) = /, '').split('\n')[0];
}
