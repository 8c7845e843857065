import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentity } from '../analyzer/identity.js';
import { API_RESOURCES, METADATA_ONLY_ACCEPT, resourcePath } from '../collector/k8s-api.js';
import { buildRecording, LIST_AT, readScenarioDumps, RECORDING_DIR, recordingFiles } from '../fixtures/k8s-api/generate.js';
import { STORED_KINDS, type Graph, type K8sObject } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { collectK8s, type CollectK8sResult } from '../ui/cli/commands/collect.js';
import { ingestPaths } from '../ui/ingest.js';
import { analyzeGraph } from '../ui/pipeline.js';
import { FakeApiServer, readRecording } from './helpers/fake-apiserver.js';
import { CLI, cli, graphEdgeKeys, ingestAndGraph, readJson, ROOT, tempDb, type EdgeSpec, edgeSpecKey } from './helpers/scenario.js';

const SCENARIO = join(ROOT, 'fixtures', 'online-boutique');
const recording = readRecording(join(ROOT, RECORDING_DIR));
const tmp = mkdtempSync(join(tmpdir(), 'segmap-collect-'));

async function fakeServer(setup: (s: FakeApiServer) => void = () => {}): Promise<{ server: FakeApiServer; kubeconfig: string }> {
  const server = await new FakeApiServer(recording, LIST_AT).start();
  setup(server);
  return { server, kubeconfig: server.writeKubeconfig(join(tmp, `kubeconfig-${Math.random().toString(36).slice(2)}`)) };
}

