import { k8sDump } from '../collector/k8s-dump.js';
import { readText } from '../collector/lines.js';
import { newReadContext } from '../collector/source.js';
import type { InputIssue, K8sObject } from '../model/index.js';
import { expandPaths } from './ingest.js';

export const POLICY_KINDS = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] as const;
const NAMESPACED_POLICY_KINDS = new Set(['NetworkPolicy']);

export interface PolicyFiles {
  objects: K8sObject[];
  issues: InputIssue[];
  /** Objects in the policy files that are not policies, with why they change nothing. */
  ignored: string[];
  files: number;
}

/** The pre-1.7 isolation annotation: a Namespace carrying it looks like a default-deny but enforces nothing today. */
const BETA_ISOLATION = 'net.beta.kubernetes.io/network-policy';

/**
 * Policy manifests from files and directories. Namespaced policies that name no namespace land in `namespace`, as
 * `kubectl apply -n NAMESPACE` would put them.
 */
export async function readPolicyFiles(paths: string[], namespace: string): Promise<PolicyFiles> {
  const files = await expandPaths(paths);
  const objects: K8sObject[] = [];
  const issues: InputIssue[] = [];
  const ignored: string[] = [];
  for (const f of files) {
    if (!/\.(ya?ml|json)(\.gz)?$/i.test(f)) continue;
    const ctx = newReadContext(f);
    for (const o of k8sDump.read(await readText(f), ctx)) {
      if (!(POLICY_KINDS as readonly string[]).includes(o.kind)) {
        const beta = o.kind === 'Namespace' && o.metadata.annotations?.[BETA_ISOLATION] !== undefined;
        ignored.push(`${f}: ${o.kind} ${o.metadata.name} is not a policy${beta ? ` (its ${BETA_ISOLATION} annotation was removed from Kubernetes and isolates nothing)` : ''}; ignored`);
        continue;
      }
      if (NAMESPACED_POLICY_KINDS.has(o.kind) && !o.metadata.namespace) o.metadata = { ...o.metadata, namespace };
      objects.push(o);
    }
    issues.push(...ctx.issues);
  }
  return { objects, issues, ignored, files: files.length };
}

/** Proposed policies replace the cluster's policy of the same kind and name, as `kubectl apply` would. */
export function mergePolicies(existing: K8sObject[], proposed: K8sObject[]): K8sObject[] {
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const replaced = new Set(proposed.map(key));
  return [...existing.filter((o) => (POLICY_KINDS as readonly string[]).includes(o.kind) && !replaced.has(key(o))), ...proposed];
}
