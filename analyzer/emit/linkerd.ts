/**
 * Linkerd (policy.linkerd.io) from intents: per server workload and TCP port a `Server` (default deny), a
 * `MeshTLSAuthentication` naming the observed clients' identities, and an `AuthorizationPolicy` tying them together.
 * Observed clients without a mesh identity (a load balancer, nodes, the API server) get a `NetworkAuthentication`
 * with their addresses and an `AuthorizationPolicy` requiring only it (unauthenticated, from those networks only).
 */
import { stringify } from 'yaml';
import type { WorkloadIntent } from './types.js';
import { addressBlocks, meshPlan, meshProvenance, trustDomainOf, type MeshClient, type MeshOptions } from './mesh.js';
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
  const authorize = (name: string, server: string, kind: 'MeshTLSAuthentication' | 'NetworkAuthentication', authnSpec: object) => {
    const authn = emitPolicy(`${GROUP}/v1alpha1`, kind, name, w.namespace, authnSpec, [], tierAnnotations(w.tier)).object;
    const authz = emitPolicy(`${GROUP}/v1alpha1`, 'AuthorizationPolicy', name, w.namespace, {
      targetRef: { group: GROUP, kind: 'Server', name: server },
      requiredAuthenticationRefs: [{ group: GROUP, kind, name: authn.metadata.name }],
    }, [], tierAnnotations(w.tier)).object;
    objects.push(authn, authz);
  };
  for (const p of [...tcpPorts.values()].sort((a, b) => a.port - b.port)) {
    const name = `${base}-${p.port}`;
    const server = emitPolicy(`${GROUP}/v1beta3`, 'Server', name, w.namespace, { podSelector: w.selector, port: p.name ?? p.port, accessPolicy: 'deny' }, [], tierAnnotations(w.tier)).object;
    objects.push(server);
    const pc = plan.ports.find((x) => x.port.port === p.port);
    if (pc && pc.clients.length > 0) authorize(name, server.metadata.name, 'MeshTLSAuthentication', { identities: [...new Set(pc.clients.map(identity))].sort() });
    if (pc && pc.addresses.length > 0) {
      // Each network carries the carve-outs that fall in its family (an IPv4 `except` means nothing to an IPv6 cidr).
      const { cidrs, except } = addressBlocks(pc);
      const networks = cidrs.map((cidr) => {
        const ex = except.filter((e) => e.includes(':') === cidr.includes(':'));
        return { cidr, ...(ex.length > 0 ? { except: ex } : {}) };
      });
      authorize(`${name}-by-address`, server.metadata.name, 'NetworkAuthentication', { networks });
    }
  }
  const how = 'a NetworkAuthentication of their addresses and an AuthorizationPolicy requiring only it, on their ports only (unauthenticated, from those networks)';
  const header = [...meshProvenance(`Linkerd Server / MeshTLSAuthentication${plan.byAddress.length > 0 ? ' / NetworkAuthentication' : ''} / AuthorizationPolicy`, w, plan, identity, how), ...tierHeader(w.tier, 'linkerd', w)];
  const docs = objects.map((o, i) => (i === 0 ? manifestYaml(header, o) : stringify(o, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })));
  return { objects, yaml: docs.join('---\n') };
}
