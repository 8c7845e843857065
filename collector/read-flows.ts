import type { AggregateBatch, InputIssue, ReadCounts } from '../model/index.js';
import { FlowAggregator } from './aggregate.js';
import { DEFAULT_LIMITS, forEachChunk, forEachLine, LimitError, type ReadLimits, type ReadOutcome } from './lines.js';
import { newReadContext, type FlowSource } from './source.js';

export interface FlowReadOptions {
  bucketSeconds?: number;
  maxEntries?: number;
  /** Aggregates ready to store, in batches of at most `maxEntries`. */
  onBatch: (batch: AggregateBatch) => void;
  /** Lines read so far, about every two seconds. */
  onProgress?: (lines: number) => void;
  /** Line-length and decompression limits (defaults: `DEFAULT_LIMITS`). */
  limits?: ReadLimits;
}

export interface FlowReadResult {
  counts: ReadCounts;
  issues: InputIssue[];
  /** False when the read ended early (truncated gzip, I/O error); what came before was still delivered. */
  complete: boolean;
}

/** Read one flow file: lines → records → aggregates. The same code runs in-thread or in a worker. */
export async function readFlowFile(path: string, source: FlowSource, opts: FlowReadOptions): Promise<FlowReadResult> {
  const ctx = newReadContext(path);
  const agg = new FlowAggregator(opts.onBatch, { bucketSeconds: opts.bucketSeconds, maxEntries: opts.maxEntries });
  ctx.dns = (d) => agg.addDns(d);
  let outcome: ReadOutcome;
  if (source.openBinary) {
    const handler = source.openBinary(ctx, (r) => agg.add(r));
    outcome = await forEachChunk(path, (buf) => handler.chunk(buf), opts.limits);
    handler.end();
  } else {
    const handler = source.open(ctx, (r) => agg.add(r));
    let lastProgress = performance.now();
    outcome = await forEachLine(path, (line, n) => {
      handler.line(line, n);
      if ((n & 0xffff) === 0 && opts.onProgress && performance.now() - lastProgress > 2000) {
        lastProgress = performance.now();
        opts.onProgress(n);
      }
    }, opts.limits, (l) => {
      ctx.issue({ line: l.line, offset: l.offset, reason: 'line-too-long', detail: `${l.length}+ characters from byte ${l.offset}; limit ${opts.limits?.maxLineLength ?? DEFAULT_LIMITS.maxLineLength}` });
    });
    handler.end?.();
  }
  agg.drain();
  if (outcome.error instanceof LimitError) {
    // Reported at the compressed offset it stopped at (`file@offset`); the records before it are kept.
    ctx.issue({ offset: outcome.error.offset, reason: outcome.error.reason, detail: outcome.error.message });
  } else if (outcome.error) {
    const truncated = /unexpected end of file/i.test(outcome.error.message);
    ctx.issue({ offset: outcome.bytesRead, line: outcome.lines + 1, reason: truncated ? 'truncated-gzip' : 'read-error', detail: outcome.error.message });
  }
  return { counts: ctx.counts, issues: ctx.issues, complete: !outcome.error };
}
