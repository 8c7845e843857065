/**
 * Read-API load: a fixed number of requests at a fixed concurrency against `GET /api/v1/graph` and
 * `GET /api/v1/findings` of a server bound to 127.0.0.1 only, with Node's own `fetch`. Reports p50/p99 latency and
 * the error count (any non-2xx status or failed request). Measured, never asserted (the test asserts zero errors).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { startServer } from '../ui/server/listen.js';
import { writeEstate, type EstateSize } from './web.js';

export interface LoadOptions {
  /** Base URL of a running server (loopback). */
  url: string;
  paths: readonly string[];
  requests: number;
  concurrency: number;
}

export interface LoadResult { requests: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number; seconds: number; statuses: Record<string, number> }

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0);

/** `requests` GETs spread round-robin over `paths`, `concurrency` in flight at a time. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const host = new URL(o.url).hostname;
  if (host !== '127.0.0.1' && host !== '[::1]' && host !== 'localhost') throw new Error(`load test refuses non-loopback target ${o.url}`);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < o.requests) {
      const i = next++;
      const path = o.paths[i % o.paths.length];
      const t = performance.now();
      let status = 'network-error';
      try {
        const res = await fetch(new URL(path, o.url));
        await res.arrayBuffer(); // the whole body, as a client would
        status = String(res.status);
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.requests) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: o.requests, errors, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: latencies.at(-1) ?? 0, seconds, statuses };
}

export const LOAD_PATHS = ['/api/v1/graph', '/api/v1/findings'] as const;

/** Serve `inputs` (ingested into a fresh database) on 127.0.0.1 and run the load against it. */
export async function loadAgainst(inputs: string[], o: Omit<LoadOptions, 'url'>): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'segmap-load-'));
  const store = SqliteStore.open(join(dir, 'load.db'));
  try {
    await ingestPaths(store, inputs);
    const server = await startServer({ store, host: '127.0.0.1', port: 0, webRoot: dir, proposer: async () => undefined, log: () => {} });
    try {
      return await runLoad({ ...o, url: server.url });
    } finally {
      await server.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ESTATE: EstateSize = { workloads: 500, edges: 2500, namespaces: 10 };
const REQUESTS = 1000;
const CONCURRENCY = 16;

export async function benchLoad(): Promise<{ label: string; value: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'segmap-load-estate-'));
  try {
    const estate = writeEstate(dir, ESTATE);
    const r = await loadAgainst([estate.dump, estate.flows], { paths: LOAD_PATHS, requests: REQUESTS, concurrency: CONCURRENCY });
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    return [
      { label: 'load: estate', value: `${ESTATE.workloads} workloads, ${ESTATE.edges} edges` },
      { label: 'load: requests (graph + findings, round-robin)', value: `${r.requests} at concurrency ${CONCURRENCY}` },
      { label: 'load: latency p50', value: ms(r.p50Ms) },
      { label: 'load: latency p99', value: ms(r.p99Ms) },
      { label: 'load: throughput', value: `${(r.requests / r.seconds).toFixed(0)} req/s` },
      { label: 'load: errors', value: String(r.errors) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/load.js` prints the figures on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await benchLoad()) console.log(`${row.label}: ${row.value}`);
}
