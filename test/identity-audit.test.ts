/**
 * Audit logs: ingest (audit2rbac's demo.log, falco's traces), the stored aggregates, and the least-privilege role
 * suggestions, which must cover exactly the successful requests (demo-requests.derived.tsv lists them).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { bindingAllows, ruleAllows, suggestRoles, type ApiRequest, type Binding, type Suggestion } from '../analyzer/rbac.js';
import { k8sAudit } from '../collector/k8s-audit.js';
import { detectSource } from '../collector/registry.js';
import { newReadContext } from '../collector/source.js';
import type { AuditAggregate } from '../model/audit.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { analyzeServiceAccounts } from '../ui/pipeline.js';
import { cli, hasShared, SHARED, tempDb } from './helpers/scenario.js';

const DEMO = 'audit2rbac/demo.log';
const TSV = 'audit2rbac/demo-requests.derived.tsv';
const FALCO = 'falco-k8s-audit/trace_files';

describe('k8s-audit reader', () => {
  const ev = (o: object) => JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', auditID: 'a1', verb: 'get', user: { username: 'u' }, stageTimestamp: '2024-01-01T00:00:00Z', objectRef: { resource: 'pods', namespace: 'ns' }, ...o });
  it('is detected before the generic object reader, and folds stages of one request into one', async () => {
    const text = [ev({ stage: 'RequestReceived' }), ev({ stage: 'ResponseComplete', responseStatus: { code: 200 } }), ev({ auditID: 'a2', responseStatus: { code: 403 } }), 'not json'].join('\n');
    expect(detectSource(text, 'x.log')?.format).toBe('k8s-audit');
    const ctx = newReadContext('x.log');
    const aggs = k8sAudit.read(text, ctx);
    expect(aggs.map((a) => [a.outcome, a.count])).toEqual([['allowed', 1], ['denied', 1]]);
    expect(ctx.issues.map((i) => `${i.line}:${i.reason}`)).toEqual(['4:bad-json']);
  });
});

describe.skipIf(!hasShared(DEMO))('audit2rbac demo (../shared)', () => {
  let aggs: AuditAggregate[];
  let db: string;
  beforeAll(async () => {
    db = tempDb('audit');
    const store = SqliteStore.open(db);
    try {
      const [r] = await ingestPaths(store, [join(SHARED, DEMO)]);
      expect(r.status).toBe('ingested');
      expect(r.format).toBe('k8s-audit');
      aggs = await store.auditAggregates();
      // Audit aggregates are filed in their own table, never among the cluster's objects.
      expect((await store.snapshots()).flatMap((s) => s.objects)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  const lines = () => readFileSync(join(SHARED, TSV), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [user, verb, apiGroup, res, ns, , code, count] = l.split('\t');
      const [resource, subresource = ''] = res.split('/');
      return { user, req: { verb, apiGroup, resource, subresource, namespace: ns === '<cluster>' ? '' : ns } as ApiRequest, ok: code.startsWith('2'), count: Number(count) };
    });

  it('stores per-(user, verb, resource, namespace, outcome) aggregates matching the derived request list', async () => {
    const sum = (f: (a: AuditAggregate) => boolean) => aggs.filter(f).reduce((s, a) => s + a.count, 0);
    for (const l of lines()) {
      const n = sum((a) => a.user === l.user && a.verb === l.req.verb && a.resource === l.req.resource && a.namespace === l.req.namespace && (a.outcome === 'allowed') === l.ok);
      expect(n, `${l.user} ${l.req.verb} ${l.req.resource} ${l.req.namespace}`).toBe(l.count);
    }
  });

  /** The suggestion as bindings, to ask "would it allow this request?". */
  const asBindings = (s: Suggestion): Binding[] => s.roles.map((r) => ({
    id: r.name, kind: r.kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding', name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}),
    roleRef: { kind: r.kind, name: r.name }, subjects: [s.subject], rules: r.rules, roleFound: true, valid: true, system: false,
  }));

  for (const user of ['system:serviceaccount:ns1:sa1', 'bob', 'alice']) {
    it(`${user}: the suggested roles cover exactly the successful requests`, () => {
      const mine = lines().filter((l) => l.user === user);
      const s = suggestRoles(user, aggs);
      if (!mine.some((l) => l.ok)) {
        expect(s).toBeUndefined();
        return;
      }
      const bs = asBindings(s!);
      const allows = (r: ApiRequest) => bs.some((b) => bindingAllows(b, r));
      const okResource = mine.filter((l) => l.ok && l.req.resource);
      for (const l of okResource) expect(allows(l.req), `${l.req.verb} ${l.req.resource} in ${l.req.namespace || 'cluster'}`).toBe(true);
      // Nothing more: every granted (verb, resource) is one that succeeded, at the scope it succeeded.
      const tuple = (r: ApiRequest) => `${r.namespace}|${r.verb}|${r.apiGroup}|${r.resource}`;
      const granted = s!.roles.flatMap((r) => r.rules.filter((x) => !x.nonResourceURLs).flatMap((x) => x.verbs.flatMap((v) => x.resources!.map((res) => tuple({ verb: v, apiGroup: x.apiGroups![0], resource: res, namespace: r.namespace ?? '' })))));
      expect(new Set(granted)).toEqual(new Set(okResource.map((l) => tuple(l.req))));
      // Denied requests stay denied, unless the same request also succeeded (at another time, or across all namespaces).
      for (const l of mine.filter((x) => !x.ok && x.req.resource)) {
        const succeeded = okResource.some((o) => (o.req.namespace === '' || o.req.namespace === l.req.namespace) && o.req.verb === l.req.verb && o.req.resource === l.req.resource);
        expect(allows(l.req), `${l.req.verb} ${l.req.resource} in ${l.req.namespace || 'cluster'}`).toBe(succeeded);
      }
      // Non-resource URLs: exactly the paths fetched.
      const urls = aggs.filter((a) => a.user === user && a.outcome === 'allowed' && a.nonResourceURL).map((a) => a.nonResourceURL);
      const urlRules = s!.roles.flatMap((r) => r.rules.filter((x) => x.nonResourceURLs));
      expect(urlRules.flatMap((x) => x.nonResourceURLs!).sort()).toEqual([...new Set(urls)].sort());
      expect(urlRules.every((x) => x.verbs.every((v) => ruleAllows(x, { verb: v, apiGroup: '', resource: '', namespace: '', nonResourceURL: x.nonResourceURLs![0] })))).toBe(true);
    });
  }

  it('sa1: bob\'s requests 23 non-resource URLs; sa-audit shows last API use, and --suggest-roles writes YAML', async () => {
    expect(suggestRoles('bob', aggs)!.roles.find((r) => r.kind === 'ClusterRole')!.rules.find((r) => r.nonResourceURLs)!.nonResourceURLs).toHaveLength(23);
    const store = SqliteStore.open(db);
    try {
      const r = await analyzeServiceAccounts(store, { now: 1.8e9 });
      const sa1 = r.accounts.find((a) => a.namespace === 'ns1' && a.name === 'sa1')!;
      expect(sa1.lastApiUse).toMatch(/^2017-09-11T/);
      expect(sa1.suggestion?.roles.map((x) => x.kind)).toEqual(['ClusterRole']);
    } finally {
      await store.close();
    }
    const dir = join(mkdtempSync(join(tmpdir(), 'segmap-roles-')), 'roles');
    const out = cli(db, 'sa-audit', '--format', 'json', '--suggest-roles', dir);
    expect(out.code).toBe(0);
    expect(Array.isArray(JSON.parse(out.out))).toBe(true);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['bob.yaml', 'system_serviceaccount_ns1_sa1.yaml']);
    const docs = parseAllDocuments(readFileSync(join(dir, files[1]), 'utf8')).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    expect(docs[0].rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    expect(docs[1].subjects).toEqual([{ kind: 'ServiceAccount', name: 'sa1', namespace: 'ns1' }]);
  });
});

