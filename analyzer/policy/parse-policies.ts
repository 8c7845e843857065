import type { K8sObject, LabelSelector } from '../../model/index.js';
import { isProtocol, type Protocol } from './connections.js';
import { ipBlockSet, isIpv6, parseCidr } from './ipv4.js';
import { IntervalSet } from './intervals.js';
import type {
  AdminPeerSelector, AdminPolicyDef, AdminPort, AdminRule, NetworkPolicyDef, NpPeerSelector, NpPort, NpRule, PolicySet,
} from './types.js';

export const DEFAULT_NAMESPACE = 'default';

/** Invalid policies (np-guard refuses the input) vs. parts it ignores with a warning. */
export interface Problems { errors: string[]; warnings: string[] }

/** Turns manifests into the evaluator's policy shapes. Problems are returned as readable messages, never thrown. */
export function parsePolicies(objects: readonly K8sObject[]): { policies: PolicySet } & Problems {
  const pr: Problems = { errors: [], warnings: [] };
  const policies: PolicySet = { networkPolicies: [], adminPolicies: [] };
  const seen = new Set<string>();
  const once = (key: string, what: string) => {
    if (seen.has(key)) pr.errors.push(`${what} is defined more than once`);
    seen.add(key);
  };
  for (const o of objects) {
    if (o.kind === 'NetworkPolicy') {
      const np = parseNetworkPolicy(o, pr);
      once(`NP ${np.namespace}/${np.name}`, `NetworkPolicy ${np.namespace}/${np.name}`);
      policies.networkPolicies.push(np);
    } else if (o.kind === 'AdminNetworkPolicy') {
      const anp = parseAdminPolicy(o, pr);
      once(`ANP ${anp.name}`, `AdminNetworkPolicy ${anp.name}`);
      const same = policies.adminPolicies.find((a) => a.priority === anp.priority);
      if (same) pr.errors.push(`AdminNetworkPolicies ${same.name} and ${anp.name} have the same priority ${anp.priority}`);
      policies.adminPolicies.push(anp);
    } else if (o.kind === 'BaselineAdminNetworkPolicy') {
      if (o.metadata.name !== 'default') pr.errors.push(`BaselineAdminNetworkPolicy ${o.metadata.name}: its name must be "default"`);
      if (policies.baseline) pr.errors.push('only one BaselineAdminNetworkPolicy may exist');
      else policies.baseline = parseAdminPolicy(o, pr);
    }
  }
  // Stable sort by priority (lower number wins).
  policies.adminPolicies.sort((a, b) => a.priority - b.priority);
  return { policies, ...pr };
}

function selector(v: unknown): LabelSelector | undefined {
  if (v === null || v === undefined || typeof v !== 'object') return undefined;
  return v as LabelSelector;
}

function protocolOf(v: unknown, where: string, pr: Problems): Protocol {
  if (v === undefined || v === null || v === '') return 'TCP';
  const p = String(v).toUpperCase();
  if (isProtocol(p)) return p;
  pr.errors.push(`${where}: unsupported protocol ${String(v)}`);
  return 'TCP';
}

export function parseNetworkPolicy(o: K8sObject, pr: Problems): NetworkPolicyDef {
  const spec = (o.spec ?? {}) as Record<string, any>;
  const namespace = o.metadata.namespace || DEFAULT_NAMESPACE;
  const where = `NetworkPolicy ${namespace}/${o.metadata.name}`;
  const ingress = (Array.isArray(spec.ingress) ? spec.ingress : []).map((r: any) => npRule(r?.from, r?.ports, where, pr));
  const egress = (Array.isArray(spec.egress) ? spec.egress : []).map((r: any) => npRule(r?.to, r?.ports, where, pr));
  const types: string[] | undefined = Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0 ? spec.policyTypes : undefined;
  return {
    kind: 'NetworkPolicy',
    namespace,
    name: o.metadata.name,
    podSelector: checkedSelector(spec.podSelector, where, pr) ?? {},
    // Without policyTypes a policy always isolates ingress, and isolates egress only when it has egress rules.
    affects: {
      ingress: types ? types.includes('Ingress') : true,
      egress: types ? types.includes('Egress') : egress.length > 0,
    },
    ingress,
    egress,
  };
}

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** A selector with an unknown operator, or In/NotIn without values, is invalid (the API server would reject it). */
function checkedSelector(v: unknown, where: string, pr: Problems): LabelSelector | undefined {
  const sel = selector(v);
  for (const r of sel?.matchExpressions ?? []) {
    const needsValues = r.operator === 'In' || r.operator === 'NotIn';
    if (!OPERATORS.has(r.operator) || (needsValues && !(r.values ?? []).length) || (!needsValues && (r.values ?? []).length)) {
      pr.errors.push(`${where}: invalid selector requirement ${JSON.stringify(r)}`);
    }
  }
  return sel;
}

function npRule(peers: unknown, ports: unknown, where: string, pr: Problems): NpRule {
  return {
    peers: (Array.isArray(peers) ? peers : []).map((p: any) => npPeer(p, where, pr)),
    ports: (Array.isArray(ports) ? ports : []).map((p: any) => npPort(p, where, pr)),
  };
}

