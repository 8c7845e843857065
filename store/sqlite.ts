import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { batchFromAggregates, type AggregateBatch, type ClusterSnapshot, type DnsEvidence, type FlowAggregate, type InputIssue, type K8sObject, type ObservedAggregate, type ReadCounts } from '../model/index.js';
import type { AuditAggregate } from '../model/audit.js';
import type { CollectionSink, FlowStore, InputRow, InputSink, Snapshot, StoreCounts, TimeWindow, WatchEventRecord } from './backend.js';
import { MIGRATIONS } from './migrations.js';

export type { InputRow, Snapshot, TimeWindow, WatchEventRecord } from './backend.js';

const INSERT_BATCH = 500;
/** Rows per chunk `aggregates()` yields: large enough that the per-chunk await costs nothing. */
const AGGREGATE_CHUNK = 4096;

/**
 * The only place with SQL. One SQLite file in WAL mode; every input is written inside its own transaction, so a
 * crash loses at most the input being read and never what came before.
 */
export class SqliteStore implements FlowStore {
  readonly backend = 'sqlite' as const;
  readonly db: Database.Database;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.location = path;
  }

  readonly location: string;

  static open(path: string, opts: { readonly?: boolean } = {}): SqliteStore {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (e) {
      throw new Error(`cannot open database ${path}`, { cause: e });
    }
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    db.aggregate('bit_or', { start: 0, step: (acc: number, v: number) => acc | v });
    const store = new SqliteStore(db, path);
    if (!opts.readonly) store.migrate();
    else if ((db.pragma('user_version', { simple: true }) as number) < MIGRATIONS.length) {
      throw new Error(`database ${path} was written by an older segmap; open it once without --readonly to upgrade`);
    }
    return store;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) throw new Error(`database schema ${current} is newer than this segmap (${MIGRATIONS.length})`);
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async findInput(sha256: string): Promise<InputRow | undefined> {
    const r = this.db.prepare('SELECT * FROM inputs WHERE sha256 = ?').get(sha256) as Record<string, unknown> | undefined;
    return r ? toInputRow(r) : undefined;
  }

  async inputs(): Promise<InputRow[]> {
    return (this.db.prepare('SELECT * FROM inputs ORDER BY id').all() as Record<string, unknown>[]).map(toInputRow);
  }

  /**
   * Start writing one input inside a transaction. The input becomes visible (and re-ingest a no-op) only when
   * `commit` runs; `rollback` discards everything it wrote.
   */
  async beginInput(path: string, sha256: string, format: string, now: Date = new Date()): Promise<InputWriter> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const id = Number(
        this.db.prepare('INSERT INTO inputs (path, sha256, format, ingested_at) VALUES (?, ?, ?, ?)').run(path, sha256, format, now.toISOString())
          .lastInsertRowid,
      );
      return new InputWriter(this.db, id);
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async snapshots(): Promise<Snapshot[]> {
    const snaps = this.db.prepare('SELECT id, taken_at, event, kinds_json FROM snapshots ORDER BY taken_at, id').all() as
      { id: number; taken_at: number; event: string | null; kinds_json: string | null }[];
    // One pass over all objects (a long watch makes thousands of one-object snapshots: no query per snapshot).
    const objects = new Map<number, K8sObject[]>(snaps.map((s) => [s.id, []]));
    for (const r of this.db.prepare('SELECT snapshot_id, json FROM k8s_objects ORDER BY rowid').raw().iterate() as Iterable<[number, string]>) {
      objects.get(r[0])?.push(JSON.parse(r[1]) as K8sObject);
    }
    return snaps.map((s) => ({
      id: s.id, takenAt: s.taken_at, objects: objects.get(s.id)!,
      ...(s.event ? { event: s.event } : {}), ...(s.kinds_json ? { kinds: JSON.parse(s.kinds_json) as string[] } : {}),
    }));
  }

  /**
   * Start a live collection (`collect k8s`). Unlike `beginInput` nothing is held open: the input row is written at once
   * (incomplete until `finish`), and every listing or batch of watch events is its own transaction, so a collection
   * that runs for hours never holds the write lock and a crash keeps everything recorded before it.
   */
  async beginCollection(path: string, format: string, now: Date = new Date()): Promise<CollectionWriter> {
    const id = Number(
      this.db.prepare('INSERT INTO inputs (path, sha256, format, ingested_at, complete) VALUES (?, ?, ?, ?, 0)')
        .run(path, `live:${randomUUID()}`, format, now.toISOString()).lastInsertRowid,
    );
    return new CollectionWriter(this.db, id);
  }

  /**
   * Aggregates in the window, de-duplicated across observers: a flow logged at both ends (source and destination
   * ENI) counts once — the per-observer sums are combined with MAX, not added.
   *
   * The rows are read through a connection of their own: the consumer may await between chunks, and a
   * better-sqlite3 connection with an open iterator refuses every other statement (a server answers other requests
   * meanwhile). WAL lets that reader run beside the writer.
   */
  async *aggregates(w: TimeWindow = {}): AsyncGenerator<ObservedAggregate[]> {
    const own = this.location !== ':memory:' && this.location !== '';
    const db = own ? new Database(this.location, { readonly: true, fileMustExist: true }) : this.db;
    try {
      if (own) db.aggregate('bit_or', { start: 0, step: (acc: number, v: number) => acc | v });
      const stmt = db.prepare(`
        SELECT src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, src_identity, dst_identity,
               MAX(flows) AS flows, MAX(packets) AS packets, MAX(bytes) AS bytes, bit_or(tcp_flags) AS tcp_flags,
               MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen, GROUP_CONCAT(inputs) AS inputs
        FROM (
          SELECT src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, src_identity, dst_identity, observer,
                 SUM(flows) AS flows, SUM(packets) AS packets, SUM(bytes) AS bytes, bit_or(tcp_flags) AS tcp_flags,
                 MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen, GROUP_CONCAT(DISTINCT input_id) AS inputs
          FROM flow_aggregates
          WHERE last_seen >= ? AND first_seen < ?
          GROUP BY src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, src_identity, dst_identity, observer
        )
        GROUP BY src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, src_identity, dst_identity
        ORDER BY src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, src_identity, dst_identity`);
      let chunk: ObservedAggregate[] = [];
      for (const r of stmt.iterate(w.since ?? -1, w.until ?? Number.MAX_SAFE_INTEGER) as Iterable<Record<string, any>>) {
        chunk.push({
          srcIp: r.src_ip, dstIp: r.dst_ip, srcPort: r.src_port, dstPort: r.dst_port, protocol: r.protocol, bucket: r.bucket,
          action: r.accepted ? 'ACCEPT' : 'REJECT', flows: r.flows, packets: r.packets, bytes: r.bytes, tcpFlags: r.tcp_flags,
          firstSeen: r.first_seen, lastSeen: r.last_seen,
          inputIds: [...new Set(String(r.inputs).split(',').map(Number))].sort((x, y) => x - y),
          ...(r.src_identity ? { srcIdentity: r.src_identity } : {}),
          ...(r.dst_identity ? { dstIdentity: r.dst_identity } : {}),
        });
        if (chunk.length === AGGREGATE_CHUNK) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length) yield chunk;
    } finally {
      if (own) db.close();
    }
  }

  async version(): Promise<string> {
    const v = this.db.pragma('data_version', { simple: true }) as number;
    const n = this.db.prepare('SELECT COUNT(*) FROM inputs').pluck().get() as number;
    return `${v}:${n}`;
  }

  /** DNS evidence: each (address, name) with the widest window any input gave it, sorted by address then start. */
  async dnsNames(): Promise<DnsEvidence[]> {
    return this.db.prepare('SELECT ip, name, MIN(first_seen) AS first, MAX(last_seen) AS last FROM dns_names GROUP BY ip, name ORDER BY ip, first, name')
      .all() as DnsEvidence[];
  }

  /** Audit-log aggregates over every ingested audit log, folded across inputs (counts added, first/last widened). */
  async auditAggregates(w: TimeWindow = {}): Promise<AuditAggregate[]> {
    const rows = this.db.prepare(`
      SELECT user, verb, api_group, resource, subresource, namespace, non_resource_url, outcome,
             SUM(count) AS count, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
      FROM audit_aggregates WHERE last_seen >= ? AND first_seen < ?
      GROUP BY user, verb, api_group, resource, subresource, namespace, non_resource_url, outcome
      ORDER BY user, verb, api_group, resource, subresource, namespace, non_resource_url, outcome`)
      .all(w.since ?? -1, w.until ?? Number.MAX_SAFE_INTEGER) as Record<string, any>[];
    return rows.map((r) => ({
      user: r.user, verb: r.verb, apiGroup: r.api_group, resource: r.resource, subresource: r.subresource, namespace: r.namespace,
      nonResourceURL: r.non_resource_url, outcome: r.outcome, count: r.count, firstSeen: r.first_seen, lastSeen: r.last_seen,
    }));
  }

  async counts(): Promise<StoreCounts> {
    const one = (sql: string) => (this.db.prepare(sql).pluck().get() as number | null) ?? 0;
    return {
      inputs: one('SELECT COUNT(*) FROM inputs'),
      snapshots: one('SELECT COUNT(*) FROM snapshots'),
      objects: one('SELECT COUNT(*) FROM k8s_objects'),
      aggregates: one('SELECT COUNT(*) FROM flow_aggregates'),
      flows: one('SELECT SUM(flows) FROM flow_aggregates'),
    };
  }
}

