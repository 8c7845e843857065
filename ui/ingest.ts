import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowAggregator } from '../collector/aggregate.js';
import { forEachLine, readHead, readText } from '../collector/lines.js';
import { detectSource } from '../collector/registry.js';
import { newReadContext, type FlowSource, type ObjectSource } from '../collector/source.js';
import { k8sTime, STORED_KINDS, type InputIssue, type K8sObject, type ReadCounts } from '../model/index.js';
import type { Store } from '../store/store.js';

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

export async function ingestPaths(store: Store, paths: string[], opts: IngestOptions = {}): Promise<IngestReport[]> {
  const files = await expandPaths(paths);
  const reports: IngestReport[] = [];
  for (const f of files) {
    const r = await ingestFile(store, f, opts);
    opts.onReport?.(r);
    reports.push(r);
  }
  return reports;
}

export async function ingestFile(store: Store, path: string, opts: IngestOptions = {}): Promise<IngestReport> {
  const t0 = performance.now();
  const ctx = newReadContext(path);
  const report = (status: IngestStatus, format: string | undefined, written: number, error?: string): IngestReport => ({
    path, format, status, counts: ctx.counts, issues: ctx.issues, written, seconds: (performance.now() - t0) / 1000, error,
  });
  const sha = await sha256File(path);
  const seen = store.findInput(sha);
  if (seen) return report('unchanged', seen.format, 0);
  const source = detectSource(await readHead(path), path);
  if (!source) {
    ctx.issue({ reason: 'unrecognized-format', detail: 'not a flow log or Kubernetes dump segmap reads' });
    return report('unrecognized', undefined, 0);
  }
  const writer = store.beginInput(path, sha, source.format);
  try {
    if (source.kind === 'objects') {
      const written = await readObjects(source, path, ctx, writer, opts);
      writer.commit(ctx.counts, ctx.issues, true);
      return report('ingested', source.format, written);
    }
    const { written, complete } = await readFlows(source, path, ctx, writer, opts);
    writer.commit(ctx.counts, ctx.issues, complete);
    return report(complete ? 'ingested' : 'partial', source.format, written);
  } catch (e) {
    writer.rollback();
    return report('failed', source.format, 0, (e as Error).message);
  }
}

async function readFlows(source: FlowSource, path: string, ctx: ReturnType<typeof newReadContext>, writer: ReturnType<Store['beginInput']>, opts: IngestOptions) {
  let written = 0;
  const agg = new FlowAggregator((aggs) => writer.addAggregates(countingIter(aggs, () => written++)), { bucketSeconds: opts.bucketSeconds });
  let lastProgress = performance.now();
  const handler = source.open(ctx, (r) => agg.add(r));
  const outcome = await forEachLine(path, (line, n) => {
    handler.line(line, n);
    if ((n & 0xffff) === 0 && opts.onProgress && performance.now() - lastProgress > 2000) {
      lastProgress = performance.now();
      opts.onProgress(path, n);
    }
  });
  handler.end?.();
  agg.drain();
  if (outcome.error) {
    const truncated = /unexpected end of file/i.test(outcome.error.message);
    ctx.issue({ offset: outcome.bytesRead, line: outcome.lines + 1, reason: truncated ? 'truncated-gzip' : 'read-error', detail: outcome.error.message });
  }
  return { written, complete: !outcome.error };
}

function* countingIter<T>(it: Iterable<T>, onEach: () => void): Generator<T> {
  for (const x of it) {
    onEach();
    yield x;
  }
}

async function readObjects(source: ObjectSource, path: string, ctx: ReturnType<typeof newReadContext>, writer: ReturnType<Store['beginInput']>, opts: IngestOptions) {
  const text = await readText(path);
  const all = source.read(text, ctx);
  const kept: K8sObject[] = [];
  for (const o of all) {
    if ((STORED_KINDS as readonly string[]).includes(o.kind)) kept.push(o);
    else ctx.counts.skipped['unused-kind'] = (ctx.counts.skipped['unused-kind'] ?? 0) + 1; // not an error: counted, not reported
  }
  const takenAt = opts.snapshotAt ?? newestTimestamp(kept) ?? Math.floor((await stat(path)).mtimeMs / 1000);
  writer.addSnapshot(takenAt, kept);
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
