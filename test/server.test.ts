import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge, Graph } from '../model/index.js';
import { endpointId } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { startServer, type RunningServer } from '../ui/server/listen.js';
import { checkBind, isLoopback } from '../ui/server/security.js';
import { safeArchivePath, tarArchive } from '../ui/server/tar.js';
import type { EdgeDetail, Meta, ServiceAccountEntry, SimulateResult, WorkloadDetail, WorkloadRisk } from '../ui/web/api-types.js';
import { CLI, tempDb } from './helpers/scenario.js';
import { CATALOG_POLICY, DEMO_INPUT } from './helpers/web.js';

const TOKEN = 'test-token-0123456789abcdef';
const FRONTEND = 'boutique/frontend[Deployment]';
const CATALOG = 'boutique/productcatalogservice[Deployment]';
const CRONJOB = 'boutique/catalog-reindex[CronJob]';

/** Raw HTTP, so paths such as `/../x` reach the server exactly as written (fetch would normalise them). */
function raw(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let store: SqliteStore;
let db: string;
let web: string;
let plain: RunningServer;
let withToken: RunningServer;
let withPolicies: RunningServer;

beforeAll(async () => {
  db = tempDb('server');
  store = SqliteStore.open(db);
  await ingestPaths(store, [DEMO_INPUT]);
  // A stand-in bundle, with a secret next to it that must never be served.
  const dir = mkdtempSync(join(tmpdir(), 'segmap-web-'));
  web = join(dir, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>segmap</title><script defer src="app.js"></script>');
  writeFileSync(join(web, 'app.js'), 'console.log("app")');
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET');
  const quiet = () => {};
  plain = await startServer({ store, port: 0, webRoot: web, proposer: async () => undefined, log: quiet });
  withToken = await startServer({ store, port: 0, webRoot: web, token: TOKEN, proposer: async () => undefined, log: quiet });
  withPolicies = await startServer({
    store, port: 0, webRoot: web, log: quiet, now: () => new Date('2026-11-02T00:00:00Z'),
    proposer: async () => () => ({
      manifests: [
        { namespace: 'boutique', workload: FRONTEND, target: 'k8s', path: 'k8s/boutique/frontend.yaml', yaml: 'kind: NetworkPolicy\nmetadata: {name: frontend}\n' },
        { namespace: 'boutique', workload: CATALOG, target: 'k8s', path: 'k8s/boutique/productcatalogservice.yaml', yaml: 'kind: NetworkPolicy\n' },
      ],
      proof: {}, surface: {}, plan: {},
    }),
  });
});

afterAll(async () => {
  await Promise.all([plain, withToken, withPolicies].filter(Boolean).map((s) => s.close()));
  await store?.close();
});

const get = (path: string, init?: RequestInit) => fetch(new URL(path, plain.url), init);
const json = async <T>(path: string): Promise<T> => {
  const r = await get(path);
  expect(r.status, `${path}: ${r.status}`).toBe(200);
  return (await r.json()) as T;
};
const key = (e: Edge) => `${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port}`;

describe('server API on the Online Boutique demo', () => {
  it('meta: counts, window, filter choices, and whether policies are available', async () => {
    const m = await json<Meta>('/api/v1/meta');
    expect(m.counts.edges).toBe(32);
    expect(m.namespaces).toEqual(['boutique', 'kube-system']);
    expect(m.kinds).toContain('External');
    expect(m.ports).toContain(50051);
    expect(m.dataWindow.first).toMatch(/^2026-11-01T10:0/);
    expect(m.policies).toBe(false);
  });

  it('graph: the contract shape, the 32 expected edges', async () => {
    const g = await json<Graph>('/api/v1/graph');
    expect(g.window).toEqual({ since: null, until: null });
    expect(g.edges).toHaveLength(32);
    const e = g.edges.find((x) => key(x) === `${FRONTEND} => boutique/cartservice[Deployment] : TCP 7070`)!;
    expect(e).toMatchObject({ verdict: 'allowed', protocol: 'TCP', port: 7070 });
    expect(e.flows).toBeGreaterThan(0);
    expect(e.sources.length).toBeGreaterThan(0);
    expect(g.nodes.find((n) => n.id === FRONTEND)).toMatchObject({ serviceAccount: 'frontend', labels: { app: 'frontend' } });
  });

  it('graph filters: namespace, kind, port, verdict, time window', async () => {
    const byPort = await json<Graph>('/api/v1/graph?port=53');
    expect(byPort.edges).toHaveLength(13);
    expect(byPort.edges.every((e) => e.port === 53 && e.dst.name === 'coredns')).toBe(true);
    const ext = await json<Graph>('/api/v1/graph?kind=External');
    expect(ext.edges.map(key)).toEqual([`10.0.0.50[External] => ${FRONTEND} : TCP 8080`, `10.0.100.50[External] => ${FRONTEND} : TCP 8080`]);
    expect(ext.nodes.map((n) => n.id).sort()).toEqual(['10.0.0.50[External]', '10.0.100.50[External]', FRONTEND]);
    const ks = await json<Graph>('/api/v1/graph?namespace=kube-system');
    expect(ks.edges.every((e) => e.src.namespace === 'kube-system' || e.dst.namespace === 'kube-system')).toBe(true);
    expect(ks.nodes.some((n) => n.id === 'kube-system/kube-proxy[DaemonSet]')).toBe(true); // idle workloads of the namespace stay
    expect((await json<Graph>('/api/v1/graph?verdict=denied')).edges).toEqual([]);
    const late = await json<Graph>('/api/v1/graph?since=2026-11-01T11:00:00Z');
    expect(late.window.since).toBe('2026-11-01T11:00:00.000Z');
    expect(late.edges.map(key)).not.toContain(`${CRONJOB} => ${CATALOG} : TCP 3550`);
  });

  it('bad parameters are JSON errors with a status', async () => {
    for (const [path, status] of [['/api/v1/graph?port=http', 400], ['/api/v1/graph?verdict=maybe', 400], ['/api/v1/graph?since=yesterday', 400],
      ['/api/v1/graph?port=1&port=2', 400], ['/api/v1/nope', 404], ['/api/v1/workloads/nobody', 404]] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await r.json()) as { error: { status: number; message: string } };
      expect(body.error.status).toBe(status);
      expect(body.error.message.length).toBeGreaterThan(0);
    }
  });

  it('workload detail: labels, service account, ports, peers with their evidence, findings', async () => {
    const d = await json<WorkloadDetail>(`/api/v1/workloads/${encodeURIComponent(FRONTEND)}`);
    expect(d.node).toMatchObject({ id: FRONTEND, serviceAccount: 'frontend', labels: { app: 'frontend' } });
    expect(d.pod).toMatch(/^frontend-/);
    expect(d.ports).toContainEqual(expect.objectContaining({ protocol: 'TCP', port: 8080, observed: true }));
    expect(d.inbound.map((r) => r.peerId).sort()).toEqual(['10.0.0.50[External]', '10.0.100.50[External]', 'boutique/loadgenerator[Deployment]']);
    expect(d.outbound).toHaveLength(8);
    for (const r of [...d.inbound, ...d.outbound]) {
      expect(r.flows).toBeGreaterThan(0);
      expect(r.bytes).toBeGreaterThan(0);
      expect(Date.parse(r.firstSeen)).toBeLessThanOrEqual(Date.parse(r.lastSeen));
      expect(r.sources.length).toBeGreaterThan(0);
    }
    expect(d.findings.every((f) => f.subject.kind === 'Deployment' && f.subject.name === 'frontend')).toBe(true);
    expect(d.findings.map((f) => f.id)).toContain('UNPROTECTED_WORKLOAD');
  });

  it('edge detail: the aggregates behind the CronJob edge, all inside its 10:05–10:09 run', async () => {
    const q = new URLSearchParams({ src: CRONJOB, dst: CATALOG, protocol: 'TCP', port: '3550' });
    const d = await json<EdgeDetail>(`/api/v1/edge?${q}`);
    expect(key(d.edge)).toBe(`${CRONJOB} => ${CATALOG} : TCP 3550`);
    expect(d.total).toBe(d.flows.length);
    expect(d.flows.length).toBeGreaterThan(0);
    for (const f of d.flows) {
      expect(f.firstSeen >= '2026-11-01T10:05' && f.lastSeen < '2026-11-01T10:09').toBe(true);
      expect(f.sources[0]).toMatch(/\.log(\.gz)?$/);
    }
    expect(d.flows.some((f) => f.reply)).toBe(true);
    expect((await get(`/api/v1/edge?src=${encodeURIComponent(CRONJOB)}`)).status).toBe(400);
  });

  it('findings: the catalogue shape', async () => {
    const fs = await json<{ id: string; severity: string; subject: { kind: string }; message: string }[]>('/api/v1/findings');
    expect(fs.length).toBeGreaterThan(0);
    for (const f of fs) {
      expect(f.id).toMatch(/^[A-Z][A-Z_]+$/);
      expect(['info', 'low', 'medium', 'high', 'critical']).toContain(f.severity);
    }
  });

  it.skipIf(!existsSync(CLI))('risk: the ranking `segmap findings --format json --with-risk` prints, from the same analysis', async () => {
    const risk = await json<WorkloadRisk[]>('/api/v1/risk');
    expect(risk.length).toBeGreaterThan(5);
    expect(risk.map((r) => r.rank)).toEqual([...risk.map((r) => r.rank)].sort((x, y) => x - y));
    const cli = spawnSync(process.execPath, [CLI, '--db', db, 'findings', '--format', 'json', '--with-risk'], { encoding: 'utf8', timeout: 30_000 });
    expect(cli.status, cli.stderr).toBe(0);
    const fromCli = (JSON.parse(cli.stdout) as { risk: WorkloadRisk[] }).risk;
    const view = (rs: WorkloadRisk[]) => rs.map((r) => [r.workload, r.score, r.rank, r.factors.map((f) => f.factor)]);
    expect(view(risk)).toEqual(view(fromCli));
  });

  it('service accounts: exactly the entries `segmap sa-audit --format json` prints', async () => {
    const accounts = await json<ServiceAccountEntry[]>('/api/v1/service-accounts');
    expect(accounts.length).toBeGreaterThan(10);
    for (const a of accounts) {
      expect(Object.keys(a)).toEqual(expect.arrayContaining(['namespace', 'name', 'exists', 'workloads', 'tokenMounted', 'lastApiUse', 'apiUse', 'grants', 'legacyTokens', 'findings']));
      expect(typeof a.tokenMounted).toBe('boolean');
      for (const w of a.workloads) expect(Object.keys(w)).toEqual(expect.arrayContaining(['id', 'endpoint', 'tokenMounted', 'tokenMountedBy', 'observed', 'talksToApiServer']));
      for (const f of a.findings) expect(['info', 'low', 'medium', 'high', 'critical']).toContain(f.severity);
    }
    // The demo: redis-cart runs as boutique/default; every boutique workload gets a token it never uses; no audit logs.
    const byId = new Map(accounts.map((a) => [`${a.namespace}/${a.name}`, a]));
    const dflt = byId.get('boutique/default')!;
    expect(dflt.workloads.map((w) => w.id)).toEqual(['boutique/redis-cart[Deployment]']);
    expect(dflt.findings.map((f) => f.id).sort()).toEqual(['AUTOMOUNT_TOKEN_UNUSED', 'DEFAULT_SERVICE_ACCOUNT']);
    expect(byId.get('boutique/frontend')!.workloads.map((w) => w.id)).toEqual([FRONTEND]);
    expect(byId.get('boutique/frontend')!.tokenMounted).toBe(true);
    expect(byId.get('kube-system/default')!.workloads).toEqual([]);
    expect(accounts.every((a) => a.lastApiUse === null)).toBe(true);
    // Same analysis as the CLI, same answer.
    if (existsSync(CLI)) {
      const cli = spawnSync(process.execPath, [CLI, '--db', db, 'sa-audit', '--format', 'json'], { encoding: 'utf8', timeout: 30_000 });
      expect(cli.status, cli.stderr).toBe(0);
      expect(accounts).toEqual(JSON.parse(cli.stdout));
    }
    // A window narrows the traffic judged (nothing observed before the data starts), and bad windows are 400s.
    const early = await json<ServiceAccountEntry[]>('/api/v1/service-accounts?until=2020-01-01T00:00:00Z');
    expect(early.find((a) => a.name === 'frontend' && a.namespace === 'boutique')!.workloads.every((w) => !w.observed)).toBe(true);
    expect((await get('/api/v1/service-accounts?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z')).status).toBe(400);
  });

  it('simulate: pasted policy YAML → exactly the flows it would drop', async () => {
    const r = await get('/api/v1/simulate', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ yaml: CATALOG_POLICY }) });
    expect(r.status).toBe(200);
    const s = (await r.json()) as SimulateResult;
    expect(s.policies).toBe(1);
    expect(s.denied.map((d) => `${endpointId(d.src)} => ${endpointId(d.dst)} : ${d.protocol} ${d.port}`)).toEqual([`${CRONJOB} => ${CATALOG} : TCP 3550`]);
    expect(s.denied[0].decidedBy).toMatchObject({ kind: 'NetworkPolicy', name: 'productcatalogservice', namespace: 'boutique' });
    expect(s.allowedFlows).toBeGreaterThan(1000);
    expect(s.deniedFlows).toBeGreaterThan(0);
  });

  it('simulate: refuses what it cannot use, with the reason, and caps the body', async () => {
    const post = (body: string, type = 'application/json') => get('/api/v1/simulate', { method: 'POST', headers: { 'Content-Type': type }, body });
    const cases: [Response, number, RegExp][] = [
      [await post(JSON.stringify({ yaml: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' })), 400, /no NetworkPolicy/],
      [await post(JSON.stringify({ yaml: '' })), 400, /yaml/],
      [await post(JSON.stringify({ yaml: CATALOG_POLICY, namespace: '../etc' })), 400, /namespace/],
      [await post(CATALOG_POLICY, 'text/plain'), 415, /application\/json/],
      [await post('{not json'), 400, /./],
      [await post(JSON.stringify({ yaml: `# ${'x'.repeat(3 * 1024 * 1024)}\n${CATALOG_POLICY}` })), 413, /too large/],
    ];
    for (const [r, status, message] of cases) {
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
  });

  it('policies: 501 with a clear message while ui/policies.ts is absent', async () => {
    for (const path of [`/api/v1/workloads/${encodeURIComponent(FRONTEND)}/policies`, '/api/v1/export/manifests.tar']) {
      const r = await get(path);
      expect(r.status).toBe(501);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/policy generation is not part of this build/);
    }
  });

  it('policies: per workload, and all manifests as one tar archive when a proposer is present', async () => {
    const r = await fetch(new URL(`/api/v1/workloads/${encodeURIComponent(FRONTEND)}/policies`, withPolicies.url));
    const p = (await r.json()) as { workload: string; manifests: { path: string }[] };
    expect(p.workload).toBe(FRONTEND);
    expect(p.manifests.map((m) => m.path)).toEqual(['k8s/boutique/frontend.yaml']);
    const t = await fetch(new URL('/api/v1/export/manifests.tar', withPolicies.url));
    expect(t.status).toBe(200);
    expect(t.headers.get('content-disposition')).toMatch(/attachment; filename="?segmap-policies-2026-11-02\.tar/);
    const buf = Buffer.from(await t.arrayBuffer());
    expect(buf.length % 512).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'segmap-tar-'));
    writeFileSync(join(dir, 'm.tar'), buf);
    const list = spawnSync('tar', ['-tf', join(dir, 'm.tar')], { encoding: 'utf8' });
    if (list.status === 0) expect(list.stdout.trim().split('\n')).toEqual(['segmap-policies/k8s/boutique/frontend.yaml', 'segmap-policies/k8s/boutique/productcatalogservice.yaml']);
  });

  it('exports the (filtered) graph as a JSON attachment', async () => {
    const r = await get('/api/v1/export/graph.json?port=53');
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename="?segmap-graph\.json/);
    expect(((await r.json()) as Graph).edges).toHaveLength(13);
  });
});

describe('server security', () => {
  it('CSP and hardening headers on pages and API; no-store on the API only', async () => {
    for (const path of ['/', '/app.js', '/api/v1/meta', '/api/v1/nope']) {
      const r = await get(path);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-powered-by')).toBeNull();
      if (path.startsWith('/api/')) expect(r.headers.get('cache-control')).toBe('no-store');
    }
    expect((await get('/')).headers.get('content-type')).toMatch(/text\/html/);
  });

  it('serves only the files of the web bundle: traversal and other paths are 404', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/app.js/../../secret.txt', '/secret.txt',
      '/%2e%2e%2f%2e%2e%2fpackage.json', '/..\\secret.txt', '/index.html%00.js', '//etc/passwd']) {
      const r = await raw(plain.url, path);
      expect([400, 404], path).toContain(r.status);
      expect(r.body).not.toContain('TOP-SECRET');
      expect(r.body).not.toContain('"name": "segmap"');
    }
    expect((await raw(plain.url, '/app.js')).body).toBe('console.log("app")');
  });

  it('a loopback bind answers only loopback Host headers (DNS rebinding)', async () => {
    expect((await raw(plain.url, '/api/v1/meta', { Host: 'evil.example:8080' })).status).toBe(421);
    expect((await raw(plain.url, '/api/v1/meta', { Host: `localhost:${new URL(plain.url).port}` })).status).toBe(200);
  });

  it('with a token: bearer header, or a one-time ?token= link that sets an HttpOnly SameSite=Strict cookie', async () => {
    const at = (path: string, init?: RequestInit) => fetch(new URL(path, withToken.url), { redirect: 'manual', ...init });
    const denied = await at('/api/v1/meta');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toMatch(/token/);
    expect((await at('/')).status).toBe(401);
    expect((await at('/api/v1/meta', { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await at('/api/v1/meta', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await at('/?token=nope')).status).toBe(401);
    const link = await at(`/?view=findings&token=${TOKEN}`);
    expect(link.status).toBe(303);
    expect(link.headers.get('location')).toBe('/?view=findings');
    const cookie = link.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0];
    expect((await at('/api/v1/meta', { headers: { Cookie: session } })).status).toBe(200);
    expect((await at('/', { headers: { Cookie: session } })).status).toBe(200);
    expect((await at('/api/v1/meta', { headers: { Cookie: 'segmap_session=forged' } })).status).toBe(401);
  });

  it('bind guard: loopback needs no token; any other address refuses to start without one', async () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) expect(isLoopback(h), h).toBe(false);
    expect(() => checkBind('127.0.0.1', undefined)).not.toThrow();
    expect(() => checkBind('0.0.0.0', undefined)).toThrow(/refusing to listen on 0\.0\.0\.0 without a token/);
    expect(() => checkBind('::', '')).toThrow(/--token/);
    expect(() => checkBind('0.0.0.0', 'short')).toThrow(/at least 16 characters/);
    expect(() => checkBind('0.0.0.0', TOKEN)).not.toThrow();
    // The refusal happens before anything is bound.
    await expect(startServer({ store, host: '0.0.0.0', port: 0 })).rejects.toThrow(/refusing to listen/);
  });

  it.skipIf(!existsSync(CLI))('`segmap serve --host 0.0.0.0` without a token exits 1 with the reason', () => {
    const r = spawnSync(process.execPath, [CLI, '--db', db, 'serve', '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SEGMAP_TOKEN: '' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it('`segmap serve` prints the URL, serves, and stops cleanly on SIGTERM', async () => {
    if (!existsSync(CLI)) return;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, '--db', db, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    expect((await fetch(new URL('/api/v1/meta', url))).status).toBe(200);
    const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
    expect(code).toBe(0);
  });
});

