import type { AuditAggregate } from '../model/audit.js';
import type { DnsEvidence, FlowRecord, InputIssue, K8sObject, ReadCounts } from '../model/index.js';

/** What a source reports while it reads one input. Issues are located (`file:line: reason`) and counted per reason. */
export interface ReadContext {
  /** The path as the user named it; used in every issue. */
  file: string;
  counts: ReadCounts;
  /** Record a skipped record / problem. Counting per reason is done here, so sources call only this. */
  issue(i: Omit<InputIssue, 'file'>): void;
  /** DNS evidence (an answer's address and name with its TTL window), for sources that see DNS. Kept beside the flows. */
  dns?(d: DnsEvidence): void;
}

/** A flow-log format. Streaming: `read` sees one line at a time and never holds the file. */
export interface FlowSource {
  kind: 'flows';
  /** Stable format name, stored with the input (`aws-vpc`, `hubble`, …). */
  format: string;
  /** Decide from the first (decompressed) line(s) whether this source reads the input. */
  detect(head: string, path: string): boolean;
  /** Returns a line handler; call `emit` for each good record. `lineNo` is 1-based. */
  open(ctx: ReadContext, emit: (r: FlowRecord) => void): LineHandler;
  /**
   * Binary formats (packet captures): detection from the first bytes, and a chunk handler instead of `open`'s line
   * handler. `detect` is then never asked (a text head of binary bytes means nothing).
   */
  detectBytes?(head: Uint8Array): boolean;
  openBinary?(ctx: ReadContext, emit: (r: FlowRecord) => void): ChunkHandler;
}

export interface ChunkHandler {
  /** The next bytes of the (decompressed) input, in order; the handler keeps what straddles two chunks. */
  chunk(buf: Buffer): void;
  end(): void;
}

export interface LineHandler {
  line(text: string, lineNo: number): void;
  /** Called once at end of input (also after a read error), for sources that buffer. */
  end?(): void;
}

/** A format of cluster objects, small enough to read whole. */
export interface ObjectSource {
  kind: 'objects';
  format: string;
  detect(head: string, path: string): boolean;
  read(text: string, ctx: ReadContext): K8sObject[];
}

/** API-server audit logs: folded into per-(user, verb, resource…) aggregates at read time; small enough to read whole. */
export interface AuditSource {
  kind: 'audit';
  format: string;
  detect(head: string, path: string): boolean;
  read(text: string, ctx: ReadContext): AuditAggregate[];
}

export type Source = FlowSource | ObjectSource | AuditSource;

export function newReadContext(file: string, sink?: (i: InputIssue) => void): ReadContext & { issues: InputIssue[] } {
  const issues: InputIssue[] = [];
  const counts: ReadCounts = { read: 0, skipped: {} };
  return {
    file,
    counts,
    issues,
    issue(i) {
      const full = { file, ...i };
      counts.skipped[i.reason] = (counts.skipped[i.reason] ?? 0) + 1;
      // Keep the first issues of each reason for the report; counts carry the rest.
      if (issues.length < 1000) issues.push(full);
      sink?.(full);
    },
  };
}
