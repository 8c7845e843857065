import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../model/index.js';
import { cli, edgeSpecKey, graphEdgeKeys, hasShared, ingestAndGraph, readJson, ROOT, SHARED, type EdgeSpec } from './helpers/scenario.js';

const SCENARIO = join(ROOT, 'fixtures', 'online-boutique');
const INPUT = join(SCENARIO, 'input');
const GOLDEN = join(SCENARIO, 'expected', 'graph.json');
const NETPOLS = 'online-boutique/kustomize/components/network-policies';

let graph: Graph;
let db: string;

beforeAll(async () => {
  ({ graph, db } = await ingestAndGraph([INPUT]));
});

describe('scenario: Online Boutique on AWS VPC flow logs', () => {
  it('gives exactly the edges the generator simulated: no missing edge, no phantom from IP reuse or the finished CronJob pod', async () => {
    const truth = readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'truth.json')).map(edgeSpecKey).sort();
    expect(truth.length).toBeGreaterThan(30);
    expect(graphEdgeKeys(graph)).toEqual(truth);
    expect(graph.edges.every((e) => e.verdict === 'allowed')).toBe(true);
  });

  it('attributes the CronJob traffic to the CronJob only while its pod ran', async () => {
    const cron = graph.edges.filter((e) => e.src.kind === 'CronJob' && e.dst.name === 'productcatalogservice');
    expect(cron).toHaveLength(1);
    expect(cron[0].lastSeen < '2026-11-01T10:09:00Z').toBe(true);
  });

  it('does not depend on ingest order (flows before snapshots)', async () => {
    const flowsFirst = await ingestAndGraph([join(INPUT, 'flows'), join(INPUT, 'cluster-t1.json'), join(INPUT, 'cluster-t0.json')]);
    expect(flowsFirst.graph.edges.map(({ sources, ...e }) => ({ ...e, n: sources.length })))
      .toEqual(graph.edges.map(({ sources, ...e }) => ({ ...e, n: sources.length })));
  });

  it('matches the reviewed golden graph (regenerate with UPDATE_GOLDEN=1 and review the diff)', async () => {
    const rel = (g: Graph) => JSON.parse(JSON.stringify(g).split(ROOT + '/').join(''));
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, JSON.stringify(rel(graph), null, 2) + '\n');
    expect(existsSync(GOLDEN)).toBe(true);
    expect(rel(graph)).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });

  it('prints the same graph through the CLI contract (json, text, dot; --namespace, --since/--until)', async () => {
    const json = cli(db, 'graph', '--format', 'json');
    expect(json.code).toBe(0);
    const g = JSON.parse(json.out) as Graph;
    expect(g.edges).toHaveLength(graph.edges.length);
    expect(Object.keys(g.edges[0]).sort()).toEqual(['bytes', 'dst', 'firstSeen', 'flows', 'lastSeen', 'port', 'protocol', 'sources', 'src', 'verdict']);
    expect(cli(db, 'graph', '--format', 'text').out).toContain('boutique/checkoutservice[Deployment] => boutique/emailservice[Deployment] : TCP 8080 allowed');
    expect(cli(db, 'graph', '--format', 'dot').out).toMatch(/^digraph segmap \{/);
    const kube = JSON.parse(cli(db, 'graph', '--format', 'json', '--namespace', 'kube-system').out) as Graph;
    expect(kube.edges.length).toBe(graph.edges.filter((e) => e.dst.namespace === 'kube-system' || e.src.namespace === 'kube-system').length);
    const early = JSON.parse(cli(db, 'graph', '--format', 'json', '--since', '2026-11-01T10:00:00Z', '--until', '2026-11-01T10:10:00Z').out) as Graph;
    expect(early.window).toEqual({ since: '2026-11-01T10:00:00.000Z', until: '2026-11-01T10:10:00.000Z' });
    expect(early.edges.length).toBeGreaterThan(0);
    expect(early.edges.every((e) => e.firstSeen >= '2026-11-01T09:55:00Z' && e.firstSeen < '2026-11-01T10:10:00Z')).toBe(true);
  });
});