describe('tar archive', () => {
  it('keeps archive paths relative and inside the archive', async () => {
    expect(safeArchivePath('../../etc/passwd')).toBe('etc/passwd');
    expect(safeArchivePath('/abs/./x.yaml')).toBe('abs/x.yaml');
    expect(() => safeArchivePath('../..')).toThrow();
  });
  it('writes valid ustar headers (checksum, long names split into prefix)', async () => {
    const long = `${'d'.repeat(120)}/file.yaml`;
    const t = tarArchive([{ path: long, content: 'a: 1\n' }]);
    expect(t.length).toBe(512 * 4);
    const h = t.subarray(0, 512);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    expect(parseInt(h.subarray(148, 154).toString(), 8)).toBe(sum);
    expect(h.subarray(0, 9).toString()).toBe('file.yaml');
    expect(h.subarray(345, 465).toString()).toBe('d'.repeat(120));
    expect(h.subarray(257, 262).toString()).toBe('ustar');
  });
});

describe.skipIf(!existsSync(join(import.meta.dirname, '..', 'ui', 'policies.ts')))('with policy generation (ui/policies.ts present)', () => {
  let real: RunningServer;
  beforeAll(async () => { real = await startServer({ store, port: 0, webRoot: web, log: () => {} }); });
  afterAll(async () => { await real?.close(); });

  it('serves the proposed policies of a workload and the whole set as an archive', async () => {
    const meta = (await (await fetch(new URL('/api/v1/meta', real.url))).json()) as Meta;
    expect(meta.policies).toBe(true);
    const p = (await (await fetch(new URL(`/api/v1/workloads/${encodeURIComponent(FRONTEND)}/policies`, real.url))).json()) as { manifests: { workload: string; yaml: string }[] };
    expect(p.manifests.length).toBeGreaterThan(0);
    expect(p.manifests.every((m) => m.workload === FRONTEND)).toBe(true);
    expect(p.manifests.some((m) => /kind: NetworkPolicy/.test(m.yaml))).toBe(true);
    const t = await fetch(new URL('/api/v1/export/manifests.tar', real.url));
    expect(t.status).toBe(200);
    const names: string[] = [];
    const buf = Buffer.from(await t.arrayBuffer());
    for (let off = 0; off + 512 <= buf.length && buf[off] !== 0; ) {
      const name = buf.subarray(off, off + 100).toString().replace(/\0.*$/s, '');
      const prefix = buf.subarray(off + 345, off + 500).toString().replace(/\0.*$/s, '');
      names.push(prefix ? `${prefix}/${name}` : name);
      off += 512 + Math.ceil(parseInt(buf.subarray(off + 124, off + 136).toString(), 8) / 512) * 512;
    }
    expect(names).toContain('segmap-policies/README.md');
    expect(names.some((n) => n.includes('frontend'))).toBe(true);
  });
});
