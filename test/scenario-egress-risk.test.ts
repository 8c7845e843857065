import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_RISK_FINDING_IDS } from '../analyzer/egress-risk.js';
import { endpointId, type Endpoint, type Finding, type Graph, type WorkloadRisk } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { analyzeFindings } from '../ui/pipeline.js';
import { cli, edgeSpecKey, ingestAndGraph, readJson, ROOT, type EdgeSpec } from './helpers/scenario.js';

const SCENARIO = join(ROOT, 'fixtures', 'egress-risk');
const INPUT = join(SCENARIO, 'input');
const CAPTURE = 'captures/node-b-pod-interfaces-20261105T1420Z.pcap';

interface Oracle {
  findings: { id: string; subject: string }[];
  internet: { subject: string; address: string; naming: string; names: string[] }[];
  rankedFirst: string[];
  quiet: string[];
}
const oracle = readJson<Oracle>(join(SCENARIO, 'expected', 'egress-risk.json'));
const OURS = new Set<string>(EGRESS_RISK_FINDING_IDS);
const subjectOf = (f: Finding) => (f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject as Endpoint));

let graph: Graph;
let db: string;
let findings: Finding[];
let risk: WorkloadRisk[];

beforeAll(async () => {
  ({ graph, db } = await ingestAndGraph([INPUT]));
  const store = SqliteStore.open(db);
  try {
    ({ findings, risk } = await analyzeFindings(store, { now: Date.parse('2026-11-05T15:00:00Z') / 1000 }));
  } finally {
    await store.close();
  }
});

describe('scenario: egress risk (VPC flow logs + a capture of node b\'s pod interfaces)', () => {
  it('gives exactly the edges the generator simulated: pod → pod from the flow logs, Service addresses and outside peers from the capture', () => {
    // An outside peer is named only while a DNS answer's TTL covers the time: compare by address.
    const unnamed = (id: string) => id.replace(/\([^)]*\)\[External\]$/, '[External]');
    const got = [...new Set(graph.edges.map((e) => edgeSpecKey({ src: endpointId(e.src), dst: unnamed(endpointId(e.dst)), protocol: e.protocol, port: e.port })))].sort();
    const truth = readJson<EdgeSpec[]>(join(SCENARIO, 'expected', 'truth.json')).map(edgeSpecKey).sort();
    expect(got).toEqual(truth);
    expect(graph.edges.some((e) => endpointId(e.dst) === '198.51.100.20(api.stripe.com)[External]')).toBe(true);
  });

  it('each egress-risk finding fires exactly where the scenario put it, and nowhere else', () => {
    const got = findings.filter((f) => OURS.has(f.id)).map((f) => `${f.id} ${subjectOf(f)}`).sort();
    expect(got).toEqual(oracle.findings.map((f) => `${f.id} ${f.subject}`).sort());
    for (const quiet of oracle.quiet) expect(findings.filter((f) => OURS.has(f.id) && subjectOf(f) === quiet), quiet).toEqual([]);
  });

  it('names internet destinations by DNS where a capture saw the answer, accuses the never-named address, and says what is missing for the rest', () => {
    const destinations = findings.filter((f) => f.id === 'INTERNET_EGRESS').flatMap((f) =>
      (f.evidence.destinations as { address: string; naming: string; names: string[] }[]).map((d) => ({ subject: subjectOf(f), address: d.address, naming: d.naming, names: d.names })));
    expect(destinations.sort((a, b) => a.subject.localeCompare(b.subject))).toEqual(oracle.internet);
    const hard = findings.find((f) => f.id === 'HARDCODED_EXTERNAL_ADDRESS')!;
    expect(hard.evidence.dnsVisibleIn).toEqual([expect.stringContaining(CAPTURE)]);
  });

  it('the pod-IP dial is proven by the capture alone: the flow logs show every client dialling pods', () => {
    const dial = findings.find((f) => f.id === 'POD_IP_DIALLED')!;
    expect(dial.evidence).toMatchObject({ dials: [{ peer: 'shop/api[Deployment]', protocol: 'TCP', port: 8080, services: ['shop/api[Service]'] }] });
    expect((dial.evidence.dials as { sources: string[] }[])[0].sources).toEqual([expect.stringContaining(CAPTURE)]);
    // web, reports, checkout, notifier reach api's pod in the flow logs too; that is DNAT, not evidence.
    const podEdges = graph.edges.filter((e) => endpointId(e.dst) === 'shop/api[Deployment]').map((e) => e.src.name).sort();
    expect(podEdges).toEqual(['checkout', 'inventory', 'notifier', 'reports', 'web']);
  });

  it('the metadata service is reached by metrics-agent (capture only: AWS does not log it); checkout\'s policy leaves it open, unused', () => {
    const meta = findings.find((f) => f.id === 'METADATA_SERVICE_EGRESS')!;
    expect(meta).toMatchObject({ severity: 'high', evidence: { destinations: [{ peer: '169.254.169.254[External]', protocol: 'TCP', port: 80 }] } });
    expect(findings.find((f) => f.id === 'SENSITIVE_EGRESS_ALLOWED')!.evidence).toMatchObject({ allowed: [{ target: 'metadata service', peer: '169.254.169.254' }], policies: ['shop/checkout'] });
  });

  it('the ranking puts the workloads with a gap first, each with the factors behind its score', () => {
    const head = risk.slice(0, oracle.rankedFirst.length).map((r) => r.workload).sort();
    expect(head).toEqual([...oracle.rankedFirst].sort());
    const rest = risk.slice(oracle.rankedFirst.length);
    expect(Math.min(...risk.slice(0, oracle.rankedFirst.length).map((r) => r.score))).toBeGreaterThan(Math.max(...rest.map((r) => r.score)));
    const meta = risk.find((r) => r.workload === 'shop/metrics-agent[Deployment]')!;
    expect(meta.factors.map((f) => f.factor)).toContain('CLOUD_METADATA');
    expect(risk.find((r) => r.workload === 'shop/reports[Deployment]')!.factors.map((f) => f.factor)).toEqual(['OVER_BROAD_POLICY']);
    for (const quiet of oracle.quiet) expect(risk.find((r) => r.workload === quiet)!.score, quiet).toBe(0);
  });

  it('segmap findings: text opens with the ranking; json keeps its contract; --with-risk adds the ranking', () => {
    const text = cli(db, 'findings');
    expect(text.code).toBe(0);
    const lines = text.out.split('\n');
    expect(lines[0]).toMatch(/^where to start/);
    expect(oracle.rankedFirst).toContain(lines[1].trim().split(/\s+/)[2]);
    const json = JSON.parse(cli(db, 'findings', '--format', 'json').out) as Finding[];
    expect(Array.isArray(json)).toBe(true);
    for (const f of json) expect(Object.keys(f).sort()).toEqual(['evidence', 'id', 'message', 'severity', 'subject']);
    const withRisk = JSON.parse(cli(db, 'findings', '--format', 'json', '--with-risk').out) as { risk: WorkloadRisk[]; findings: Finding[] };
    expect(withRisk.risk.slice(0, oracle.rankedFirst.length).map((r) => r.workload).sort()).toEqual([...oracle.rankedFirst].sort());
    expect(withRisk.risk.map((r) => r.workload).sort()).toEqual(risk.map((r) => r.workload).sort());
    expect(withRisk.findings).toHaveLength(json.length);
    expect(subjectOf(withRisk.findings[0])).toBe(risk[0].workload);
  });
});
