import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { endpointId, type Graph } from '../../model/index.js';
import { SqliteStore } from '../../store/sqlite.js';
import { ingestPaths } from '../../ui/ingest.js';
import { analyzeGraph } from '../../ui/pipeline.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED = resolve(ROOT, '..', 'shared', 'fixtures');
export const CLI = join(ROOT, 'dist', 'ui', 'cli', 'main.js');
export const hasShared = (rel: string) => existsSync(join(SHARED, rel));

export interface EdgeSpec { src: string; dst: string; protocol: string; port: number }

export const edgeSpecKey = (e: EdgeSpec) => `${e.src} => ${e.dst} : ${e.protocol} ${e.port}`;

export function graphEdgeKeys(g: Graph): string[] {
  return g.edges.map((e) => edgeSpecKey({ src: endpointId(e.src), dst: endpointId(e.dst), protocol: e.protocol, port: e.port })).sort();
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function tempDb(name: string): string {
  return join(mkdtempSync(join(tmpdir(), `segmap-${name}-`)), `${name}.db`);
}

/** Ingest the given paths, in the given order, into a fresh database and return its graph. */
export async function ingestAndGraph(paths: string[]): Promise<{ graph: Graph; db: string }> {
  const db = tempDb('scenario');
  const store = SqliteStore.open(db);
  try {
    for (const p of paths) await ingestPaths(store, [p]);
    return { graph: await analyzeGraph(store), db };
  } finally {
    await store.close();
  }
}

export function cli(db: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, '--db', db, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
