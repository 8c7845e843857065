import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FlowWorkerData, FlowWorkerMessage } from '../collector/flow-worker.js';
import { readHead, readHeadBytes, readText, type ReadLimits } from '../collector/lines.js';
import { readFlowFile, type FlowReadOptions, type FlowReadResult } from '../collector/read-flows.js';
import { detectSource, sourceByFormat } from '../collector/registry.js';
import { newReadContext, type FlowSource, type ObjectSource } from '../collector/source.js';
import { CLUSTER_SCOPED_KINDS, k8sTime, STORED_KINDS, type AggregateBatch, type InputIssue, type K8sObject, type ReadCounts } from '../model/index.js';
import type { FlowStore, InputSink } from '../store/backend.js';
import { WriteQueue } from './write-queue.js';

export type IngestStatus = 'ingested' | 'partial' | 'unchanged' | 'unrecognized' | 'failed';

export interface IngestReport {
  path: string;
  format?: string;
  status: IngestStatus;
  counts: ReadCounts;
  issues: InputIssue[];
  /** Aggregate rows written (flows) or objects stored (cluster dumps). */
  written: number;
  seconds: number;
  error?: string;
}

export interface IngestOptions {
  bucketSeconds?: number;
  /** Snapshot time for cluster dumps (epoch s). Default: the newest timestamp inside the dump, else the file's mtime. */
  snapshotAt?: number;
  /** Called with progress on long reads (records so far). */
  onProgress?: (path: string, records: number) => void;
  onReport?: (r: IngestReport) => void;
  /** Namespace for namespaced objects a dump or manifest names none for (as `kubectl apply -n` would place them). */
  namespace?: string;
  /** Flow files at least this large are parsed in a worker thread (default PARALLEL_MIN_BYTES). */
  parallelMinBytes?: number;
  /** Read every file as this format (`ingest --format`) instead of detecting it; an unknown name throws. */
  format?: string;
  /**
   * Bounds on what one input may cost (collector/lines `DEFAULT_LIMITS`): line length (1 MiB; longer lines are skipped
   * as `line-too-long`), gzip expansion (200× past 64 MiB, 64 GiB in all: `decompression-limit`, the file kept up to
   * there) and whole-file inputs (512 MiB: refused).
   */
  limits?: ReadLimits;
}

/** Files under the given paths, directories walked recursively in name order; dot-files skipped. */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch((e: Error) => { throw new Error(`cannot read ${p}`, { cause: e }); });
    if (s.isDirectory()) {
      const entries = (await readdir(p)).filter((n) => !n.startsWith('.')).sort();
      out.push(...(await expandPaths(entries.map((n) => join(p, n)))));
    } else out.push(p);
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

export async function ingestPaths(store: FlowStore, paths: string[], opts: IngestOptions = {}): Promise<IngestReport[]> {
  const files = await expandPaths(paths);
  const reports: IngestReport[] = [];
  for (const f of files) {
    const r = await ingestFile(store, f, opts);
    opts.onReport?.(r);
    reports.push(r);
  }
  return reports;
}

/** Files at least this large are parsed in a worker thread while this thread stores (and hashes) them. */
export const PARALLEL_MIN_BYTES = 16 << 20;

export async function ingestFile(store: FlowStore, path: string, opts: IngestOptions = {}): Promise<IngestReport> {
  const t0 = performance.now();
  const ctx = newReadContext(path);
  const report = (status: IngestStatus, format: string | undefined, written: number, error?: string): IngestReport => ({
    path, format, status, counts: ctx.counts, issues: ctx.issues, written, seconds: (performance.now() - t0) / 1000, error,
  });
  const { size } = await stat(path);
  // Small inputs are hashed before reading. Large flow files are hashed while a worker parses them: the hash is done
  // long before the parse, and a duplicate stops the worker then.
  const hashing = sha256File(path);
  const source = opts.format ? sourceByFormat(opts.format) : detectSource(await readHead(path), path, await readHeadBytes(path));
  if (opts.format && !source) throw new Error(`unknown format ${opts.format}`);
  const worker = source?.kind === 'flows' && size >= (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES) ? flowWorkerUrl() : undefined;
  if (!worker) {
    const seen = await store.findInput(await hashing);
    if (seen) return report('unchanged', seen.format, 0);
  }
  if (!source) {
    ctx.issue({ reason: 'unrecognized-format', detail: 'not a flow log or Kubernetes dump segmap reads' });
    return report('unrecognized', undefined, 0);
  }
  const writer = await store.beginInput(path, worker ? `pending:${process.pid}:${t0}` : await hashing, source.format);
  // The parser hands batches over synchronously; the store takes them in order, one write at a time.
  const writes = new WriteQueue();
  try {
    if (source.kind === 'audit') {
      const aggs = source.read(await readText(path, opts.limits), ctx);
      await writer.addAuditAggregates(aggs);
      await writer.commit(ctx.counts, ctx.issues, true);
      return report('ingested', source.format, aggs.length);
    }
    if (source.kind === 'objects') {
      const written = await readObjects(source, path, ctx, writer, opts);
      await writer.commit(ctx.counts, ctx.issues, true);
      return report('ingested', source.format, written);
    }
    let written = 0;
    const storeBatch = (batch: AggregateBatch) => writes.push(async () => {
      await writer.addBatch(batch);
      written += batch.size;
    });
    const read: FlowReadOptions = {
      bucketSeconds: opts.bucketSeconds,
      // A failed write is reported by `writes.drain()` below.
      onBatch: (batch) => void storeBatch(batch).catch(() => {}),
      onProgress: (n) => opts.onProgress?.(path, n),
      limits: opts.limits,
    };
    const result = worker ? await readFlowsInWorker(worker, path, source, read, storeBatch, hashing, store) : await readFlowFile(path, source, read);
    await writes.drain();
    if (result === 'duplicate') {
      await writer.rollback();
      return report('unchanged', (await store.findInput(await hashing))?.format, 0);
    }
    ctx.counts.read = result.counts.read;
    Object.assign(ctx.counts.skipped, result.counts.skipped);
    if (result.counts.notes) ctx.counts.notes = result.counts.notes;
    ctx.issues.push(...result.issues);
    await writer.commit(ctx.counts, ctx.issues, result.complete, await hashing);
    return report(result.complete ? 'ingested' : 'partial', source.format, written);
  } catch (e) {
    await writes.drain().catch(() => {}); // nothing may reach the store after the rollback
    await writer.rollback();
    return report('failed', source.format, 0, (e as Error).message);
  }
}