describe('collect k8s: list + watch against recorded API responses (Online Boutique)', () => {
  let server: FakeApiServer;
  let db: string;
  let result: CollectK8sResult;
  let graph: Graph;
  const log: string[] = [];

  beforeAll(async () => {
    let kubeconfig: string;
    ({ server, kubeconfig } = await fakeServer());
    db = tempDb('collect');
    const store = SqliteStore.open(db);
    try {
      const stop = new AbortController();
      const collecting = collectK8s(store, {
        kubeconfig, watch: true, signal: stop.signal, now: () => server.clock, pageSize: 5,
        backoffMs: { initial: 10, max: 100 }, onWatchEvent: server.ack, log: (l) => log.push(l),
      });
      // The script ends when every step was delivered; then stop, as SIGINT would.
      const played = server.play().finally(() => stop.abort());
      [result] = await Promise.all([collecting, played]);
      await ingestPaths(store, [join(SCENARIO, 'input', 'flows')]);
      graph = await analyzeGraph(store);
    } finally {
      await store.close();
      await server.close();
    }
  });

  it('plays the whole script without the client deviating (resume points, bookmarks, relists)', async () => {
    expect(server.problems).toEqual([]);
    expect(result.relists).toBe(2);
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(result.listings).toBe(3);
    expect(result.events.DELETED).toBe(1);
    expect(result.skipped).toEqual({ AdminNetworkPolicy: 'not served by this cluster', BaselineAdminNetworkPolicy: 'not served by this cluster' });
    expect(log.some((l) => /listed pods: 18 objects \(4 pages\)/.test(l))).toBe(true);
    expect(log.some((l) => /410 Gone/.test(l))).toBe(true);
  });

  it('pages lists with limit/continue and watches with allowWatchBookmarks from the list\'s resourceVersion', async () => {
    const pods = server.requests.filter((r) => r.path === '/api/v1/pods');
    expect(pods.filter((r) => r.verb === 'list' && r.query.continue).length).toBeGreaterThanOrEqual(3 * 3);
    const watches = pods.filter((r) => r.verb === 'watch');
    expect(watches.map((w) => w.query.resourceVersion)).toEqual(['117214', '117220', '117220', '117227']);
    expect(watches.every((w) => w.query.allowWatchBookmarks === 'true')).toBe(true);
  });

  it('asks for Secrets as metadata only, of service-account tokens only, and stores no Secret data', async () => {
    const secretReqs = server.requests.filter((r) => r.path === '/api/v1/secrets');
    expect(secretReqs.length).toBeGreaterThan(0);
    for (const r of secretReqs) {
      expect(r.accept).toMatch(/^application\/json;as=PartialObjectMetadata(List)?;g=meta\.k8s\.io;v=v1$/);
      expect(r.query.fieldSelector).toBe('type=kubernetes.io/service-account-token');
    }
    expect(secretReqs.find((r) => r.verb === 'list')!.accept).toBe(METADATA_ONLY_ACCEPT);
    const store = SqliteStore.open(db, { readonly: true });
    try {
      const rows = store.db.prepare("SELECT json FROM k8s_objects WHERE kind = 'Secret'").pluck().all() as string[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).not.toMatch(/SECRET|U0VDUkVU|last-applied|managedFields|"data"/);
      expect(JSON.parse(rows[0])).toMatchObject({ kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'catalog-reindex-token' } });
    } finally {
      await store.close();
    }
  });

  it('stores the listing as one snapshot at collection time, and watch events as marked one-object snapshots', async () => {
    const store = SqliteStore.open(db, { readonly: true });
    try {
      const snaps = await store.snapshots();
      const listings = snaps.filter((s) => !s.event);
      expect(listings.map((s) => [s.takenAt, s.kinds?.length])).toEqual([[LIST_AT, 20], [LIST_AT + 900, 1], [LIST_AT + 3300, 1]]);
      const events = snaps.filter((s) => s.event);
      expect(events.every((s) => s.objects.length === 1)).toBe(true);
      const deleted = events.find((s) => s.event === 'DELETED')!;
      expect(deleted.objects[0].metadata.name).toMatch(/^recommendationservice-h5657d9874-/);
      expect(new Date(deleted.takenAt * 1000).toISOString()).toBe('2026-11-01T10:40:18.000Z');
      const input = (await store.inputs()).find((i) => i.format === 'k8s-api')!;
      expect(input.complete).toBe(true);
      expect(input.path).toContain('k8s-api:fake (http://127.0.0.1:');
    } finally {
      await store.close();
    }
  });

  it('attributes the flow logs with IP reuse exactly as the two kubectl dumps do (truth.json)', async () => {
    const truth = readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'truth.json')).map(edgeSpecKey).sort();
    expect(graphEdgeKeys(graph)).toEqual(truth);
    const fromDumps = (await ingestAndGraph([join(SCENARIO, 'input')])).graph;
    const strip = (g: Graph) => g.edges.map(({ sources: _s, ...e }) => e);
    expect(strip(graph)).toEqual(strip(fromDumps));
  });

  it('requests nothing beyond deploy/segmap-reader.yaml, and that role grants nothing segmap does not read', async () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'segmap-reader.yaml'), 'utf8')).map((d) => d.toJS());
    const roles = new Map(docs.filter((d) => d?.kind === 'ClusterRole').map((d) => [d.metadata.name as string, d]));
    const grants = (role: string) => {
      const out = new Set<string>();
      for (const rule of roles.get(role).rules) for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) out.add(`${g}/${r}:${v}`);
      return out;
    };
    const main = grants('segmap-reader');
    const optional = grants('segmap-reader-token-secrets');
    const byPath = new Map(API_RESOURCES.map((r) => [resourcePath(r), r]));
    const used = new Set(server.requests.map((q) => { const r = byPath.get(q.path)!; return `${r.group}/${r.resource}:${q.verb}`; }));
    expect([...used].filter((u) => !main.has(u) && !optional.has(u))).toEqual([]);
    // Everything but Secrets is in the main role; Secrets only in the optional one (RBAC cannot grant metadata only).
    expect([...used].filter((u) => !main.has(u)).sort()).toEqual(['/secrets:list', '/secrets:watch']);
    const usedResources = new Set(API_RESOURCES.map((r) => `${r.group}/${r.resource}`));
    expect([...main].map((g) => g.split(':')[0]).filter((g) => !usedResources.has(g))).toEqual([]);
    expect([...optional]).toEqual(['/secrets:list', '/secrets:watch']);
    const bindings = docs.filter((d) => d?.kind === 'ClusterRoleBinding');
    expect(bindings.map((b) => b.roleRef.name)).toEqual(['segmap-reader']);
  });
});

