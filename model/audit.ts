/**
 * Kubernetes API-server audit logs (audit.k8s.io/v1 Event), folded at ingest into one aggregate per
 * (user, verb, apiGroup, resource, subresource, namespace, non-resource URL, outcome).
 */

export type AuditOutcome = 'allowed' | 'denied' | 'failed' | 'unknown';

export interface AuditAggregate {
  /** The effective user: the impersonated user when the request impersonated one. */
  user: string;
  verb: string;
  /** '' for the core group. */
  apiGroup: string;
  /** '' for a non-resource request (then `nonResourceURL` is set). */
  resource: string;
  subresource: string;
  /** '' for cluster-scoped requests (and for requests across all namespaces). */
  namespace: string;
  nonResourceURL: string;
  /**
   * `allowed`: the authorizer let the request through (any response but 401/403); `denied`: 401/403 or an authorizer
   * `forbid` decision; `unknown`: only the RequestReceived stage was logged.
   */
  outcome: AuditOutcome;
  count: number;
  /** Epoch seconds. */
  firstSeen: number;
  lastSeen: number;
}

const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:ns:name` → its namespace and name. */
export function serviceAccountOfUser(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SA_PREFIX)) return undefined;
  const [namespace, name, ...rest] = user.slice(SA_PREFIX.length).split(':');
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

export const serviceAccountUser = (namespace: string, name: string) => `${SA_PREFIX}${namespace}:${name}`;
