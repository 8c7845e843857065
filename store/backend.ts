/**
 * The store seam. Everything above `store/` (ingest, the analysis pipeline, the server, the CLI) talks to a
 * `FlowStore` and never knows which backend holds the data: SQLite (the default, one file) or ClickHouse (an estate
 * too large for one machine). Both return the same values for the same inputs; `test/store-conformance.test.ts` holds
 * every backend to that.
 *
 * The interface is asynchronous because a network database is; SQLite answers at once inside the same promises.
 */
import type { AggregateBatch, ClusterSnapshot, DnsEvidence, FlowAggregate, InputIssue, K8sObject, ObservedAggregate, ReadCounts } from '../model/index.js';
import type { AuditAggregate } from '../model/audit.js';

export interface InputRow {
  /** Unique positive safe integer; the order of ids is not meaningful across backends. */
  id: number;
  path: string;
  sha256: string;
  format: string;
  ingestedAt: string;
  recordsRead: number;
  skipped: Record<string, number>;
  issues: InputIssue[];
  complete: boolean;
}

export interface Snapshot extends ClusterSnapshot {
  id: number;
  /** `collect k8s --watch`: the type of the one watch event this snapshot holds (`ADDED`, `MODIFIED`, `DELETED`). */
  event?: string;
  /** `collect k8s`: the kinds this listing holds completely, cluster-wide. */
  kinds?: string[];
}

/** One watch event as `collect k8s --watch` received it; `at` is when it arrived (epoch s). */
export interface WatchEventRecord {
  at: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
}

export interface TimeWindow {
  /** Epoch seconds, inclusive. */
  since?: number;
  /** Epoch seconds, exclusive. */
  until?: number;
}

export interface StoreCounts {
  inputs: number;
  snapshots: number;
  objects: number;
  /** Stored aggregate rows (per input and observer, before de-duplication across observers). */
  aggregates: number;
  flows: number;
}

export interface FlowStore {
  readonly backend: 'sqlite' | 'clickhouse';
  /** What `--db` named: a file path or a `clickhouse://` URL (never with its password). */
  readonly location: string;
  close(): Promise<void>;

  /** The committed input with this content hash, if any (re-ingest is a no-op). */
  findInput(sha256: string): Promise<InputRow | undefined>;
  /** Committed inputs (and live collections), oldest first. */
  inputs(): Promise<InputRow[]>;
  /** Every cluster snapshot, by `takenAt` then id. */
  snapshots(): Promise<Snapshot[]>;
  /**
   * Aggregates in the window, de-duplicated across observers (a flow logged at both ENIs counts once: per-observer
   * sums are combined with MAX), in chunks. Within the stream, rows of one conversation come together, time
   * ascending — `replay` relies on it for speed, never for correctness.
   */
  aggregates(w?: TimeWindow): AsyncIterable<ObservedAggregate[]>;
  /** DNS evidence: each (address, name) with the widest window any input gave it, sorted by address, start, name. */
  dnsNames(): Promise<DnsEvidence[]>;
  /** Audit-log aggregates folded across inputs (counts added, first/last widened), sorted by every key column. */
  auditAggregates(w?: TimeWindow): Promise<AuditAggregate[]>;
  counts(): Promise<StoreCounts>;
  /** Changes whenever anything was written, by this process or another: the server's cache key. */
  version(): Promise<string>;

  /**
   * Start writing one input. Nothing it writes is visible to readers (and re-ingest of it is not a no-op) until
   * `commit`; `rollback` — or a crash — leaves no trace a reader can see.
   */
  beginInput(path: string, sha256: string, format: string, now?: Date): Promise<InputSink>;
  /** Start a live collection: every listing or batch of events is visible as soon as its call returns. */
  beginCollection(path: string, format: string, now?: Date): Promise<CollectionSink>;
}

export interface InputSink {
  readonly inputId: number;
  addSnapshot(takenAt: number, objects: K8sObject[]): Promise<void>;
  addAuditAggregates(aggs: readonly AuditAggregate[]): Promise<void>;
  addAggregates(aggs: readonly FlowAggregate[]): Promise<void>;
  addBatch(b: AggregateBatch): Promise<void>;
  /** `sha256` replaces the placeholder when the content hash was computed while the input was being read. */
  commit(counts: ReadCounts, issues: InputIssue[], complete: boolean, sha256?: string): Promise<void>;
  rollback(): Promise<void>;
}

export interface CollectionSink {
  readonly inputId: number;
  /** A complete listing of `kinds` taken at `takenAt`: evidence that objects of those kinds it lacks are gone. */
  addListing(takenAt: number, kinds: readonly string[], objects: readonly K8sObject[]): Promise<void>;
  /** Watch events, each a one-object snapshot marked with its type. */
  addEvents(events: readonly WatchEventRecord[]): Promise<void>;
  finish(counts: ReadCounts, issues: InputIssue[], complete: boolean): Promise<void>;
}

/** `clickhouse://[user[:password]@]host[:port]/database`; anything else is a SQLite file path. */
export const isClickHouseUrl = (location: string) => /^clickhouse:\/\//i.test(location);
