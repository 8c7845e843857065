import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the CLI's ingest time goes, from a V8 `.cpuprofile` (`node --cpu-prof`). Each sample is charged to the
 * nearest frame on its stack that belongs to a known stage, so native work (better-sqlite3's `run`, `Map.get`,
 * `hash.update`, `indexOf`) lands in the stage that called it. GC and idle are V8's own pseudo-frames and are
 * listed apart: they cannot be charged to a caller from the profile.
 */

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Breakdown {
  totalMs: number;
  categories: { name: string; ms: number; share: number }[];
  topSelf: { fn: string; where: string; ms: number; share: number }[];
}

/** Nearest-frame rules, first match wins per frame. */
const RULES: { name: string; test: (f: CallFrame) => boolean }[] = [
  { name: 'hashing (sha256 pre-pass, ui/ingest sha256File)', test: (f) => f.functionName === 'sha256File' },
  { name: 'parse (collector/aws-vpc)', test: (f) => f.url.includes('/collector/aws-vpc.js') },
  { name: 'aggregate (collector/aggregate, Map + key string)', test: (f) => f.url.includes('/collector/aggregate.js') },
  { name: 'SQLite writes (store/sqlite + better-sqlite3)', test: (f) => f.url.includes('/store/') || f.url.includes('better-sqlite3') },
  { name: 'line split + utf8 decode (collector/lines)', test: (f) => f.url.includes('/collector/lines.js') },
  { name: 'ingest glue (ui/ingest: worker messages, batch writes)', test: (f) => f.url.includes('/ui/ingest.js') },
  { name: 'stream/fs plumbing (node internals)', test: (f) => /node:internal\/(streams|fs)|node:fs|node:stream/.test(f.url) },
  { name: 'startup (module loading, CLI setup)', test: (f) => /node:internal\/modules|\/node_modules\/commander|\/ui\/cli\//.test(f.url) },
];

const PSEUDO: Record<string, string> = {
  '(garbage collector)': 'GC (not attributable)',
  '(idle)': 'idle (waiting for I/O)',
  '(program)': 'V8/native, unattributed (program)',
};

export function latestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length > 0 ? join(dir, files[files.length - 1]) : undefined;
}

export function analyzeProfile(path: string, top = 15): Breakdown {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const catOf = new Map<number, string>();
  const category = (id: number): string => {
    const cached = catOf.get(id);
    if (cached) return cached;
    const self = byId.get(id)!.callFrame;
    let result = Object.hasOwn(PSEUDO, self.functionName) ? PSEUDO[self.functionName] : undefined;
    for (let cur: number | undefined = id; result === undefined && cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const rule = RULES.find((r) => r.test(f));
      if (rule) result = rule.name;
    }
    result ??= 'other';
    catOf.set(id, result);
    return result;
  };

  const catMs = new Map<string, number>();
  const selfMs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    // timeDeltas[i] is the gap *before* sample i, so sample i lasts until the next one.
    const ms = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    const id = prof.samples[i];
    total += ms;
    const c = category(id);
    catMs.set(c, (catMs.get(c) ?? 0) + ms);
    selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  }
  // Self time per function (merging the node copies of one function across call paths).
  const fnMs = new Map<string, { fn: string; where: string; ms: number }>();
  for (const [id, ms] of selfMs) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '(native)';
    const key = `${f.functionName}@${where}`;
    const e = fnMs.get(key) ?? { fn: f.functionName || '(anonymous)', where, ms: 0 };
    e.ms += ms;
    fnMs.set(key, e);
  }
  const share = (ms: number) => (total > 0 ? ms / total : 0);
  return {
    totalMs: total,
    categories: [...catMs].map(([name, ms]) => ({ name, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    topSelf: [...fnMs.values()].sort((a, b) => b.ms - a.ms).slice(0, top).map((e) => ({ ...e, share: share(e.ms) })),
  };
}
