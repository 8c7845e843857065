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

export interface FlowWorkerData {
  path: string;
  format: string;
  bucketSeconds?: number;
  maxEntries?: number;
  limits?: ReadLimits;
  /** Int32 counter of batches the main thread has stored: the worker waits when it runs too far ahead. */
  stored: SharedArrayBuffer;
}

/** Batches posted but not yet stored, at most: without this, a fast parser queues the whole file in memory. */
export const MAX_BATCHES_IN_FLIGHT = 3;

export type FlowWorkerMessage =
  | { type: 'batch'; batch: AggregateBatch }
  | { type: 'progress'; lines: number }
  | { type: 'done'; result: import('./read-flows.js').FlowReadResult };

const data = workerData as FlowWorkerData;
const port = parentPort!;
const source = SOURCES.find((s): s is FlowSource => s.kind === 'flows' && s.format === data.format);
if (!source) throw new Error(`no flow source named ${data.format}`);
const post = (m: FlowWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const stored = new Int32Array(data.stored);
let posted = 0;
/** Block (this is a worker: blocking is allowed) until the main thread has caught up. */
function waitForStore(): void {
  for (;;) {
    const done = Atomics.load(stored, 0);
    if (posted - done < MAX_BATCHES_IN_FLIGHT) return;
    Atomics.wait(stored, 0, done, 1000);
  }
}
const result = await readFlowFile(data.path, source, {
  bucketSeconds: data.bucketSeconds,
  maxEntries: data.maxEntries,
  limits: data.limits,
  // The columns move to the main thread without a copy.
  onBatch: (batch) => {
    waitForStore();
    post({ type: 'batch', batch }, batchBuffers(batch));
    posted++;
  },
  onProgress: (lines) => post({ type: 'progress', lines }),
});
post({ type: 'done', result });
