/**
 * The order of the stages, in one place:
 *   store snapshots → identity (IP@time → workload) → graph (direction, edges) → policy engine (current policies)
 *   → findings (allowed vs. used, egress risk, service accounts) → risk ranking / replay (simulate).
 */
import { egressRiskFindings } from '../analyzer/egress-risk.js';
import { podPeer, policyFindings } from '../analyzer/findings.js';
import { buildGraph } from '../analyzer/graph.js';
import { buildIdentity, type IdentityIndex } from '../analyzer/identity.js';
import { PolicyEngine } from '../analyzer/policy/engine.js';
import { auditServiceAccounts, type SaAuditResult } from '../analyzer/sa-audit.js';
import { parsePolicies } from '../analyzer/policy/parse-policies.js';
import { rankWorkloads, serviceAccountWorkloads } from '../analyzer/risk.js';
import type { PodPeer } from '../analyzer/policy/types.js';
import { SEVERITY_RANK, type Finding, type Graph, type K8sObject, type WorkloadRisk } from '../model/index.js';
import type { FlowStore, TimeWindow } from '../store/backend.js';
import { POLICY_KINDS } from './policy-input.js';

export interface AnalysisOptions extends TimeWindow {
  namespace?: string;
  /** Epoch seconds; default the clock (the service-account audit judges token age against it). */
  now?: number;
}

export async function loadIdentity(store: FlowStore): Promise<IdentityIndex> {
  const identity = buildIdentity(await store.snapshots());
  // DNS answers seen in the inputs name External peers.
  identity.setDnsNames(await store.dnsNames());
  return identity;
}

export async function analyzeGraph(store: FlowStore, opts: AnalysisOptions = {}, identity?: IdentityIndex): Promise<Graph> {
  identity ??= await loadIdentity(store);
  const paths = new Map((await store.inputs()).map((i) => [i.id, i.path]));
  return buildGraph(identity, store.aggregates(opts), {
    since: opts.since, until: opts.until, namespace: opts.namespace,
    sourceName: (id) => paths.get(id) ?? `input#${id}`,
  });
}

/** An engine over a set of policy objects; problems in them are returned, not thrown. */
export function policyEngine(objects: K8sObject[]): { engine: PolicyEngine; problems: string[] } {
  const parsed = parsePolicies(objects.filter((o) => (POLICY_KINDS as readonly string[]).includes(o.kind)));
  return { engine: new PolicyEngine(parsed.policies), problems: [...parsed.errors, ...parsed.warnings] };
}

export async function analyzeFindings(
  store: FlowStore, opts: AnalysisOptions = {}, identity?: IdentityIndex, graph?: Graph,
): Promise<{ findings: Finding[]; problems: string[]; risk: WorkloadRisk[] }> {
  // `policies` passes the identity and graph it already built (same store, same window).
  identity ??= await loadIdentity(store);
  graph ??= await analyzeGraph(store, opts, identity);
  const { engine, problems } = policyEngine(identity.current);
  // Service-account findings (identity, tokens, RBAC, audit logs) follow the policy and egress-risk findings.
  const accounts = auditServiceAccounts(identity, graph, await store.auditAggregates(opts), { now: opts.now ?? Math.floor(Date.now() / 1000) });
  const findings = bySeverity([...await trafficFindings(store, identity, graph, engine), ...accounts.findings]);
  // Where to start: a score per workload from its findings (analyzer/risk.ts); callers order by it.
  return { findings, problems, risk: rankRisk(identity, findings, accounts) };
}

/** What the traffic says: allowed vs. used (current policies), then egress risk; most severe first. */
export async function trafficFindings(store: FlowStore, identity: IdentityIndex, graph: Graph, engine: PolicyEngine): Promise<Finding[]> {
  const egress = egressRiskFindings({ identity, graph, engine, inputs: await store.inputs(), dns: await store.dnsNames() });
  return bySeverity([...policyFindings(identity, graph, engine), ...egress]);
}

/** Most severe first across passes; the sort is stable, so each pass keeps its own order within a severity. */
const bySeverity = (fs: Finding[]) => fs.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);

/** Where to start: a score per workload from all its findings, service-account ones included (analyzer/risk.ts). */
export function rankRisk(identity: IdentityIndex, findings: readonly Finding[], accounts: SaAuditResult): WorkloadRisk[] {
  return rankWorkloads({ workloads: identity.workloads.map((w) => w.endpoint), findings: [...findings], serviceAccountWorkloads: serviceAccountWorkloads(accounts.accounts) });
}

/** `segmap sa-audit`: per service account, its workloads, tokens, API use, grants and findings. */
export async function analyzeServiceAccounts(store: FlowStore, opts: AnalysisOptions = {}, identity?: IdentityIndex): Promise<SaAuditResult> {
  identity ??= await loadIdentity(store);
  const graph = await analyzeGraph(store, opts, identity);
  return auditServiceAccounts(identity, graph, await store.auditAggregates(opts), { now: opts.now ?? Math.floor(Date.now() / 1000) });
}

/** One pod per workload (its newest running one), as the policy engine sees it. */
export function workloadPods(identity: IdentityIndex): PodPeer[] {
  return identity.workloads.filter((w) => w.pod).map((w) => podPeer(w.pod!, identity));
}
