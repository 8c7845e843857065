/**
 * What the mTLS emitters (Istio, Linkerd) share: clients named by their service account, grouped per server port;
 * observed clients no mesh identity can name but whose source address can (outside addresses such as a load
 * balancer, nodes and host-network pods, the API server), which are admitted by address on exactly their ports and
 * marked as such; and the rest ("any pod", UDP, unknown service accounts), which are reported, never allowed.
 */
import type { PortIntent, RuleIntent, WorkloadIntent } from './types.js';
import { portsText } from './yaml.js';

export interface MeshOptions {
  /** Default `cluster.local`. */
  trustDomain?: string;
  /** Workload id (`ns/name[Kind]`) → the service account its pods run as. */
  accounts: ReadonlyMap<string, string>;
  /** Istio: mark AuthorizationPolicies `istio.io/dry-run` (logged, not enforced). */
  dryRun?: boolean;
}

export interface MeshClient { workload: string; namespace: string; serviceAccount: string }

/** An observed client without a mesh identity, admitted by the source address of its connections. */
export interface AddressClient {
  /** The peer's readable id (`10.0.0.50/32, 10.0.100.50/32`, `nodes`, `kube-apiserver`). */
  peer: string;
  kind: 'external' | 'nodes' | 'apiserver';
  cidrs: string[];
  except: string[];
}

/** Per server port (TCP only: the meshes authorize TCP), the clients named by identity and those admitted by address. */
export interface PortClients { port: PortIntent; clients: MeshClient[]; addresses: AddressClient[] }

export interface MeshPlan {
  ports: PortClients[];
  /** Observed clients that cannot be named by principal: not admitted by the generated policy. */
  unnamed: string[];
  /** Observed clients without a mesh identity, admitted by address: one readable line each (the reviewer's exception list). */
  byAddress: string[];
}

/** The label that marks the exception in headers and READMEs. */
export const BY_ADDRESS = 'non-mesh clients admitted by address';

export function meshPlan(w: WorkloadIntent, opts: MeshOptions): MeshPlan {
  const byPort = new Map<string, PortClients>();
  const unnamed: string[] = [];
  const byAddress: string[] = [];
  const portEntry = (p: PortIntent) => byPort.get(String(p.port)) ?? byPort.set(String(p.port), { port: p, clients: [], addresses: [] }).get(String(p.port))!;
  for (const r of w.ingress) {
    const sa = r.peer.kind === 'workload' ? opts.accounts.get(r.peer.id) : undefined;
    for (const p of r.ports) {
      if (p.protocol !== 'TCP') {
        unnamed.push(`${r.peer.id} on ${portsText([p])}: not TCP, the mesh does not authorize it`);
        continue;
      }
      const peer = r.peer;
      if ((peer.kind === 'external' || peer.kind === 'nodes' || peer.kind === 'apiserver') && peer.cidrs.length > 0) {
        const pc = portEntry(p);
        const except = peer.kind === 'external' ? [...(peer.except ?? [])].sort() : [];
        if (!pc.addresses.some((a) => a.peer === peer.id)) pc.addresses.push({ peer: peer.id, kind: peer.kind, cidrs: [...peer.cidrs].sort(), except });
        const blocks = blocksText([...peer.cidrs].sort(), except);
        byAddress.push(`${peer.id} on ${portsText([p])}: ${whyUnnamed(r)}${blocks === peer.id ? '' : `; admitted from ${blocks}`}`);
        continue;
      }
      if (peer.kind !== 'workload' || !sa) {
        unnamed.push(`${peer.id} on ${portsText([p])}: ${whyUnnamed(r)}`);
        continue;
      }
      const pc = portEntry(p);
      if (!pc.clients.some((c) => c.workload === peer.id)) pc.clients.push({ workload: peer.id, namespace: peer.namespace, serviceAccount: sa });
    }
  }
  const ports = [...byPort.values()].sort((a, b) => a.port.port - b.port.port);
  for (const p of ports) {
    p.clients.sort((a, b) => a.workload.localeCompare(b.workload));
    p.addresses.sort((a, b) => a.peer.localeCompare(b.peer));
  }
  return { ports, unnamed: unnamed.sort(), byAddress: [...new Set(byAddress)].sort() };
}

/** The address blocks one port admits: every non-mesh client's CIDRs, and the blocks carved out of them. */
export function addressBlocks(p: PortClients): { cidrs: string[]; except: string[] } {
  return {
    cidrs: [...new Set(p.addresses.flatMap((a) => a.cidrs))].sort(),
    except: [...new Set(p.addresses.flatMap((a) => a.except))].sort(),
  };
}

/** TCP ports of the workload that receive non-mesh clients (they need plaintext accepted: no STRICT there). */
export const plaintextPorts = (plan: MeshPlan): number[] => plan.ports.filter((p) => p.addresses.length > 0).map((p) => p.port.port);

const blocksText = (cidrs: readonly string[], except: readonly string[]) => `${cidrs.join(', ')}${except.length ? ` except ${except.join(', ')}` : ''}`;

function whyUnnamed(r: RuleIntent): string {
  switch (r.peer.kind) {
    case 'external': return 'outside the mesh (no workload identity)';
    case 'nodes': return r.peer.cidrs.length > 0 ? 'node addresses (host-network pods, node-originated or SNAT\'d traffic) carry no workload identity'
      : 'node addresses carry no workload identity, and no node address is known to admit them by';
    case 'cluster': return '"any pod" cannot be named by principal';
    case 'apiserver': return 'the API server carries no workload identity';
    default: return 'its service account is unknown';
  }
}

export const trustDomainOf = (o: MeshOptions) => o.trustDomain ?? 'cluster.local';

/**
 * Comment lines: what each port admits by identity, what it admits by address (marked: the exception a reviewer must
 * see), and what is observed but not admitted (and why).
 */
export function meshProvenance(what: string, w: WorkloadIntent, plan: MeshPlan, name: (c: MeshClient) => string, how: string): string[] {
  const named = plan.ports.filter((p) => p.clients.length > 0);
  return [
    `${what} for ${w.id}, generated by segmap from observed traffic. Review before applying.`,
    `evidence: ${w.evidence.flows} flows, first seen ${w.evidence.firstSeen || '-'}, last seen ${w.evidence.lastSeen || '-'}`,
    `admits by mesh identity:${named.length === 0 ? ' nothing (no client observed that a mesh identity can name)' : ''}`,
    ...named.map((p) => `  ${portsText([p.port])}: ${p.clients.map((c) => `${c.workload} as ${name(c)}`).join(', ')}`),
    ...(plan.byAddress.length > 0 ? [
      `EXCEPTION: ${BY_ADDRESS} (observed without a mesh identity; ${how}):`,
      ...plan.byAddress.map((u) => `  ${u}`),
      '  The address is the connection\'s source as the proxy sees it: a load balancer re-created with new addresses,',
      '  externalTrafficPolicy: Cluster (kube-proxy SNATs to a node address) or replaced nodes change it. See the README.',
    ] : []),
    ...(plan.unnamed.length > 0 ? ['NOT admitted (observed, but no mesh identity names them; allow them deliberately if needed):', ...plan.unnamed.map((u) => `  ${u}`)] : []),
  ];
}
