import { describe, expect, it } from 'vitest';
import type { Endpoint, Finding, Severity } from '../model/index.js';
import { rankWorkloads, serviceAccountWorkloads, sortFindingsByRisk } from './risk.js';

const W = (name: string, namespace = 'shop'): Endpoint => ({ kind: 'Deployment', namespace, name });
const f = (id: string, severity: Severity, subject: Finding['subject']): Finding => ({ id, severity, subject, message: `${id} on ${JSON.stringify(subject)}`, evidence: {} });
const SA = (name: string, namespace = 'shop') => ({ kind: 'ServiceAccount' as const, namespace, name });

describe('rankWorkloads', () => {
  const workloads = ['meta', 'hard', 'open', 'quiet', 'shared1', 'shared2', 'admin'].map((n) => W(n));
  const findings = [
    f('METADATA_SERVICE_EGRESS', 'high', W('meta')),
    f('ALLOWED_UNUSED', 'low', W('meta')),
    f('INTERNET_EGRESS', 'low', W('hard')),
    f('HARDCODED_EXTERNAL_ADDRESS', 'medium', W('hard')),
    f('EGRESS_UNRESTRICTED', 'medium', W('open')),
    f('UNPROTECTED_WORKLOAD', 'medium', W('open')),
    f('SHARED_SERVICE_ACCOUNT', 'medium', SA('both')),
    f('WORKLOAD_ADMIN_RBAC', 'critical', W('admin')),
    f('RBAC_CLUSTER_ADMIN', 'critical', SA('ops')), // no factor: the workload finding above carries it
    f('SOMETHING_NEW', 'high', W('quiet')), // an id no factor names counts for nothing
  ];
  const ranking = rankWorkloads({ workloads, findings, serviceAccountWorkloads: serviceAccountWorkloads([
    { namespace: 'shop', name: 'both', workloads: [{ id: 'shop/shared1[Deployment]' }, { id: 'shop/shared2[Deployment]' }] },
    { namespace: 'shop', name: 'ops', workloads: [{ id: 'shop/admin[Deployment]' }] },
  ]) });
  const byName = (n: string) => ranking.find((r) => r.endpoint.name === n)!;

  it('scores each factor by its most severe finding, plus one per further finding id in it', () => {
    expect(byName('admin')).toMatchObject({ score: 10, factors: [{ factor: 'PRIVILEGED_SERVICE_ACCOUNT', points: 10, findings: ['WORKLOAD_ADMIN_RBAC'] }] });
    expect(byName('meta')).toMatchObject({ score: 7, factors: [{ factor: 'CLOUD_METADATA', points: 6 }, { factor: 'OVER_BROAD_POLICY', points: 1 }] });
    expect(byName('hard')).toMatchObject({ score: 4, factors: [{ factor: 'INTERNET_EGRESS', points: 4, findings: ['HARDCODED_EXTERNAL_ADDRESS', 'INTERNET_EGRESS'] }] });
    expect(byName('open')).toMatchObject({ score: 4, factors: [{ factor: 'OVER_BROAD_POLICY', points: 4 }] });
    expect(byName('quiet')).toMatchObject({ score: 0, factors: [] });
    expect(byName('meta').factors[0].reason).toBe('reaches the cloud metadata service (METADATA_SERVICE_EGRESS; strongest high)');
  });

  it('charges a service account\'s findings to every workload running as it', () => {
    expect(byName('shared1')).toMatchObject({ score: 3, factors: [{ factor: 'SHARED_SERVICE_ACCOUNT', points: 3 }] });
    expect(byName('shared2').score).toBe(3);
    expect(byName('admin').findings).toEqual({ critical: 2, high: 0, medium: 0, low: 0, info: 0 });
  });

  it('orders by score, ties share a rank and are broken by severity, then id', () => {
    expect(ranking.map((r) => `${r.rank} ${r.endpoint.name} ${r.score}`)).toEqual([
      '1 admin 10', '2 meta 7', '3 open 4', '3 hard 4', // open: two medium findings; hard: a medium and a low
      '5 shared1 3', '5 shared2 3', '7 quiet 0',
    ]);
  });

  it('ranks workloads named only by findings too, and is pure (same input, same output)', () => {
    const r = rankWorkloads({ workloads: [], findings: [f('POD_IP_DIALLED', 'medium', W('ghost', 'x'))] });
    expect(r).toEqual([{
      workload: 'x/ghost[Deployment]', endpoint: W('ghost', 'x'), namespace: 'x', score: 3, rank: 1,
      factors: [{ factor: 'POD_IP_DIALLING', points: 3, reason: 'dials pod addresses instead of Services (POD_IP_DIALLED; strongest medium)', findings: ['POD_IP_DIALLED'] }],
      findings: { critical: 0, high: 0, medium: 1, low: 0, info: 0 },
    }]);
    expect(rankWorkloads({ workloads, findings })).toEqual(rankWorkloads({ workloads: [...workloads], findings: [...findings] }));
  });

  it('sortFindingsByRisk: the top workload\'s findings first, most severe first within it; the rest after', () => {
    const sorted = sortFindingsByRisk(findings, ranking).map((x) => `${x.id} ${'name' in x.subject ? x.subject.name : ''}`);
    expect(sorted.slice(0, 4)).toEqual(['WORKLOAD_ADMIN_RBAC admin', 'METADATA_SERVICE_EGRESS meta', 'ALLOWED_UNUSED meta', 'EGRESS_UNRESTRICTED open']);
    expect(sorted.slice(-2)).toEqual(['RBAC_CLUSTER_ADMIN ops', 'SHARED_SERVICE_ACCOUNT both']);
  });
});
