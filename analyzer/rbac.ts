/**
 * Kubernetes RBAC as data: which requests a rule allows, what each binding grants to whom, which grants are risky, and
 * the smallest Roles / ClusterRoles that cover exactly a set of observed requests (what audit2rbac does). Pure.
 */
import type { AuditAggregate } from '../model/audit.js';
import { serviceAccountOfUser } from '../model/audit.js';
import type { K8sObject, Severity } from '../model/index.js';

export interface PolicyRule { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }
export interface RbacSubject { kind: string; name: string; namespace?: string }

/** One API request, as RBAC sees it. `namespace` '' = cluster-scoped or across all namespaces. */
export interface ApiRequest { verb: string; apiGroup: string; resource: string; subresource?: string; namespace: string; nonResourceURL?: string }

export interface Binding {
  /** `ns/name[RoleBinding]` or `name[ClusterRoleBinding]`. */
  id: string;
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  namespace?: string;
  roleRef: { kind: string; name: string };
  subjects: RbacSubject[];
  /** The rules of the referenced role; empty when it is missing or the reference is invalid. */
  rules: PolicyRule[];
  roleFound: boolean;
  /** A ClusterRoleBinding may only reference a ClusterRole; a RoleBinding a Role of its namespace or a ClusterRole. */
  valid: boolean;
  /** Kubernetes' own bootstrap bindings (`kubernetes.io/bootstrapping: rbac-defaults`, `system:` names). */
  system: boolean;
}

