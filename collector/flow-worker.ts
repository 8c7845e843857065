/**
 * Worker-thread entry: reads, parses and aggregates one flow file and posts aggregate batches to the main thread,
 * which only writes them. Parsing is most of ingest's work; this puts it on the second core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { batchBuffers, type AggregateBatch } from '../model/index.js';
import type { ReadLimits } from './lines.js';
import { readFlowFile } from './read-flows.js';
import { SOURCES } from './registry.js';
import type { FlowSource } from './source.js';

export interface FlowWorkerData { path: string; format: string; bucketSeconds?: number; maxEntries?: number; limits?: ReadLimits }

export type FlowWorkerMessage =
  | { type: 'batch'; batch: AggregateBatch }
  | { type: 'progress'; lines: number }
  | { type: 'done'; result: import('./read-flows.js').FlowReadResult };

const data = workerData as FlowWorkerData;
const port = parentPort!;
const source = SOURCES.find((s): s is FlowSource => s.kind === 'flows' && s.format === data.format);
if (!source) throw new Error(`no flow source named ${data.format}`);
const post = (m: FlowWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const result = await readFlowFile(data.path, source, {
  bucketSeconds: data.bucketSeconds,
  maxEntries: data.maxEntries,
  limits: data.limits,
  // The columns move to the main thread without a copy.
  onBatch: (batch) => post({ type: 'batch', batch }, batchBuffers(batch)),
  onProgress: (lines) => post({ type: 'progress', lines }),
});
post({ type: 'done', result });
