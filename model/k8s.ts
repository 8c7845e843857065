/** Narrow shapes of the Kubernetes objects segmap reads. Only the fields we use are typed. */

export interface OwnerReference { apiVersion?: string; kind: string; name: string; uid?: string; controller?: boolean }

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [key: string]: unknown;
}

export interface LabelSelectorRequirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] }

export interface ContainerPort { name?: string; containerPort: number; protocol?: string; hostPort?: number }

/**
 * Kinds `segmap ingest` stores from cluster dumps. A Secret is stored as metadata and type only: the readers cut its
 * data before anything else sees it (the service-account audit needs legacy token Secrets' labels, never their data).
 */
export const STORED_KINDS = [
  'Namespace', 'Node', 'Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob',
  'Service', 'EndpointSlice', 'Endpoints', 'ServiceAccount', 'NetworkPolicy', 'ReplicationController',
  'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy',
  'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'Secret',
] as const;
export type StoredKind = (typeof STORED_KINDS)[number];

/** Stored kinds that live outside namespaces; every other stored kind is namespaced. */
export const CLUSTER_SCOPED_KINDS: readonly string[] = ['Namespace', 'Node', 'ClusterRole', 'ClusterRoleBinding', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'];

/** Labels set by controllers per revision or per run: never part of a workload's stable identity. */
export const UNSTABLE_LABELS: readonly string[] = [
  'pod-template-hash', 'controller-revision-hash', 'pod-template-generation', 'statefulset.kubernetes.io/pod-name',
  'job-name', 'batch.kubernetes.io/job-name', 'controller-uid', 'batch.kubernetes.io/controller-uid',
  'apps.kubernetes.io/pod-index', 'batch.kubernetes.io/job-completion-index',
];

export function stableLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (!UNSTABLE_LABELS.includes(k)) out[k] = v;
  return out;
}

/** Parse an RFC 3339 timestamp to epoch seconds; undefined when absent or invalid. */
export function k8sTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function selectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In': if (!has || !(r.values ?? []).includes(l[r.key])) return false; break;
      case 'NotIn': if (has && (r.values ?? []).includes(l[r.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Cluster objects as seen at one moment (epoch seconds). */
export interface ClusterSnapshot {
  takenAt: number;
  objects: K8sObject[];
}