const matchesWord = (list: readonly string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

function resourceMatches(ruleResources: readonly string[] | undefined, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (ruleResources ?? []).some((r) => r === '*' || r === combined
    || (subresource !== undefined && subresource !== '' && (r === `*/${subresource}` || r === `${resource}/*`)));
}

function urlMatches(urls: readonly string[] | undefined, path: string): boolean {
  return (urls ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

/**
 * Kubernetes' rule matching (`resource/*` is accepted as "every subresource", as kubescape does: conservative for
 * risk). `resourceNames` are not narrowed on: a grant limited to some names is reported as the grant it partly is.
 */
export function ruleAllows(rule: PolicyRule, req: ApiRequest): boolean {
  if (!matchesWord(rule.verbs, req.verb)) return false;
  if (req.nonResourceURL) return urlMatches(rule.nonResourceURLs, req.nonResourceURL);
  return matchesWord(rule.apiGroups, req.apiGroup) && resourceMatches(rule.resources, req.resource, req.subresource);
}

/** Whether the binding grants the request: a RoleBinding only inside its namespace, and never non-resource URLs. */
export function bindingAllows(b: Binding, req: ApiRequest): boolean {
  if (!b.valid) return false;
  if (b.kind === 'RoleBinding' && (req.nonResourceURL || req.namespace !== b.namespace)) return false;
  return b.rules.some((r) => ruleAllows(r, req));
}

export function isSystemObject(o: K8sObject): boolean {
  return o.metadata.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults' || o.metadata.name.startsWith('system:');
}

export function bindingId(kind: string, name: string, namespace?: string): string {
  return kind === 'RoleBinding' ? `${namespace ?? ''}/${name}[RoleBinding]` : `${name}[${kind}]`;
}

/** Every RoleBinding / ClusterRoleBinding with the rules its role reference resolves to. */
export function resolveBindings(objects: readonly K8sObject[]): Binding[] {
  const roles = new Map<string, K8sObject>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole//${o.metadata.name}`, o);
    if (o.kind === 'Role') roles.set(`Role/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`, o);
  }
  const out: Binding[] = [];
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const kind = o.kind;
    const namespace = kind === 'RoleBinding' ? o.metadata.namespace ?? 'default' : undefined;
    const ref = (o as any).roleRef ?? {};
    const roleRef = { kind: String(ref.kind ?? ''), name: String(ref.name ?? '') };
    const valid = kind === 'ClusterRoleBinding' ? roleRef.kind === 'ClusterRole' : roleRef.kind === 'ClusterRole' || roleRef.kind === 'Role';
    const role = roles.get(roleRef.kind === 'Role' ? `Role/${namespace}/${roleRef.name}` : `ClusterRole//${roleRef.name}`);
    const subjects: RbacSubject[] = (((o as any).subjects ?? []) as any[]).filter((s) => s && typeof s.name === 'string')
      .map((s) => ({ kind: String(s.kind), name: s.name, ...(s.kind === 'ServiceAccount' ? { namespace: s.namespace ?? namespace ?? 'default' } : {}) }));
    out.push({
      id: bindingId(kind, o.metadata.name, namespace), kind, name: o.metadata.name, ...(namespace ? { namespace } : {}), roleRef, subjects,
      rules: valid && role ? (((role as any).rules ?? []) as PolicyRule[]) : [], roleFound: !!role, valid, system: isSystemObject(o),
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export interface RiskKind { id: string; severity: Severity; what: string; requests: ApiRequest[] }

const req = (verb: string, apiGroup: string, resource: string, subresource = ''): ApiRequest => ({ verb, apiGroup, resource, subresource, namespace: 'x' });
const each = (verbs: string[], group: string, resources: string[], sub = '') => verbs.flatMap((v) => resources.map((r) => req(v, group, r, sub)));

/** Risky grants, checked by asking whether the binding allows representative requests. */
export const RISKS: readonly RiskKind[] = [
  { id: 'RBAC_SECRETS_READ', severity: 'high', what: 'read Secrets (get, list or watch)', requests: each(['get', 'list', 'watch'], '', ['secrets']) },
  { id: 'RBAC_ESCALATE_BIND', severity: 'critical', what: 'escalate or bind roles (grant themselves more than they hold)', requests: each(['escalate', 'bind'], 'rbac.authorization.k8s.io', ['roles', 'clusterroles']) },
  { id: 'RBAC_IMPERSONATE', severity: 'critical', what: 'impersonate users, groups or service accounts', requests: [...each(['impersonate'], '', ['users', 'groups', 'serviceaccounts']), ...each(['impersonate'], 'authentication.k8s.io', ['uids', 'userextras'])] },
  { id: 'RBAC_POD_EXEC', severity: 'high', what: 'exec or attach into pods', requests: [...each(['create', 'get'], '', ['pods'], 'exec'), ...each(['create', 'get'], '', ['pods'], 'attach')] },
  { id: 'RBAC_POD_PORTFORWARD', severity: 'medium', what: 'port-forward to pods', requests: each(['create', 'get'], '', ['pods'], 'portforward') },
  { id: 'RBAC_CREATE_WORKLOADS', severity: 'high', what: 'create pods or workloads (run anything as any service account of the namespace)', requests: [
    ...each(['create'], '', ['pods', 'replicationcontrollers']), ...each(['create'], 'apps', ['deployments', 'daemonsets', 'statefulsets', 'replicasets']),
    ...each(['create'], 'batch', ['jobs', 'cronjobs'])] },
  { id: 'RBAC_NODE_PROXY', severity: 'high', what: 'use nodes/proxy (the kubelet API, bypassing admission and audit)', requests: each(['get', 'create', 'update', 'patch', 'delete'], '', ['nodes'], 'proxy') },
  { id: 'RBAC_SA_TOKEN_CREATE', severity: 'high', what: 'create service-account tokens', requests: each(['create'], '', ['serviceaccounts'], 'token') },
  { id: 'RBAC_ADMISSION_WEBHOOKS', severity: 'high', what: 'change admission webhooks', requests: each(['create', 'update', 'patch', 'delete'], 'admissionregistration.k8s.io', ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) },
];

export const ADMIN_RISKS = ['RBAC_CLUSTER_ADMIN', 'RBAC_ADMIN_GRANT'] as const;
export const RBAC_RISK_IDS = [...ADMIN_RISKS, 'RBAC_WILDCARD', ...RISKS.map((r) => r.id)];

export interface Risk { id: string; severity: Severity; message: string }

/** The risky grants of one binding. */
export function bindingRisks(b: Binding): Risk[] {
  if (!b.valid || b.rules.length === 0) return [];
  const out: Risk[] = [];
  const scope = b.kind === 'ClusterRoleBinding' ? 'in every namespace' : `in namespace ${b.namespace}`;
  const all = (l?: string[]) => (l ?? []).includes('*');
  if (b.kind === 'ClusterRoleBinding' && b.rules.some((r) => all(r.apiGroups) && all(r.resources) && all(r.verbs))) {
    out.push({ id: 'RBAC_CLUSTER_ADMIN', severity: 'critical', message: `${b.id} grants cluster-admin (every verb on every resource of every API group) via ${b.roleRef.kind} ${b.roleRef.name}` });
  } else if (b.rules.some((r) => all(r.resources) && all(r.verbs))) {
    out.push({ id: 'RBAC_ADMIN_GRANT', severity: 'high', message: `${b.id} grants every verb on every resource ${scope} via ${b.roleRef.kind} ${b.roleRef.name}` });
  } else if (b.rules.some((r) => all(r.verbs) || all(r.resources) || all(r.apiGroups) || all(r.nonResourceURLs))) {
    out.push({ id: 'RBAC_WILDCARD', severity: 'medium', message: `${b.id} grants wildcards (verbs, resources or API groups) ${scope} via ${b.roleRef.kind} ${b.roleRef.name}` });
  }
  const probe = (r: ApiRequest) => bindingAllows(b, { ...r, namespace: b.namespace ?? r.namespace });
  for (const k of RISKS) {
    if (k.requests.some(probe)) out.push({ id: k.id, severity: k.severity, message: `${b.id} can ${k.what} ${scope} via ${b.roleRef.kind} ${b.roleRef.name}` });
  }
  return out;
}

export const subjectText = (s: RbacSubject) => `${s.kind}:${s.namespace ? `${s.namespace}/` : ''}${s.name}`;

/** Whether a subject of a binding is this service account (directly, or through its groups). */
export function subjectIsServiceAccount(s: RbacSubject, namespace: string, name: string): boolean {
  if (s.kind === 'ServiceAccount') return s.namespace === namespace && s.name === name;
  if (s.kind === 'Group') return s.name === 'system:serviceaccounts' || s.name === `system:serviceaccounts:${namespace}`;
  if (s.kind === 'User') return s.name === `system:serviceaccount:${namespace}:${name}`;
  return false;
}

// ---------- suggestions (audit2rbac) ----------

export interface SuggestedRole {
  kind: 'Role' | 'ClusterRole';
  name: string;
  namespace?: string;
  rules: PolicyRule[];
}

export interface Suggestion {
  user: string;
  /** The binding subject: a ServiceAccount for `system:serviceaccount:…` users, else a User. */
  subject: RbacSubject;
  roles: SuggestedRole[];
  /** Requests (allowed ones) the roles cover, counted. */
  requests: number;
}

/** Role and binding names for a user: RBAC names allow `:`, and this keeps them readable. */
export const suggestionName = (user: string) => `segmap:${user}`.replace(/[/%]/g, '-').slice(0, 253);

/**
 * The smallest Roles (per namespace) and ClusterRole (cluster-scoped and all-namespace requests, non-resource URLs)
 * that allow exactly what the user did successfully: one rule per API group and set of verbs, resources sorted.
 * Namespaced uses the ClusterRole already grants are left out.
 */
export function suggestRoles(user: string, aggs: readonly AuditAggregate[]): Suggestion | undefined {
  const used = aggs.filter((a) => a.user === user && a.outcome === 'allowed');
  if (used.length === 0) return undefined;
  const cluster: ApiRequest[] = [];
  const byNs = new Map<string, ApiRequest[]>();
  for (const a of used) {
    const r: ApiRequest = { verb: a.verb, apiGroup: a.apiGroup, resource: a.resource, subresource: a.subresource, namespace: a.namespace, ...(a.nonResourceURL ? { nonResourceURL: a.nonResourceURL } : {}) };
    if (!a.resource || !a.namespace) cluster.push(r);
    else (byNs.get(a.namespace) ?? byNs.set(a.namespace, []).get(a.namespace)!).push(r);
  }
  const name = suggestionName(user);
  const roles: SuggestedRole[] = [];
  const clusterRules = compactRules(cluster);
  if (clusterRules.length > 0) roles.push({ kind: 'ClusterRole', name, rules: clusterRules });
  for (const [ns, reqs] of [...byNs].sort(([a], [b]) => a.localeCompare(b))) {
    const needed = reqs.filter((r) => !clusterRules.some((cr) => !cr.nonResourceURLs && ruleAllows(cr, { ...r, namespace: '' })));
    const rules = compactRules(needed);
    if (rules.length > 0) roles.push({ kind: 'Role', name, namespace: ns, rules });
  }
  const sa = serviceAccountOfUser(user);
  const subject: RbacSubject = sa ? { kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace } : { kind: 'User', name: user };
  return { user, subject, roles, requests: used.reduce((s, a) => s + a.count, 0) };
}

function compactRules(reqs: readonly ApiRequest[]): PolicyRule[] {
  // (group, resource) → verbs; then resources with the same verbs in a group share one rule.
  const verbsOf = new Map<string, Set<string>>();
  const urlVerbs = new Map<string, Set<string>>();
  for (const r of reqs) {
    if (r.nonResourceURL) (urlVerbs.get(r.nonResourceURL) ?? urlVerbs.set(r.nonResourceURL, new Set()).get(r.nonResourceURL)!).add(r.verb);
    else {
      const k = `${r.apiGroup}\u0000${r.subresource ? `${r.resource}/${r.subresource}` : r.resource}`;
      (verbsOf.get(k) ?? verbsOf.set(k, new Set()).get(k)!).add(r.verb);
    }
  }
  const grouped = new Map<string, { apiGroup: string; verbs: string[]; resources: string[] }>();
  for (const [k, verbs] of verbsOf) {
    const [apiGroup, resource] = k.split('\u0000');
    const vs = [...verbs].sort();
    const gk = `${apiGroup}\u0000${vs.join(',')}`;
    const g = grouped.get(gk) ?? grouped.set(gk, { apiGroup, verbs: vs, resources: [] }).get(gk)!;
    g.resources.push(resource);
  }
  const rules: PolicyRule[] = [...grouped.values()]
    .map((g) => ({ apiGroups: [g.apiGroup], resources: g.resources.sort(), verbs: g.verbs }))
    .sort((a, b) => a.apiGroups[0].localeCompare(b.apiGroups[0]) || a.resources[0].localeCompare(b.resources[0]) || a.verbs.join().localeCompare(b.verbs.join()));
  const byVerbs = new Map<string, string[]>();
  for (const [url, verbs] of urlVerbs) {
    const k = [...verbs].sort().join(',');
    (byVerbs.get(k) ?? byVerbs.set(k, []).get(k)!).push(url);
  }
  for (const [verbs, urls] of [...byVerbs].sort(([a], [b]) => a.localeCompare(b))) rules.push({ nonResourceURLs: urls.sort(), verbs: verbs.split(',') });
  return rules;
}