function npPeer(p: any, where: string, pr: Problems): NpPeerSelector {
  const out: NpPeerSelector = {};
  if (p?.podSelector) out.podSelector = checkedSelector(p.podSelector, where, pr);
  if (p?.namespaceSelector) out.namespaceSelector = checkedSelector(p.namespaceSelector, where, pr);
  if (p?.ipBlock) {
    if (out.podSelector || out.namespaceSelector) pr.errors.push(`${where}: a rule peer may not combine ipBlock with selectors`);
    const cidr = String(p.ipBlock.cidr ?? '');
    const except: string[] = Array.isArray(p.ipBlock.except) ? p.ipBlock.except.map(String) : [];
    const set = isIpv6(cidr) ? IntervalSet.EMPTY : ipBlockSet(cidr, except.filter((e) => !isIpv6(e)));
    if (!set || except.some((e) => !isIpv6(e) && !parseCidr(e))) pr.errors.push(`${where}: invalid ipBlock ${JSON.stringify(p.ipBlock)}`);
    out.ipBlock = set ?? IntervalSet.EMPTY;
  }
  if (!out.podSelector && !out.namespaceSelector && !out.ipBlock) pr.errors.push(`${where}: a rule peer must set podSelector, namespaceSelector or ipBlock`);
  return out;
}

function npPort(p: any, where: string, pr: Problems): NpPort {
  const out: NpPort = { protocol: protocolOf(p?.protocol, where, pr) };
  if (p?.port !== undefined && p?.port !== null) {
    const n = typeof p.port === 'number' ? p.port : /^\d+$/.test(String(p.port)) ? Number(p.port) : String(p.port);
    out.port = n;
    if (typeof n === 'number' && typeof p.endPort === 'number') out.endPort = p.endPort;
  }
  return out;
}

export function parseAdminPolicy(o: K8sObject, pr: Problems): AdminPolicyDef {
  const spec = (o.spec ?? {}) as Record<string, any>;
  const kind = o.kind as AdminPolicyDef['kind'];
  const where = `${kind} ${o.metadata.name}`;
  const subj = spec.subject ?? {};
  if (!subj.pods === !subj.namespaces) pr.errors.push(`${where}: subject must set exactly one of namespaces or pods`);
  if (kind === 'AdminNetworkPolicy' && !(typeof spec.priority === 'number' && spec.priority >= 0 && spec.priority <= 1000)) {
    pr.errors.push(`${where}: priority must be a number from 0 to 1000`);
  }
  const subject: AdminPolicyDef['subject'] = subj.pods
    ? { pods: { namespaceSelector: selector(subj.pods.namespaceSelector) ?? {}, podSelector: selector(subj.pods.podSelector) ?? {} } }
    : { namespaces: selector(subj.namespaces) ?? {} };
  return {
    kind,
    name: o.metadata.name,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    subject,
    ingress: (Array.isArray(spec.ingress) ? spec.ingress : []).map((r: any) => adminRule(r, r?.from, where, kind, pr)),
    egress: (Array.isArray(spec.egress) ? spec.egress : []).map((r: any) => adminRule(r, r?.to, where, kind, pr)),
  };
}

function adminRule(r: any, peers: unknown, where: string, kind: AdminPolicyDef['kind'], pr: Problems): AdminRule {
  const action = String(r?.action ?? '');
  const actions = kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  if (!actions.includes(action)) pr.errors.push(`${where}: rule ${r?.name ?? ''} has an invalid action ${JSON.stringify(action)}`);
  if (!Array.isArray(peers) || peers.length === 0) pr.errors.push(`${where}: rule ${r?.name ?? ''} must list at least one peer`);
  return {
    name: String(r?.name ?? ''),
    action: action === 'Deny' || action === 'Pass' ? action : 'Allow',
    peers: (Array.isArray(peers) ? peers : []).flatMap((p: any) => adminPeer(p, where, pr)),
    ports: Array.isArray(r?.ports) ? r.ports.flatMap((p: any) => adminPort(p, where, pr)) : undefined,
  };
}

function adminPeer(p: any, where: string, pr: Problems): AdminPeerSelector[] {
  const fields = ['namespaces', 'pods', 'nodes', 'networks'].filter((f) => p?.[f] !== undefined && p?.[f] !== null);
  if (fields.length !== 1) {
    pr.errors.push(`${where}: a rule peer must set exactly one of namespaces, pods, nodes or networks`);
    return [];
  }
  if (p?.namespaces) return [{ namespaces: selector(p.namespaces) ?? {} }];
  if (p?.pods) return [{ pods: { namespaceSelector: selector(p.pods.namespaceSelector) ?? {}, podSelector: selector(p.pods.podSelector) ?? {} } }];
  if (p?.nodes) return [{ nodes: selector(p.nodes) ?? {} }];
  if (Array.isArray(p?.networks)) {
    // IPv6 networks cannot be represented in the IPv4 external space: np-guard ignores them with a warning.
    const sets = p.networks.map(String).filter((c: string) => {
      if (isIpv6(c)) pr.warnings.push(`${where}: IPv6 addresses are not supported (${c})`);
      return !isIpv6(c);
    }).map((c: string) => {
      const set = parseCidr(c);
      if (!set) pr.errors.push(`${where}: invalid network ${c}`);
      return set ?? IntervalSet.EMPTY;
    });
    return [{ networks: sets.reduce((a: IntervalSet, b: IntervalSet) => a.union(b), IntervalSet.EMPTY) }];
  }
  return [];
}

function adminPort(p: any, where: string, pr: Problems): AdminPort[] {
  if (['portNumber', 'namedPort', 'portRange'].filter((f) => p?.[f] !== undefined).length !== 1) {
    pr.errors.push(`${where}: a port must set exactly one of portNumber, namedPort or portRange`);
    return [];
  }
  if (p?.portNumber) return [{ protocol: protocolOf(p.portNumber.protocol, where, pr), port: Number(p.portNumber.port) }];
  if (p?.namedPort !== undefined) return [{ namedPort: String(p.namedPort) }];
  if (p?.portRange) {
    return [{ protocol: protocolOf(p.portRange.protocol, where, pr), start: Number(p.portRange.start), end: Number(p.portRange.end) }];
  }
  return [];
}
