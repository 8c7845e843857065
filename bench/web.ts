/**
 * Web UI benchmark: graph API latency and time to first render in headless chromium, on a generated estate of
 * 2,000 workloads and 10,000 edges (cluster dump + VPC flow log, ingested the ordinary way). Measured, never asserted.
 * Targets: API p95 < 200 ms, first render < 3 s.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { startServer } from '../ui/server/listen.js';

const WORKLOADS = 2000;
const EDGES = 10_000;
const NAMESPACES = 40;
const API_RUNS = 40;
const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Small deterministic PRNG (mulberry32): the estate is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Estate { dump: string; flows: string }

export interface EstateSize { workloads: number; edges: number; namespaces: number }

/**
 * One Deployment + pod per workload, each listening on one port; edges mostly within a namespace, some across.
 * The default size is the benchmark's; browser tests use smaller ones.
 */
export function writeEstate(dir: string, size: EstateSize = { workloads: WORKLOADS, edges: EDGES, namespaces: NAMESPACES }): Estate {
  const { workloads: WORKLOADS, edges: EDGES, namespaces: NAMESPACES } = size;
  const rnd = prng(20261101);
  const created = '2026-11-01T09:00:00Z';
  const start = Date.parse('2026-11-01T10:00:00Z') / 1000;
  const ports = [8080, 9090, 3000, 5432, 6379, 50051];
  const items: unknown[] = [];
  const pods: { ns: string; ip: string; port: number }[] = [];
  for (let i = 0; i < WORKLOADS; i++) {
    const ns = `team-${String(i % NAMESPACES).padStart(2, '0')}`;
    const name = `svc-${String(i).padStart(4, '0')}`;
    const hash = (0x5f3a1c + i).toString(16);
    const ip = `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${(i & 255) || 1}`;
    const port = ports[i % ports.length];
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, uid: `d-${i}`, creationTimestamp: created },
      spec: { template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name } } } });
    items.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${name}-${hash}-x${i}`, namespace: ns, uid: `p-${i}`, creationTimestamp: created, labels: { app: name, 'pod-template-hash': hash },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-${hash}`, controller: true }] },
      spec: { serviceAccountName: name, nodeName: `node-${i % 50}`, containers: [{ name: 'app', ports: [{ containerPort: port, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: ip },
    });
    pods.push({ ns, ip, port });
  }
  const dump = join(dir, 'estate.json');
  writeFileSync(dump, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  const seen = new Set<string>();
  const lines: string[] = [];
  while (seen.size < EDGES) {
    const s = Math.floor(rnd() * WORKLOADS);
    let d = Math.floor(rnd() * WORKLOADS);
    // Three in four calls stay in the caller's namespace, as they do in real estates.
    if (rnd() < 0.75) d = (s % NAMESPACES) + NAMESPACES * Math.floor(rnd() * (WORKLOADS / NAMESPACES));
    if (s === d || seen.has(`${s}>${d}`)) continue;
    seen.add(`${s}>${d}`);
    const t = start + Math.floor(rnd() * 7000);
    const sport = 32768 + Math.floor(rnd() * 28000);
    lines.push(`2 123456789012 eni-0bench${s % 50} ${pods[s].ip} ${pods[d].ip} ${sport} ${pods[d].port} 6 12 2400 ${t} ${t + 59} ACCEPT OK`);
  }
  const flows = join(dir, 'flows.log');
  writeFileSync(flows, lines.join('\n') + '\n');
  return { dump, flows };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

export async function benchWeb(): Promise<{ label: string; value: string }[]> {
  const rows: { label: string; value: string }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'segmap-bench-web-'));
  const store = SqliteStore.open(join(dir, 'web.db'));
  try {
    const estate = writeEstate(dir);
    const t0 = performance.now();
    await ingestPaths(store, [estate.dump, estate.flows]);
    const server = await startServer({ store, port: 0, log: () => {} });
    try {
      const graphUrl = new URL('/api/v1/graph', server.url);
      let t = performance.now();
      const g = (await (await fetch(graphUrl)).json()) as { nodes: unknown[]; edges: unknown[] };
      const cold = performance.now() - t;
      rows.push({ label: 'web: estate', value: `${g.nodes.length} nodes, ${g.edges.length} edges (generated + ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s)` });
      const times: number[] = [];
      for (let i = 0; i < API_RUNS; i++) {
        t = performance.now();
        await (await fetch(graphUrl)).arrayBuffer();
        times.push(performance.now() - t);
      }
      const p95 = pct(times, 95);
      rows.push({ label: 'web: graph API, first request (analysis)', value: ms(cold) });
      rows.push({ label: `web: graph API p50 / p95 over ${API_RUNS} (target p95 < 200 ms)`, value: `${ms(pct(times, 50))} / ${ms(p95)} ${p95 < 200 ? '✓' : '✗'}` });
      rows.push({ label: 'web: first render in chromium (target < 3 s)', value: await firstRender(server.url) });
    } finally {
      await server.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Navigation start → the app's `segmap:first-render` mark (graph fetched, laid out, drawn), in a fresh profile. */
async function firstRender(url: string): Promise<string> {
  if (!existsSync(CHROMIUM)) return `skipped (${CHROMIUM} not installed)`;
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) return 'skipped (web bundle not built: npm run build)';
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'segmap-bench-chromium-'));
  mkdirSync(profile, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1500, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForSelector('#graph[data-state="ready"]', { timeout: 60_000 });
    const marks = await page.evaluate(() => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('segmap:')).map((m) => [m.name.slice(7), m.startTime] as const));
    const at = new Map(marks);
    const t = at.get('first-render') ?? NaN;
    const phases = ['graph-fetched', 'cy-created', 'layout-done', 'rendered'].map((p) => `${p} ${((at.get(p) ?? NaN) / 1000).toFixed(2)}`).join(', ');
    return `${(t / 1000).toFixed(2)} s ${t < 3000 ? '✓' : '✗'} (${phases})`;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// `node dist/bench/web.js` runs it alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchWeb()) process.stdout.write(`${r.label.padEnd(58)} ${r.value}\n`);
}