/** The compiled worker (next to dist/ui/ingest.js, or dist/ when running from the sources under test). */
function flowWorkerUrl(): URL | undefined {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../dist/collector/flow-worker.js', here) : new URL('../collector/flow-worker.js', here);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

function readFlowsInWorker(
  url: URL, path: string, source: FlowSource, opts: FlowReadOptions, storeBatch: (batch: AggregateBatch) => Promise<void>,
  hashing: Promise<string>, store: FlowStore,
): Promise<FlowReadResult | 'duplicate'> {
  return new Promise((resolve, reject) => {
    const data: FlowWorkerData = { path, format: source.format, bucketSeconds: opts.bucketSeconds, limits: opts.limits, stored: new SharedArrayBuffer(4) };
    const stored = new Int32Array(data.stored);
    const worker = new Worker(url, { workerData: data });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const fail = (e: unknown) => settle(() => {
      void worker.terminate();
      reject(e);
    });
    hashing.then((sha) => store.findInput(sha)).then((seen) => {
      if (seen) settle(() => {
        void worker.terminate();
        resolve('duplicate');
      });
    }, fail);
    worker.on('message', (m: FlowWorkerMessage) => {
      if (settled) return;
      try {
        if (m.type === 'batch') {
          // The worker may run ahead only as far as the store has taken its batches (back-pressure, flat memory).
          // A failed write stops the worker at once (the parse would be wasted); the store's error is the reason.
          storeBatch(m.batch).then(() => {
            Atomics.add(stored, 0, 1);
            Atomics.notify(stored, 0);
          }, fail);
        }
        else if (m.type === 'progress') opts.onProgress?.(m.lines);
        else settle(() => resolve(m.result));
      } catch (e) {
        fail(e);
      }
    });
    worker.on('error', (e) => fail(new Error(`flow worker failed on ${path}`, { cause: e })));
    worker.on('exit', (code) => fail(new Error(`flow worker for ${path} exited (${code}) before finishing`)));
  });
}

async function readObjects(source: ObjectSource, path: string, ctx: ReturnType<typeof newReadContext>, writer: InputSink, opts: IngestOptions) {
  const text = await readText(path, opts.limits);
  const all = source.read(text, ctx);
  const kept: K8sObject[] = [];
  for (const o of all) {
    if (!(STORED_KINDS as readonly string[]).includes(o.kind)) {
      ctx.counts.skipped['unused-kind'] = (ctx.counts.skipped['unused-kind'] ?? 0) + 1; // not an error: counted, not reported
      continue;
    }
    if (opts.namespace && !o.metadata.namespace && !CLUSTER_SCOPED_KINDS.includes(o.kind)) o.metadata = { ...o.metadata, namespace: opts.namespace };
    kept.push(o);
  }
  const takenAt = opts.snapshotAt ?? newestTimestamp(kept) ?? Math.floor((await stat(path)).mtimeMs / 1000);
  await writer.addSnapshot(takenAt, kept);
  return kept.length;
}

/**
 * A `kubectl get -o json` dump carries no time of its own. The newest timestamp inside it (creations, deletions,
 * container starts and finishes, condition transitions) is the latest moment it is known to describe.
 */
export function newestTimestamp(objects: K8sObject[]): number | undefined {
  let max: number | undefined;
  const see = (s: unknown) => {
    const t = typeof s === 'string' ? k8sTime(s) : undefined;
    if (t !== undefined && (max === undefined || t > max)) max = t;
  };
  for (const o of objects) {
    see(o.metadata.creationTimestamp);
    see(o.metadata.deletionTimestamp);
    const st = o.status as Record<string, any> | undefined;
    if (!st) continue;
    see(st.startTime);
    see(st.completionTime);
    see(st.lastScheduleTime);
    for (const c of st.conditions ?? []) { see(c.lastTransitionTime); see(c.lastHeartbeatTime); }
    for (const cs of [...(st.containerStatuses ?? []), ...(st.initContainerStatuses ?? [])]) {
      see(cs.state?.running?.startedAt);
      see(cs.state?.terminated?.finishedAt);
      see(cs.lastState?.terminated?.finishedAt);
    }
  }
  return max;
}