describe('collect k8s: failures and the CLI', () => {
  it('names the missing permission when listing pods is forbidden (exit 1), and skips forbidden Secrets with a warning', async () => {
    const { server, kubeconfig } = await fakeServer((s) => { s.forbidden.add('list pods'); s.forbidden.add('list secrets'); });
    try {
      const r = await cliAsync(tempDb('forbidden'), 'collect', 'k8s', '--kubeconfig', kubeconfig);
      expect(r.code).toBe(1);
      expect(r.err).toContain('the credentials may not list pods cluster-wide: grant get/list/watch on pods (see deploy/segmap-reader.yaml)');
      expect(r.err).toMatch(/warning: the credentials may not list secrets cluster-wide.*skipping secrets/);
    } finally {
      await server.close();
    }
  });

  it('lists once without --watch; Secrets forbidden is only a warning (exit 0)', async () => {
    const { server, kubeconfig } = await fakeServer((s) => s.forbidden.add('list secrets'));
    const db = tempDb('once');
    try {
      const r = await cliAsync(db, 'collect', 'k8s', '--kubeconfig', kubeconfig, '--context', 'fake');
      expect(r.err).toMatch(/warning: the credentials may not list secrets/);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^collected 101 objects of 19 kinds in 1 listing; skipped /);
      expect(server.requests.some((q) => q.verb === 'watch')).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('reports rejected credentials as an authentication failure, and an unknown context', async () => {
    const { server, kubeconfig } = await fakeServer();
    try {
      const bad = join(tmp, 'kubeconfig-bad');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(bad, readFileSync(kubeconfig, 'utf8').replace('segmap-test-token', 'wrong'));
      const r = await cliAsync(tempDb('auth'), 'collect', 'k8s', '--kubeconfig', bad);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/authentication failed: fake \(http:\/\/127\.0\.0\.1:\d+\) rejected the credentials \(401 Unauthorized\)/);
      const ctx = await cliAsync(tempDb('ctx'), 'collect', 'k8s', '--kubeconfig', kubeconfig, '--context', 'nope');
      expect(ctx.code).toBe(1);
      expect(ctx.err).toContain('kubeconfig has no context "nope" (has: fake)');
      expect((await cliAsync(tempDb('dur'), 'collect', 'k8s', '--watch', 'soon')).code).toBe(2);
    } finally {
      await server.close();
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('stops cleanly on %s while watching, with the listing and the input committed', async (signal) => {
    const { server, kubeconfig } = await fakeServer();
    const db = tempDb(signal.toLowerCase());
    try {
      const child = spawn(process.execPath, [CLI, '--db', db, 'collect', 'k8s', '--kubeconfig', kubeconfig, '--watch', '2h'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const t0 = Date.now();
      while (server.requests.filter((q) => q.verb === 'watch').length < 20 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      child.kill(signal);
      const [code] = (await new Promise((r) => child.on('exit', (...a) => r(a)))) as [number];
      expect(err).toContain(`${signal}: stopping`);
      expect(code).toBe(0);
      expect(out).toMatch(/collected 102 objects of 20 kinds in 1 listing; 0 watch events/);
      const store = SqliteStore.open(db, { readonly: true });
      try {
        expect((await store.inputs()).map((i) => [i.format, i.complete])).toEqual([['k8s-api', true]]);
        expect((await store.counts()).objects).toBe(102);
        expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        await store.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe('identity from live collection: watch events as partial snapshots', () => {
  const T = Date.parse('2026-11-01T10:00:00Z') / 1000;
  const pod = (name: string, ip: string, ns = 'shop'): K8sObject => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${name}`, creationTimestamp: new Date((T - 600) * 1000).toISOString() },
    spec: { containers: [] }, status: { phase: 'Running', podIP: ip },
  });

  it('a DELETED event ends the interval at the event time; an ADDED event is no evidence that others are gone', async () => {
    const id = buildIdentity([
      { takenAt: T, objects: [pod('a', '10.0.0.1'), pod('b', '10.0.0.2')], kinds: ['Pod'] },
      { takenAt: T + 60, objects: [pod('c', '10.0.0.3')], event: 'ADDED' },
      { takenAt: T + 120, objects: [pod('a', '10.0.0.1')], event: 'DELETED' },
    ]);
    expect(id.holderAt('10.0.0.1', T + 119)?.endpoint.name).toBe('a');
    expect(id.holderAt('10.0.0.1', T + 120)).toBeUndefined();
    expect(id.holderAt('10.0.0.2', T + 3600)?.endpoint.name).toBe('b');
    expect(id.holderAt('10.0.0.3', T + 3600)?.endpoint.name).toBe('c');
  });

  it('a live listing covers its kinds cluster-wide: a pod missing from a now-empty namespace is gone', async () => {
    const dumps = [{ takenAt: T, objects: [pod('a', '10.0.0.1', 'lonely'), pod('b', '10.0.0.2')] }, { takenAt: T + 600, objects: [pod('b', '10.0.0.2')] }];
    expect(buildIdentity(dumps).holderAt('10.0.0.1', T + 3600)?.endpoint.name).toBe('a'); // a dump proves nothing there
    const live = [dumps[0], { ...dumps[1], kinds: ['Pod'] }];
    expect(buildIdentity(live).holderAt('10.0.0.1', T + 3600)).toBeUndefined();
  });
});

describe('fixtures/k8s-api', () => {
  it('are what the generator makes from the Online Boutique dumps (regenerate: node dist/fixtures/k8s-api/generate.js)', async () => {
    const { t0, t1 } = readScenarioDumps(ROOT);
    const files = recordingFiles(buildRecording(t0, t1));
    for (const [name, text] of Object.entries(files)) expect(readFileSync(join(ROOT, RECORDING_DIR, name), 'utf8'), name).toBe(text);
  });

  it('cover every kind the pipeline stores', async () => {
    const listed = new Set(API_RESOURCES.map((r) => r.kind));
    expect(STORED_KINDS.filter((k) => !listed.has(k))).toEqual([]);
  });
});

afterAll(async () => { /* temp files live under the OS temp dir */ });

/** The CLI, asynchronously: the fake server runs in this process and must keep answering. */
function cliAsync(db: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--db', db, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
void cli;
