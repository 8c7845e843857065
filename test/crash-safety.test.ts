/**
 * Crash safety: the real CLI is SIGKILLed at seeded random points while ingesting a small flow file (parsed in-thread)
 * and a ≥16 MiB one (parsed in a worker thread). After each kill the database opens, passes `PRAGMA integrity_check`,
 * holds every input either whole or not at all, and a re-run ends equal to an uninterrupted run into a fresh database.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../fixtures/lib/prng.js';
import { PARALLEL_MIN_BYTES } from '../ui/ingest.js';
import type { StoreCounts } from '../store/backend.js';
import { SqliteStore } from '../store/sqlite.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'ui', 'cli', 'main.js');
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
export const KILLS = 5;
const SEED = 'crash-safety';

/** `n` records over `keys` distinct aggregates, so batches are written long before the file's transaction commits. */
function flowFile(path: string, n: number, keys: number, net: number): void {
  const out = [HEADER];
  for (let i = 0; i < n; i++) {
    const k = i % keys;
    out.push(`2 123456789012 eni-0a1 10.${net}.${(k >> 8) % 250 + 1}.${k % 250 + 1} 10.9.${(k * 7) % 250 + 1}.7 ${32768 + (i % 28000)} ${[443, 80, 5432, 6379, 8080][k % 5]} 6 ${1 + (i % 9)} ${60 + (i % 1400)} ${1762000000 + (k % 50) * 600} ${1762000060 + (k % 50) * 600} ${k % 13 ? 'ACCEPT' : 'REJECT'} OK`);
  }
  writeFileSync(path, out.join('\n') + '\n');
}

let dir: string;
let files: string[];
let reference: StoreCounts;
let perInput: Map<string, number>;
let fullMs: number;

const ingestArgs = (db: string) => [CLI, '--db', db, 'ingest', ...files];

/** Flows stored per input path, and whether every registered input is complete and hashed. */
function inputsOf(store: SqliteStore): { flows: Map<string, number>; bad: unknown[] } {
  const rows = store.db.prepare('SELECT i.path, i.sha256, i.complete, COALESCE(SUM(f.flows), 0) AS flows FROM inputs i LEFT JOIN flow_aggregates f ON f.input_id = i.id GROUP BY i.id').all() as
    { path: string; sha256: string; complete: number; flows: number }[];
  return { flows: new Map(rows.map((r) => [r.path, r.flows])), bad: rows.filter((r) => r.complete !== 1 || !/^[0-9a-f]{64}$/.test(r.sha256)) };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Wait until a reader sees `n` committed inputs (WAL: readers never block the writer), or `timeoutMs`. */
async function committedInputs(db: string, n: number, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      const conn = new Database(db, { readonly: true, fileMustExist: true });
      try {
        if ((conn.prepare('SELECT COUNT(*) FROM inputs').pluck().get() as number) >= n) return;
      } finally {
        conn.close();
      }
    } catch {
      // Not created or not migrated yet.
    }
    await sleep(10);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'segmap-crash-'));
  files = [join(dir, 'a-small.log'), join(dir, 'b-big.log')];
  flowFile(files[0], 50_000, 20_000, 1);
  flowFile(files[1], 175_000, 30_000, 2);
  expect(statSync(files[0]).size).toBeLessThan(PARALLEL_MIN_BYTES);
  expect(statSync(files[1]).size).toBeGreaterThanOrEqual(PARALLEL_MIN_BYTES); // the worker-thread path
  // Two clean runs: the kill points are spread over the faster one (the first pays for a cold start).
  fullMs = Infinity;
  for (const name of ['warmup.db', 'reference.db']) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ingestArgs(join(dir, name)), { encoding: 'utf8' });
    fullMs = Math.min(fullMs, performance.now() - t0);
    expect(r.status, r.stderr).toBe(0);
  }
  const store = SqliteStore.open(join(dir, 'reference.db'));
  reference = await store.counts();
  perInput = inputsOf(store).flows;
  await store.close();
  expect(reference.inputs).toBe(2);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('crash safety: SIGKILL during ingest', () => {
  it(`survives ${KILLS} kills at seeded random points (in-thread and worker paths): intact db, whole inputs only, re-run equals a clean run`, async () => {
    const rand = new Prng(SEED); // a fixed seed gives the same kill points on every run
    const seen: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const db = join(dir, `killed-${k}.db`);
      const child = spawn(process.execPath, ingestArgs(db), { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | number | null>((res) => child.on('exit', (code, sig) => res(sig ?? code)));
      const t0 = performance.now();
      // The first kills land at random points of the start and the small (in-thread) file; the later ones once the
      // small file is committed, i.e. while the worker parses the big one.
      if (k < KILLS - 2) await sleep(fullMs * (0.1 + 0.4 * rand.next()));
      else {
        await committedInputs(db, 1, fullMs * 3);
        await sleep(fullMs * 0.3 * rand.next());
      }
      const delay = Math.round(performance.now() - t0);
      child.kill('SIGKILL');
      const how = await exited;

      const store = SqliteStore.open(db);
      expect(store.db.pragma('integrity_check', { simple: true }), `kill ${k} at ${delay} ms (seed ${SEED})`).toBe('ok');
      const { flows, bad } = inputsOf(store);
      expect(bad, `kill ${k}: an incomplete input was registered`).toEqual([]);
      // An input is either fully committed (all its flows) or absent; nothing else is stored without one.
      for (const [path, n] of flows) expect(n, `kill ${k}: ${path}`).toBe(perInput.get(path));
      const orphans = store.db.prepare('SELECT COUNT(*) FROM flow_aggregates WHERE input_id NOT IN (SELECT id FROM inputs)').pluck().get();
      expect(orphans).toBe(0);
      seen.push(`${delay}ms:${how}:${flows.size}`);
      await store.close();

      const rerun = spawnSync(process.execPath, ingestArgs(db), { encoding: 'utf8' });
      expect(rerun.status, rerun.stderr).toBe(0);
      const after = SqliteStore.open(db);
      expect(await after.counts(), `kill ${k} at ${delay} ms (seed ${SEED})`).toEqual(reference);
      expect(after.db.pragma('integrity_check', { simple: true })).toBe('ok');
      await after.close();
    }
    // Printed for the README: when each kill landed, and how many inputs had committed by then.
    const killed = seen.filter((s) => s.includes('SIGKILL')).length;
    console.log(`crash-safety: ${killed} of ${KILLS} runs SIGKILLed mid-ingest, all recovered (uninterrupted run ${Math.round(fullMs)} ms; kill at:signal:inputs committed) ${seen.join(' ')}`);
  });
});
