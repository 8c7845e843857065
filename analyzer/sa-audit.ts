/**
 * The service-account audit: per service account, the workloads that run as it, whether they get a token, when the
 * API server last saw it (audit logs), what its bindings grant and how much of that was used; and the findings.
 * Pure: `now` is injected. Secrets are seen as metadata only (the readers strip their data before anything else).
 */
import { serviceAccountOfUser, type AuditAggregate } from '../model/audit.js';
import { endpointId, isWorkloadKind, SEVERITY_RANK, type Edge, type Endpoint, type Finding, type Graph, type K8sObject, type WorkloadKind } from '../model/index.js';
import { apiServerEnds, isApiServerEnd } from './api-server.js';
import type { IdentityIndex } from './identity.js';
import {
  ADMIN_RISKS, bindingAllows, bindingRisks, resolveBindings, subjectIsServiceAccount, subjectText, suggestRoles,
  type Binding, type Risk, type Suggestion,
} from './rbac.js';

export const SA_FINDING_IDS = [
  'SERVICE_ACCOUNT_UNUSED', 'DEFAULT_SERVICE_ACCOUNT', 'AUTOMOUNT_TOKEN_UNUSED', 'SHARED_SERVICE_ACCOUNT', 'DEFAULT_SA_BOUND',
  'RBAC_SUBJECT_MISSING', 'RBAC_ROLE_MISSING', 'WORKLOAD_ADMIN_RBAC', 'WORKLOAD_RISKY_RBAC', 'RBAC_UNUSED_GRANT', 'LEGACY_TOKEN_SECRET',
] as const;

export interface AuditedWorkload {
  id: string;
  endpoint: Endpoint;
  /** Whether its pods get a token: the pod spec's `automountServiceAccountToken`, else the account's, else true. */
  tokenMounted: boolean;
  tokenMountedBy: 'pod spec' | 'service account' | 'default';
  /** Seen in the observed graph at all; and seen calling the API server (`default/kubernetes` or its endpoints). */
  observed: boolean;
  talksToApiServer: boolean;
}

export interface GrantReport { binding: string; role: string; scope: string; risks: string[]; usedRequests?: number }
export interface ApiUse { verb: string; apiGroup: string; resource: string; namespace: string; outcome: string; count: number; lastSeen: string }

export interface AccountEntry {
  namespace: string;
  name: string;
  /** False for accounts only named by workloads, bindings or audit logs. */
  exists: boolean;
  automountServiceAccountToken?: boolean;
  workloads: AuditedWorkload[];
  tokenMounted: boolean;
  /** Newest audit-log request by this account (ISO 8601), null when none (or no audit log was ingested). */
  lastApiUse: string | null;
  apiUse: ApiUse[];
  grants: GrantReport[];
  legacyTokens: { secret: string; lastUsed: string | null }[];
  suggestion?: Suggestion;
  findings: Finding[];
}

export interface BindingReport { binding: string; role: string; subjects: string[]; system: boolean; risks: Risk[] }

export interface SaAuditResult {
  accounts: AccountEntry[];
  /** Risky grants of every non-system binding, whoever the subjects are (users and groups included). */
  bindings: BindingReport[];
  /** Audit-log users that are not service accounts, with the roles that cover what they did. */
  users: { user: string; lastApiUse: string; suggestion?: Suggestion }[];
  auditWindow: { since: string; until: string } | null;
  /** Every finding (those of the accounts, their workloads, and of bindings to them), sorted. */
  findings: Finding[];
}

export interface SaAuditOptions { now: number; legacyTokenStaleDays?: number }

const CONTROLLERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet', 'ReplicationController', 'Pod']);
const iso = (t: number) => new Date(t * 1000).toISOString();

interface WorkloadFacts { endpoint: Endpoint & { kind: WorkloadKind; namespace: string; name: string }; serviceAccount: string; podSpec: any }