describe('scenario: Online Boutique findings (the cluster runs no policy)', () => {
  it('findings --format json follows the contract and flags every workload as unprotected, most severe first', async () => {
    const r = cli(db, 'findings', '--format', 'json');
    expect(r.code).toBe(0);
    const findings = JSON.parse(r.out) as { id: string; severity: string; subject: { kind: string; namespace?: string; name?: string }; message: string; evidence: object }[];
    for (const f of findings) expect(Object.keys(f).sort()).toEqual(['evidence', 'id', 'message', 'severity', 'subject']);
    const unprotected = findings.filter((f) => f.id === 'UNPROTECTED_WORKLOAD' && f.subject.namespace === 'boutique').map((f) => f.subject.name).sort();
    expect(unprotected).toEqual(['adservice', 'cartservice', 'catalog-reindex', 'checkoutservice', 'currencyservice', 'emailservice', 'frontend',
      'loadgenerator', 'paymentservice', 'productcatalogservice', 'recommendationservice', 'redis-cart', 'shippingservice']);
    const rank = ['critical', 'high', 'medium', 'low', 'info'];
    expect(findings.map((f) => rank.indexOf(f.severity))).toEqual([...findings.map((f) => rank.indexOf(f.severity))].sort((a, b) => a - b));
    expect(cli(db, 'findings').out).toMatch(/UNPROTECTED_WORKLOAD boutique\/frontend\[Deployment\]/);
  });
});

describe.skipIf(!hasShared('online-boutique/expected-graph.md'))('scenario: Online Boutique vs. its documented graph (../shared)', () => {
  it('contains every documented in-cluster edge at its container port (emailservice is 8080 on the wire)', async () => {
    const md = readFileSync(join(SHARED, 'online-boutique', 'expected-graph.md'), 'utf8');
    const documented: string[] = [];
    const table = md.slice(md.indexOf('## Edges'), md.indexOf('\n## ', md.indexOf('## Edges') + 1));
    for (const line of table.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      // Data rows only: not the header (`client | server`), the `---` rule, or the external-caller row.
      if (cells.length < 6 || cells[1] === 'client' || !/^[a-z][a-z-]*$/.test(cells[1]) || !/^[a-z][a-z-]*$/.test(cells[2])) continue;
      const port = Number(/\d+/.exec(cells[4].replace(/\*/g, ''))?.[0]);
      documented.push(edgeSpecKey({ src: `boutique/${cells[1]}[Deployment]`, dst: `boutique/${cells[2]}[Deployment]`, protocol: 'TCP', port }));
    }
    expect(documented).toHaveLength(16);
    const got = new Set(graphEdgeKeys(graph));
    expect(documented.filter((d) => !got.has(d))).toEqual([]);
    expect(got.has('boutique/checkoutservice[Deployment] => boutique/emailservice[Deployment] : TCP 8080')).toBe(true);
  });

  it.skipIf(!hasShared(NETPOLS))('simulate: the project\'s own policies drop exactly the CronJob traffic they were not written for', () => {
    const r = cli(db, 'simulate', join(SHARED, NETPOLS), '-n', 'boutique', '--format', 'json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out) as { denied: { src: { name: string }; dst: { name: string }; protocol: string; port: number; decidedBy: { name: string } }[]; allowedFlows: number; deniedFlows: number };
    expect(out.denied.map((d) => `${d.src.name} => ${d.dst.name} : ${d.protocol} ${d.port}`)).toEqual([
      'catalog-reindex => productcatalogservice : TCP 3550',
      'catalog-reindex => coredns : UDP 53',
    ]);
    expect(out.denied.every((d) => d.decidedBy.name === 'deny-all')).toBe(true);
    expect(out.allowedFlows).toBeGreaterThan(1000);
    expect(out.deniedFlows).toBe(8);
    const explain = cli(db, 'simulate', join(SHARED, NETPOLS), '-n', 'boutique',
      '--explain', 'boutique/frontend[Deployment] => boutique/cartservice[Deployment] : TCP 7070');
    expect(explain.code).toBe(0);
    expect(explain.out).toMatch(/ALLOWED/);
    expect(explain.out).toMatch(/ingress of boutique\/cartservice-[a-z0-9-]+: allowed by NetworkPolicy boutique\/cartservice: ingress rule 0/);
  });
});