/** Writes of one input, all inside the transaction `SqliteStore.beginInput` opened. */
export class InputWriter implements InputSink {
  private readonly insertAgg: Database.Statement;
  private readonly insertAggMany: Database.Statement;
  private closed = false;

  constructor(private readonly db: Database.Database, readonly inputId: number) {
    const cols = '(input_id, observer, src_ip, dst_ip, src_port, dst_port, protocol, bucket, accepted, flows, packets, bytes, tcp_flags, first_seen, last_seen, src_identity, dst_identity)';
    const one = '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)';
    this.insertAgg = db.prepare(`INSERT INTO flow_aggregates ${cols} VALUES ${one}`);
    this.insertAggMany = db.prepare(`INSERT INTO flow_aggregates ${cols} VALUES ${Array(INSERT_BATCH).fill(one).join(',')}`);
  }

  async addSnapshot(takenAt: number, objects: K8sObject[]): Promise<void> {
    const snapId = Number(this.db.prepare('INSERT INTO snapshots (input_id, taken_at) VALUES (?, ?)').run(this.inputId, takenAt).lastInsertRowid);
    const ins = this.db.prepare('INSERT INTO k8s_objects (snapshot_id, kind, namespace, name, uid, json) VALUES (?, ?, ?, ?, ?, ?)');
    for (const o of objects) ins.run(snapId, o.kind, o.metadata.namespace ?? '', o.metadata.name, o.metadata.uid ?? null, JSON.stringify(o));
  }