/** Workloads with the pod spec they run: observed pods' roots, plus controllers whose pods were never seen. */
function workloadFacts(identity: IdentityIndex): WorkloadFacts[] {
  const out = new Map<string, WorkloadFacts>();
  for (const w of identity.workloads) out.set(endpointId(w.endpoint), { endpoint: w.endpoint, serviceAccount: w.serviceAccount, podSpec: w.pod?.spec ?? {} });
  for (const o of identity.current) {
    if (!CONTROLLERS.has(o.kind) || o.kind === 'Pod' || !isWorkloadKind(o.kind)) continue;
    if ((o.metadata.ownerReferences ?? []).some((r) => r.controller)) continue;
    const endpoint = { kind: o.kind, namespace: o.metadata.namespace ?? 'default', name: o.metadata.name };
    const id = endpointId(endpoint);
    if (out.has(id)) continue;
    const spec = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
    out.set(id, { endpoint, serviceAccount: spec?.serviceAccountName ?? spec?.serviceAccount ?? 'default', podSpec: spec ?? {} });
  }
  return [...out.values()].sort((a, b) => endpointId(a.endpoint).localeCompare(endpointId(b.endpoint)));
}


export function auditServiceAccounts(identity: IdentityIndex, graph: Graph, audit: readonly AuditAggregate[], opts: SaAuditOptions): SaAuditResult {
  const current = identity.current;
  const accounts = new Map<string, AccountEntry>();
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const account = (ns: string, name: string) => {
    let a = accounts.get(key(ns, name));
    if (!a) accounts.set(key(ns, name), (a = { namespace: ns, name, exists: false, workloads: [], tokenMounted: false, lastApiUse: null, apiUse: [], grants: [], legacyTokens: [], findings: [] }));
    return a;
  };
  const saObjects = current.filter((o) => o.kind === 'ServiceAccount');
  for (const o of saObjects) {
    const a = account(o.metadata.namespace ?? 'default', o.metadata.name);
    a.exists = true;
    if (typeof (o as any).automountServiceAccountToken === 'boolean') a.automountServiceAccountToken = (o as any).automountServiceAccountToken;
  }
  const edges = graph.edges.filter((e) => e.verdict === 'allowed');
  const api = apiServerEnds(current);
  const touching = new Map<string, Edge[]>();
  for (const e of edges) for (const end of [e.src, e.dst]) {
    const id = endpointId(end);
    (touching.get(id) ?? touching.set(id, []).get(id)!).push(e);
  }

  // Workloads and their tokens.
  const facts = workloadFacts(identity);
  for (const f of facts) {
    const a = account(f.endpoint.namespace, f.serviceAccount);
    const id = endpointId(f.endpoint);
    const own = touching.get(id) ?? [];
    const podSetting = f.podSpec?.automountServiceAccountToken;
    const tokenMounted = typeof podSetting === 'boolean' ? podSetting : a.automountServiceAccountToken ?? true;
    a.workloads.push({
      id, endpoint: f.endpoint, tokenMounted,
      tokenMountedBy: typeof podSetting === 'boolean' ? 'pod spec' : a.automountServiceAccountToken !== undefined ? 'service account' : 'default',
      observed: own.length > 0, talksToApiServer: own.some((e) => endpointId(e.src) === id && isApiServerEnd(e.dst, api)),
    });
    a.tokenMounted ||= tokenMounted;
  }

  // Audit logs: last use, and what was used.
  const auditUsers = new Map<string, AuditAggregate[]>();
  for (const g of audit) (auditUsers.get(g.user) ?? auditUsers.set(g.user, []).get(g.user)!).push(g);
  const users: SaAuditResult['users'] = [];
  for (const [user, aggs] of [...auditUsers].sort(([x], [y]) => x.localeCompare(y))) {
    const last = Math.max(...aggs.map((g) => g.lastSeen));
    const sa = serviceAccountOfUser(user);
    const suggestion = suggestRoles(user, aggs);
    if (!sa) {
      users.push({ user, lastApiUse: iso(last), ...(suggestion ? { suggestion } : {}) });
      continue;
    }
    const a = account(sa.namespace, sa.name);
    a.lastApiUse = iso(last);
    a.apiUse = aggs.filter((g) => g.resource).map((g) => ({ verb: g.verb, apiGroup: g.apiGroup, resource: g.subresource ? `${g.resource}/${g.subresource}` : g.resource, namespace: g.namespace, outcome: g.outcome, count: g.count, lastSeen: iso(g.lastSeen) }));
    if (suggestion) a.suggestion = suggestion;
  }
  const auditWindow = audit.length > 0 ? { since: iso(Math.min(...audit.map((g) => g.firstSeen))), until: iso(Math.max(...audit.map((g) => g.lastSeen))) } : null;

  // RBAC.
  const bindings = resolveBindings(current);
  const haveSaList = saObjects.length > 0;
  const haveRoles = current.some((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
  const bindingReports: BindingReport[] = [];
  const risksOf = new Map<string, Risk[]>();
  const findings: Finding[] = [];
  const saSubject = (namespace: string, name: string) => ({ kind: 'ServiceAccount' as const, namespace, name });
  for (const b of bindings) {
    const risks = b.system ? [] : bindingRisks(b);
    risksOf.set(b.id, risks);
    bindingReports.push({ binding: b.id, role: `${b.roleRef.kind}/${b.roleRef.name}`, subjects: b.subjects.map(subjectText), system: b.system, risks });
    if (haveRoles && b.valid && !b.roleFound && !b.system) {
      for (const s of b.subjects.filter((x) => x.kind === 'ServiceAccount')) {
        findings.push({ id: 'RBAC_ROLE_MISSING', severity: 'low', subject: saSubject(s.namespace!, s.name), message: `${b.id} binds ${b.roleRef.kind} ${b.roleRef.name}, which does not exist`, evidence: { binding: b.id, roleRef: b.roleRef } });
      }
    }
    for (const s of b.subjects) {
      if (s.kind !== 'ServiceAccount') continue;
      const ns = s.namespace!;
      const a = account(ns, s.name);
      if (!b.system && s.name === 'default') {
        findings.push({ id: 'DEFAULT_SA_BOUND', severity: 'medium', subject: saSubject(ns, s.name), message: `${b.id} grants ${b.roleRef.kind} ${b.roleRef.name} to the default service account of ${ns}: every pod there that names no account gets it`, evidence: { binding: b.id, roleRef: b.roleRef } });
      }
      if (haveSaList && !a.exists && !b.system) {
        findings.push({ id: 'RBAC_SUBJECT_MISSING', severity: 'medium', subject: saSubject(ns, s.name), message: `${b.id} binds ${b.roleRef.kind} ${b.roleRef.name} to service account ${ns}/${s.name}, which does not exist: whoever creates it gets the grant`, evidence: { binding: b.id, roleRef: b.roleRef } });
      }
    }
  }

  // Per account: grants (direct, and through the service-account groups), their risks and use.
  const window = auditWindow ? `${auditWindow.since} .. ${auditWindow.until}` : '';
  for (const a of accounts.values()) {
    const mine = bindings.filter((b) => b.valid && b.subjects.some((s) => subjectIsServiceAccount(s, a.namespace, a.name)));
    const used = (auditUsers.get(`system:serviceaccount:${a.namespace}:${a.name}`) ?? []).filter((g) => g.outcome === 'allowed');
    for (const b of mine) {
      const usedRequests = used.filter((g) => bindingAllows(b, { verb: g.verb, apiGroup: g.apiGroup, resource: g.resource, subresource: g.subresource, namespace: g.namespace, ...(g.nonResourceURL ? { nonResourceURL: g.nonResourceURL } : {}) }))
        .reduce((s, g) => s + g.count, 0);
      const risks = (risksOf.get(b.id) ?? []).map((r) => r.id);
      a.grants.push({ binding: b.id, role: `${b.roleRef.kind}/${b.roleRef.name}`, scope: b.kind === 'ClusterRoleBinding' ? 'cluster' : b.namespace!, risks, ...(auditWindow ? { usedRequests } : {}) });
      for (const r of risksOf.get(b.id) ?? []) {
        if (b.subjects.some((s) => s.kind === 'ServiceAccount' && s.namespace === a.namespace && s.name === a.name)) {
          findings.push({ id: r.id, severity: r.severity, subject: saSubject(a.namespace, a.name), message: r.message, evidence: { binding: b.id, roleRef: b.roleRef, subjects: b.subjects.map(subjectText) } });
        }
      }
      if (auditWindow && usedRequests === 0 && !b.system) {
        findings.push({ id: 'RBAC_UNUSED_GRANT', severity: 'low', subject: saSubject(a.namespace, a.name), message: `${a.namespace}/${a.name} never used what ${b.id} grants (${b.roleRef.kind} ${b.roleRef.name}) in the audit logs (${window})`, evidence: { binding: b.id, roleRef: b.roleRef, auditWindow } });
      }
    }
    const risky = new Set(mine.filter((b) => !b.system).flatMap((b) => (risksOf.get(b.id) ?? []).map((r) => r.id)));
    const admin = [...risky].filter((r) => (ADMIN_RISKS as readonly string[]).includes(r));
    const other = [...risky].filter((r) => r !== 'RBAC_WILDCARD' && !admin.includes(r)).sort();
    for (const w of a.workloads.filter((x) => x.tokenMounted)) {
      if (admin.length > 0) findings.push({ id: 'WORKLOAD_ADMIN_RBAC', severity: 'critical', subject: w.endpoint, message: `${w.id} mounts the token of ${a.namespace}/${a.name}, which holds administrative grants (${admin.join(', ')}): a compromise of the workload is a compromise of what it administers`, evidence: { serviceAccount: `${a.namespace}/${a.name}`, risks: admin, bindings: mine.map((b) => b.id) } });
      else if (other.length > 0) findings.push({ id: 'WORKLOAD_RISKY_RBAC', severity: 'high', subject: w.endpoint, message: `${w.id} mounts the token of ${a.namespace}/${a.name}, which can ${other.join(', ')}: a path to taking over the cluster from the workload`, evidence: { serviceAccount: `${a.namespace}/${a.name}`, risks: other, bindings: mine.map((b) => b.id) } });
    }

    // Tokens and workloads.
    const sub = saSubject(a.namespace, a.name);
    if (a.exists && a.workloads.length === 0 && a.name !== 'default' && !a.lastApiUse) {
      findings.push({ id: 'SERVICE_ACCOUNT_UNUSED', severity: mine.length > 0 ? 'medium' : 'low', subject: sub, message: `no workload runs as ${a.namespace}/${a.name}${auditWindow ? ' and the audit logs never show it' : ''}${mine.length > 0 ? `, yet ${mine.length} binding${mine.length === 1 ? '' : 's'} grant it permissions` : ''}`, evidence: { bindings: mine.map((b) => b.id) } });
    }
    if (a.name === 'default' && a.workloads.length > 0) {
      findings.push({ id: 'DEFAULT_SERVICE_ACCOUNT', severity: 'low', subject: sub, message: `${a.workloads.length} workload${a.workloads.length === 1 ? '' : 's'} in ${a.namespace} run as the default service account: they cannot be told apart by identity, and any grant to it reaches them all`, evidence: { workloads: a.workloads.map((w) => w.id) } });
    }
    const apiUsed = !!a.lastApiUse;
    for (const w of a.workloads) {
      if (!w.tokenMounted || w.talksToApiServer || apiUsed) continue;
      findings.push({
        id: 'AUTOMOUNT_TOKEN_UNUSED', severity: w.observed ? 'medium' : 'low', subject: w.endpoint,
        message: `${w.id} gets a token for ${a.namespace}/${a.name} (automountServiceAccountToken ${w.tokenMountedBy === 'default' ? 'not set: defaults to true' : `true in the ${w.tokenMountedBy}`}) but was never seen calling the API server${w.observed ? '' : ' (nor any traffic at all: judge with care)'}; set automountServiceAccountToken: false`,
        evidence: { serviceAccount: `${a.namespace}/${a.name}`, setBy: w.tokenMountedBy, observed: w.observed, auditLogs: !!auditWindow },
      });
    }
  }

  // Legacy token Secrets (metadata only): `kubernetes.io/legacy-token-last-used` is a date the API server keeps.
  const staleDays = opts.legacyTokenStaleDays ?? 90;
  for (const s of current.filter((o) => o.kind === 'Secret' && (o as any).type === 'kubernetes.io/service-account-token')) {
    const ns = s.metadata.namespace ?? 'default';
    const saName = s.metadata.annotations?.['kubernetes.io/service-account.name'] ?? '';
    const last = s.metadata.labels?.['kubernetes.io/legacy-token-last-used'] ?? null;
    const a = account(ns, saName || '(unknown)');
    a.legacyTokens.push({ secret: s.metadata.name, lastUsed: last });
    const lastT = last ? Date.parse(last) / 1000 : undefined;
    const stale = lastT === undefined || opts.now - lastT > staleDays * 86400;
    findings.push({
      id: 'LEGACY_TOKEN_SECRET', severity: stale ? 'medium' : 'low', subject: saSubject(ns, a.name),
      message: `legacy long-lived token Secret ${ns}/${s.metadata.name} for ${ns}/${a.name}: ${last ? `last used ${last}` : 'no use recorded'}${stale ? ` (over ${staleDays} days ago or never: delete it)` : ' (in use: move its user to a bound token)'}`,
      evidence: { secret: s.metadata.name, lastUsed: last, invalidSince: s.metadata.labels?.['kubernetes.io/legacy-token-invalid-since'] ?? null },
    });
  }

  findings.push(...sharedAccounts([...accounts.values()], edges));
  const sorted = findings.sort(compareFindings);
  for (const a of accounts.values()) {
    const ids = new Set(a.workloads.map((w) => w.id));
    a.findings = sorted.filter((f) => (f.subject.kind === 'ServiceAccount' && f.subject.namespace === a.namespace && f.subject.name === a.name)
      || (f.subject.kind !== 'ServiceAccount' && ids.has(endpointId(f.subject))));
  }
  return {
    accounts: [...accounts.values()].sort((x, y) => x.namespace.localeCompare(y.namespace) || x.name.localeCompare(y.name)),
    bindings: bindingReports.filter((b) => !b.system), users, auditWindow, findings: sorted,
  };
}

/**
 * Accounts shared by workloads with different observed needs: identity-based (mTLS) policy names the account, so a
 * grant to one of them is a grant to all.
 */
export function sharedAccounts(accounts: readonly { namespace: string; name: string; workloads: readonly { id: string }[] }[], edges: readonly Edge[]): Finding[] {
  const needs = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.verdict !== 'allowed') continue;
    const conn = `${e.protocol}/${e.port}`;
    const add = (id: string, need: string) => (needs.get(id) ?? needs.set(id, new Set()).get(id)!).add(need);
    add(endpointId(e.src), `to ${endpointId(e.dst)} ${conn}`);
    add(endpointId(e.dst), `from ${endpointId(e.src)} ${conn}`);
  }
  const out: Finding[] = [];
  for (const a of accounts) {
    if (a.workloads.length < 2) continue;
    const signature = (id: string) => [...(needs.get(id) ?? [])].sort().join('\n');
    const distinct = new Set(a.workloads.map((w) => signature(w.id)));
    if (distinct.size < 2) continue;
    out.push({
      id: 'SHARED_SERVICE_ACCOUNT', severity: 'medium', subject: { kind: 'ServiceAccount', namespace: a.namespace, name: a.name },
      message: `${a.workloads.length} workloads with different observed peers run as ${a.namespace}/${a.name}: identity-based (mTLS) policy cannot tell them apart, so each gets what any of them needs; give each its own service account`,
      evidence: { workloads: a.workloads.map((w) => ({ id: w.id, peers: [...(needs.get(w.id) ?? [])].sort().slice(0, 20) })) },
    });
  }
  return out;
}

function subjectKey(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject);
}

function compareFindings(a: Finding, b: Finding): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id) || subjectKey(a).localeCompare(subjectKey(b))
    || a.message.localeCompare(b.message);
}

export type { Binding };
