/**
 * Risk ranking: one score per workload that answers "where do we start?". Pure, and built only from findings, so every
 * point can be traced to a finding the user can read.
 *
 * The formula (README, "Risk ranking"):
 *   - Each finding counts towards at most one factor (RISK_FACTORS). A finding about a service account counts for every
 *     workload that runs as it.
 *   - A factor scores the points of its most severe finding (critical 10, high 6, medium 3, low 1, info 0), plus 1 for
 *     each further distinct finding id in it (so two kinds of evidence for one factor outweigh one, but never a
 *     more severe factor).
 *   - The score is the sum of the factor scores. Ties share a rank; within a tie the workload with more severe
 *     findings comes first, then by id.
 */
import { endpointId, isWorkloadKind, type Endpoint, type Finding, type RiskFactor, type Severity, type WorkloadRisk } from '../model/index.js';

export type { RiskFactor, WorkloadRisk } from '../model/index.js';

export const SEVERITY_POINTS: Readonly<Record<Severity, number>> = { critical: 10, high: 6, medium: 3, low: 1, info: 0 };

/** Factor id → what it means and the finding ids that feed it. */
export const RISK_FACTORS: Readonly<Record<string, { label: string; findings: readonly string[] }>> = {
  CLOUD_METADATA: { label: 'reaches the cloud metadata service', findings: ['METADATA_SERVICE_EGRESS'] },
  ADMIN_SURFACE: { label: 'reaches the API server or administration ports', findings: ['API_SERVER_EGRESS', 'ADMIN_PORT_EGRESS'] },
  SENSITIVE_REACH: { label: 'reaches databases in other namespaces or the cluster\'s own namespaces', findings: ['CROSS_NAMESPACE_DATABASE_EGRESS', 'SENSITIVE_NAMESPACE_EGRESS'] },
  INTERNET_EGRESS: { label: 'sends to the internet', findings: ['INTERNET_EGRESS', 'HARDCODED_EXTERNAL_ADDRESS'] },
  PRIVILEGED_SERVICE_ACCOUNT: { label: 'runs with a privileged service account token', findings: ['WORKLOAD_ADMIN_RBAC', 'WORKLOAD_RISKY_RBAC'] },
  SHARED_SERVICE_ACCOUNT: { label: 'shares its service account with workloads of other needs', findings: ['SHARED_SERVICE_ACCOUNT'] },
  OVER_BROAD_POLICY: {
    label: 'its policy allows far more than it uses',
    findings: ['UNPROTECTED_WORKLOAD', 'EGRESS_UNRESTRICTED', 'EGRESS_OPEN_TO_INTERNET', 'SENSITIVE_EGRESS_ALLOWED', 'ALLOWED_UNUSED'],
  },
  POD_IP_DIALLING: { label: 'dials pod addresses instead of Services', findings: ['POD_IP_DIALLED'] },
};

const FACTOR_OF = new Map<string, string>(Object.entries(RISK_FACTORS).flatMap(([factor, f]) => f.findings.map((id) => [id, factor] as const)));
const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export interface RiskInput {
  /** Every workload to rank (those without findings score 0 and come last). */
  workloads: readonly Endpoint[];
  /** All findings of the analysis (policy, egress-risk and service-account ones). */
  findings: readonly Finding[];
  /** Service account (`ns/name`) → the ids (`endpointId`) of the workloads running as it, to charge its findings to them. */
  serviceAccountWorkloads?: ReadonlyMap<string, readonly string[]>;
}

/** `serviceAccountWorkloads` from the service-account audit's accounts (`SaAuditResult.accounts`). */
export function serviceAccountWorkloads(accounts: readonly { namespace: string; name: string; workloads: readonly { id: string }[] }[]): Map<string, string[]> {
  return new Map(accounts.map((a) => [`${a.namespace}/${a.name}`, a.workloads.map((w) => w.id)]));
}

/** Workloads, most urgent first (score descending, then more severe findings, then id). */
export function rankWorkloads(input: RiskInput): WorkloadRisk[] {
  const entries = new Map<string, { endpoint: Endpoint; findings: Finding[] }>();
  const entry = (e: Endpoint) => {
    const id = endpointId(e);
    return entries.get(id) ?? entries.set(id, { endpoint: e, findings: [] }).get(id)!;
  };
  for (const w of input.workloads) entry(w);
  const byId = new Map([...entries].map(([id, e]) => [id, e]));
  for (const f of input.findings) {
    if (f.subject.kind === 'ServiceAccount') {
      for (const id of input.serviceAccountWorkloads?.get(`${f.subject.namespace}/${f.subject.name}`) ?? []) byId.get(id)?.findings.push(f);
    } else if (isWorkloadKind(f.subject.kind)) {
      const e = entry(f.subject);
      byId.set(endpointId(f.subject), e);
      e.findings.push(f);
    }
  }

  const risks = [...entries].map(([id, { endpoint, findings }]) => {
    const factors: RiskFactor[] = [];
    for (const [factor, def] of Object.entries(RISK_FACTORS)) {
      const mine = findings.filter((f) => FACTOR_OF.get(f.id) === factor);
      if (mine.length === 0) continue;
      const ids = [...new Set(mine.map((f) => f.id))].sort();
      const top = Math.max(...mine.map((f) => SEVERITY_POINTS[f.severity]));
      const points = top + ids.length - 1;
      if (points <= 0) continue;
      const strongest = mine.find((f) => SEVERITY_POINTS[f.severity] === top)!;
      factors.push({ factor, points, reason: `${def.label} (${ids.join(', ')}; strongest ${strongest.severity})`, findings: ids });
    }
    factors.sort((a, b) => b.points - a.points || a.factor.localeCompare(b.factor));
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const f of findings) counts[f.severity]++;
    return {
      workload: id, endpoint, namespace: endpoint.namespace ?? '', score: factors.reduce((s, f) => s + f.points, 0), rank: 0, factors, findings: counts,
    };
  });

  risks.sort((a, b) => b.score - a.score || severityOrder(a.findings, b.findings) || a.workload.localeCompare(b.workload));
  risks.forEach((r, i) => { r.rank = i > 0 && risks[i - 1].score === r.score ? risks[i - 1].rank : i + 1; });
  return risks;
}

/** More critical findings first, then more high ones, and so on. */
function severityOrder(a: Record<Severity, number>, b: Record<Severity, number>): number {
  for (const s of SEVERITIES) if (a[s] !== b[s]) return b[s] - a[s];
  return 0;
}

/** The workload's id of a finding's subject (`undefined` for service accounts and non-workload endpoints). */
export function findingWorkload(f: Finding): string | undefined {
  return f.subject.kind !== 'ServiceAccount' && isWorkloadKind(f.subject.kind) ? endpointId(f.subject) : undefined;
}

/**
 * Findings in ranking order: the findings of the highest-ranked workload first (most severe first within it), then
 * the next workload's; findings whose subject is no ranked workload (service accounts, bindings) follow, most severe
 * first. Stable otherwise.
 */
export function sortFindingsByRisk<F extends Finding>(findings: readonly F[], ranking: readonly WorkloadRisk[]): F[] {
  const position = new Map(ranking.map((r, i) => [r.workload, i]));
  const rankOf = (f: F) => position.get(findingWorkload(f) ?? '') ?? Number.MAX_SAFE_INTEGER;
  return findings.map((f, i) => ({ f, i })).sort((x, y) => rankOf(x.f) - rankOf(y.f)
    || SEVERITIES.indexOf(x.f.severity) - SEVERITIES.indexOf(y.f.severity) || x.i - y.i).map((x) => x.f);
}
