/**
 * Linkerd (policy.linkerd.io) from intents: per server workload and TCP port a `Server` (default deny), a
 * `MeshTLSAuthentication` naming the observed clients' identities, and an `AuthorizationPolicy` tying them together.
 */
import { stringify } from 'yaml';
import type { WorkloadIntent } from './types.js';
import { meshPlan, meshProvenance, trustDomainOf, type MeshClient, type MeshOptions } from './mesh.js';
import { tierAnnotations, tierHeader } from './tier-rules.js';
import { emitPolicy, manifestYaml, type Emitted } from './yaml.js';

const GROUP = 'policy.linkerd.io';

export const linkerdIdentity = (trustDomain: string, namespace: string, serviceAccount: string) => `${serviceAccount}.${namespace}.serviceaccount.identity.linkerd.${trustDomain}`;

/** All objects of one workload in one multi-document YAML; undefined when no TCP port was observed serving. */
export function linkerdPolicies(w: WorkloadIntent, base: string, opts: MeshOptions): { objects: Emitted['object'][]; yaml: string } | undefined {
  const td = trustDomainOf(opts);
  const plan = meshPlan(w, opts);
  const tcpPorts = new Map<number, { port: number; name?: string }>();
  for (const r of w.ingress) for (const p of r.ports) if (p.protocol === 'TCP') tcpPorts.set(p.port, p);
  if (tcpPorts.size === 0) return undefined;
  const identity = (c: MeshClient) => linkerdIdentity(td, c.namespace, c.serviceAccount);
  const objects: Emitted['object'][] = [];
  for (const p of [...tcpPorts.values()].sort((a, b) => a.port - b.port)) {
    const name = `${base}-${p.port}`;
    const server = emitPolicy(`${GROUP}/v1beta3`, 'Server', name, w.namespace, { podSelector: w.selector, port: p.name ?? p.port, accessPolicy: 'deny' }, [], tierAnnotations(w.tier)).object;
    objects.push(server);
    const clients = plan.ports.find((x) => x.port.port === p.port)?.clients ?? [];
    if (clients.length === 0) continue;
    const authn = emitPolicy(`${GROUP}/v1alpha1`, 'MeshTLSAuthentication', name, w.namespace, { identities: [...new Set(clients.map(identity))].sort() }, [], tierAnnotations(w.tier)).object;
    const authz = emitPolicy(`${GROUP}/v1alpha1`, 'AuthorizationPolicy', name, w.namespace, {
      targetRef: { group: GROUP, kind: 'Server', name: server.metadata.name },
      requiredAuthenticationRefs: [{ group: GROUP, kind: 'MeshTLSAuthentication', name: authn.metadata.name }],
    }, [], tierAnnotations(w.tier)).object;
    objects.push(authn, authz);
  }
  const header = [...meshProvenance('Linkerd Server / MeshTLSAuthentication / AuthorizationPolicy', w, plan, identity), ...tierHeader(w.tier, 'linkerd', w)];
  const docs = objects.map((o, i) => (i === 0 ? manifestYaml(header, o) : stringify(o, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })));
  return { objects, yaml: docs.join('---\n') };
}
