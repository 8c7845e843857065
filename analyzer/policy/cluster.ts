import type { ContainerPort, K8sObject } from '../../model/index.js';
import { DEFAULT_NAMESPACE, parsePolicies } from './parse-policies.js';
import type { PodPeer, PolicySet } from './types.js';

/** A pod standing for its owner workload, with the np-guard peer spelling `ns/name[Kind]`. */
export interface WorkloadPod extends PodPeer {
  workload: { kind: string; name: string; id: string };
}

export interface ClusterModel {
  pods: WorkloadPod[];
  namespaceLabels: Map<string, Record<string, string>>;
  policies: PolicySet;
  services: K8sObject[];
  routes: K8sObject[];
  ingresses: K8sObject[];
  /** Input np-guard refuses (invalid policies, duplicate names); results computed anyway are not trustworthy. */
  errors: string[];
  warnings: string[];
}

/** Workload kinds np-guard turns into pods from their template; value: where the pod template lives. */
const TEMPLATE_PATHS: Readonly<Record<string, (spec: any) => any>> = {
  Deployment: (s) => s?.template,
  ReplicaSet: (s) => s?.template,
  StatefulSet: (s) => s?.template,
  DaemonSet: (s) => s?.template,
  ReplicationController: (s) => s?.template,
  Job: (s) => s?.template,
  CronJob: (s) => s?.jobTemplate?.spec?.template,
};

const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Build the evaluator's view of a cluster from manifests (any kinds; the ones not used are ignored). */
export function clusterFromObjects(objects: readonly K8sObject[]): ClusterModel {
  const warnings: string[] = [];
  const errors: string[] = [];
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const o of objects) {
    if (o.kind !== 'Namespace') continue;
    if (namespaceLabels.has(o.metadata.name)) errors.push(`Namespace ${o.metadata.name} is defined more than once`);
    // The API server always sets the name label; manifests often omit it.
    else namespaceLabels.set(o.metadata.name, { ...(o.metadata.labels ?? {}), [NS_NAME_LABEL]: o.metadata.labels?.[NS_NAME_LABEL] ?? o.metadata.name });
  }
  const nsLabels = (ns: string) => {
    let l = namespaceLabels.get(ns);
    if (!l) namespaceLabels.set(ns, (l = { [NS_NAME_LABEL]: ns }));
    return l;
  };

  const pods: WorkloadPod[] = [];
  for (const o of objects) {
    const namespace = o.metadata.namespace || DEFAULT_NAMESPACE;
    if (o.kind === 'Pod') {
      const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
      // An owner reference without a kind still names the workload; np-guard then calls it a Pod.
      const wl = owner && owner.kind !== 'Node' ? { kind: owner.kind || 'Pod', name: owner.name } : { kind: 'Pod', name: o.metadata.name };
      pods.push(makePod(namespace, o.metadata.name, o.metadata.labels, o.spec, wl, nsLabels(namespace), o.status?.podIP));
    } else if (TEMPLATE_PATHS[o.kind]) {
      const template = TEMPLATE_PATHS[o.kind](o.spec);
      pods.push(makePod(namespace, `${o.metadata.name}-1`, template?.metadata?.labels, template?.spec, { kind: o.kind, name: o.metadata.name }, nsLabels(namespace)));
    }
  }
  const parsed = parsePolicies(objects);
  errors.push(...parsed.errors);
  warnings.push(...parsed.warnings);
  const byKind = (k: string) => objects.filter((o) => o.kind === k);
  return {
    pods, namespaceLabels, policies: parsed.policies, services: byKind('Service'), routes: byKind('Route'), ingresses: byKind('Ingress'),
    errors, warnings,
  };
}

function makePod(
  namespace: string, name: string, labels: Record<string, string> | undefined, podSpec: any,
  wl: { kind: string; name: string }, namespaceLabels: Record<string, string>, ip?: string,
): WorkloadPod {
  const containerPorts: ContainerPort[] = [];
  for (const c of Array.isArray(podSpec?.containers) ? podSpec.containers : []) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) containerPorts.push(p as ContainerPort);
  }
  return {
    kind: 'pod', namespace, name, labels: { ...(labels ?? {}) }, namespaceLabels, containerPorts,
    ...(ip ? { ip } : {}),
    workload: { ...wl, id: `${namespace}/${wl.name}[${wl.kind}]` },
  };
}