describe.skipIf(!hasShared(FALCO))('falco k8s audit traces (../shared)', () => {
  // fal_01_003.json is `{"kind": 0}`: falco's own test expects "data not recognized as a k8s audit event".
  const NOT_AUDIT = 'fal_01_003.json';

  it('every trace file ingests as an audit log, without issues', async () => {
    const files = readdirSync(join(SHARED, FALCO)).filter((f) => f.endsWith('.json') && f !== NOT_AUDIT).sort();
    expect(files.length).toBeGreaterThan(40);
    const store = SqliteStore.open(tempDb('falco'));
    try {
      const reports = await ingestPaths(store, files.map((f) => join(SHARED, FALCO, f)));
      const bad = reports.filter((r) => !['ingested', 'unchanged'].includes(r.status) || r.format !== 'k8s-audit' || r.issues.length > 0);
      expect(bad.map((r) => `${r.path}: ${r.status} ${r.format} ${r.issues.map((i) => i.reason).join(',')} ${r.error ?? ''}`)).toEqual([]);
      expect((await store.auditAggregates()).length).toBeGreaterThan(20); // many traces repeat one request (create pods in default)
    } finally {
      await store.close();
    }
  });

  it(`${NOT_AUDIT} (not an audit event, by design) is reported unrecognized, not a failure`, async () => {
    const store = SqliteStore.open(tempDb('falco-bad'));
    try {
      const [r] = await ingestPaths(store, [join(SHARED, FALCO, NOT_AUDIT)]);
      expect(r.status).toBe('unrecognized');
    } finally {
      await store.close();
    }
  });
});