  async addAuditAggregates(aggs: readonly AuditAggregate[]): Promise<void> {
    const ins = this.db.prepare(`INSERT INTO audit_aggregates (input_id, user, verb, api_group, resource, subresource, namespace, non_resource_url,
      outcome, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const a of aggs) {
      ins.run(this.inputId, a.user, a.verb, a.apiGroup, a.resource, a.subresource, a.namespace, a.nonResourceURL, a.outcome, a.count, a.firstSeen, a.lastSeen);
    }
  }

  async addAggregates(aggs: readonly FlowAggregate[]): Promise<void> {
    this.addBatchSync(batchFromAggregates(aggs));
  }

  /** Multi-row inserts straight from the columns: one statement per 500 rows is what makes aggregate writes cheap. */
  async addBatch(b: AggregateBatch): Promise<void> {
    this.addBatchSync(b);
  }

  private addBatchSync(b: AggregateBatch): void {
    const params: unknown[] = [];
    let n = 0;
    for (let i = 0; i < b.size; i++) {
      params.push(this.inputId, b.names[b.observer[i]], b.names[b.src[i]], b.names[b.dst[i]], b.srcPort[i], b.dstPort[i], b.protocol[i],
        b.bucket[i], b.accepted[i], b.flows[i], b.packets[i], b.bytes[i], b.tcpFlags[i], b.firstSeen[i], b.lastSeen[i],
        b.srcIdentity ? b.names[b.srcIdentity[i]] : '', b.dstIdentity ? b.names[b.dstIdentity[i]] : '');
      if (++n === INSERT_BATCH) {
        this.insertAggMany.run(params);
        params.length = 0;
        n = 0;
      }
    }
    for (let i = 0; i < n; i++) this.insertAgg.run(params.slice(i * 17, i * 17 + 17));
    if (b.dns?.length) {
      const ins = this.db.prepare('INSERT INTO dns_names (input_id, ip, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)');
      for (const d of b.dns) ins.run(this.inputId, d.ip, d.name, Math.floor(d.first), Math.ceil(d.last));
    }
  }

  /** `sha256` replaces the placeholder when the content hash was computed while the input was being read. */
  async commit(counts: ReadCounts, issues: InputIssue[], complete: boolean, sha256?: string): Promise<void> {
    this.db.prepare('UPDATE inputs SET records_read = ?, skipped_json = ?, issues_json = ?, complete = ?, sha256 = COALESCE(?, sha256) WHERE id = ?')
      .run(counts.read, JSON.stringify(counts.skipped), JSON.stringify(issues.slice(0, 100)), complete ? 1 : 0, sha256 ?? null, this.inputId);
    this.db.exec('COMMIT');
    this.closed = true;
  }

  async rollback(): Promise<void> {
    if (this.closed) return;
    this.db.exec('ROLLBACK');
    this.closed = true;
  }
}

/** Writes of one live collection; each call is one transaction. */
export class CollectionWriter implements CollectionSink {
  private readonly insertSnap: Database.Statement;
  private readonly insertObj: Database.Statement;

  constructor(private readonly db: Database.Database, readonly inputId: number) {
    this.insertSnap = db.prepare('INSERT INTO snapshots (input_id, taken_at, event, kinds_json) VALUES (?, ?, ?, ?)');
    this.insertObj = db.prepare('INSERT INTO k8s_objects (snapshot_id, kind, namespace, name, uid, json) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** A complete listing of `kinds` taken at `takenAt`: evidence that objects of those kinds it lacks are gone. */
  async addListing(takenAt: number, kinds: readonly string[], objects: readonly K8sObject[]): Promise<void> {
    this.db.transaction(() => {
      const snapId = Number(this.insertSnap.run(this.inputId, takenAt, null, JSON.stringify([...kinds].sort())).lastInsertRowid);
      for (const o of objects) this.addObject(snapId, o);
    })();
  }

  /** Watch events, each a one-object snapshot marked with its type. */
  async addEvents(events: readonly WatchEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    this.db.transaction(() => {
      for (const e of events) this.addObject(Number(this.insertSnap.run(this.inputId, e.at, e.type, null).lastInsertRowid), e.object);
    })();
  }

  async finish(counts: ReadCounts, issues: InputIssue[], complete: boolean): Promise<void> {
    this.db.prepare('UPDATE inputs SET records_read = ?, skipped_json = ?, issues_json = ?, complete = ? WHERE id = ?')
      .run(counts.read, JSON.stringify(counts.skipped), JSON.stringify(issues.slice(0, 100)), complete ? 1 : 0, this.inputId);
  }

  private addObject(snapId: number, o: K8sObject): void {
    this.insertObj.run(snapId, o.kind, o.metadata.namespace ?? '', o.metadata.name, o.metadata.uid ?? null, JSON.stringify(o));
  }
}

function toInputRow(r: Record<string, unknown>): InputRow {
  return {
    id: r.id as number, path: r.path as string, sha256: r.sha256 as string, format: r.format as string, ingestedAt: r.ingested_at as string,
    recordsRead: r.records_read as number, skipped: JSON.parse(r.skipped_json as string), issues: JSON.parse(r.issues_json as string),
    complete: r.complete === 1,
  };
}
