/**
 * Least-privilege intents from the observed graph: for every workload in scope, who it needs (egress) and who needs
 * it (ingress), on which protocol and server port, with the evidence behind each. Pure: the emitters turn intents
 * into manifests. Peers are selected by what survives a rollout (the controller's selector without per-revision
 * labels), DNS goes to the DNS pods as the snapshot labels them, and `Unknown` peers are reported, never guessed.
 */
import {
  endpointId, isWorkloadKind, selectorMatches,
  type Edge, type Endpoint, type Graph, type K8sObject, type LabelSelector,
  type CronJobFact, type DnsIntent, type Evidence, type IntentProtocol, type IntentSet, type NamespaceFacts, type PeerIntent,
  type PortIntent, type RuleIntent, type WorkloadIntent,
} from '../model/index.js';
import { portKey, rootWorkload, type IdentityIndex, type Workload } from './identity.js';
import { isProtocol } from './policy/connections.js';
import { parseIpv4, formatIpv4 } from './policy/ipv4.js';
import { serviceBackendsOf, type ServiceBackends } from './services.js';

// ---- building them ----

export interface IntentOptions {
  /** Only this namespace (system namespaces included when named explicitly). */
  namespace?: string;
  /** The flow sources cannot see traffic that stays on one node (VPC flow logs). */
  sameNodeBlind?: boolean;
  /**
   * Workloads (by id) whose outside egress destinations stay exactly the observed addresses, never merged into a
   * covering block (tier 3: outside egress by name only, so nothing wider than what was seen is admitted by address).
   */
  exactEgress?: (workloadId: string) => boolean;
}

/** Their egress needs (upstream DNS, cloud metadata, the API server) are invisible to flow logs: opt-in only. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];
const EPHEMERAL = { lo: 32768, hi: 60999 };
/** Merge external addresses no wider than this prefix (and only where no cluster address falls inside). */
const MERGE_PREFIX = 24;
/** Ingress from this many distinct public /24s on one port is a public endpoint: 0.0.0.0/0 minus private ranges. */
const PUBLIC_SOURCES = 32;
const PRIVATE_RANGES = ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16'];

type Direction = 'ingress' | 'egress';

class EvidenceTally {
  flows = 0;
  first = '';
  last = '';
  readonly sources = new Set<string>();

  add(e: Pick<Edge, 'flows' | 'firstSeen' | 'lastSeen' | 'sources'>): this {
    this.flows += e.flows;
    if (!this.first || e.firstSeen < this.first) this.first = e.firstSeen;
    if (e.lastSeen > this.last) this.last = e.lastSeen;
    for (const s of e.sources) this.sources.add(s);
    return this;
  }

  get value(): Evidence {
    return { flows: this.flows, firstSeen: this.first, lastSeen: this.last, sources: [...this.sources].sort() };
  }
}

interface RuleAcc { peer: PeerIntent; ports: Map<string, PortIntent>; evidence: EvidenceTally }

/**
 * Where an edge's connection really went, as policies judge it: the edge's own server, or for a Service address one
 * of the Service's backends (`dst`, or directly a `peer`) on its target port. An empty list: a Service whose backends
 * are not known (reported with the Unknown peers, never guessed).
 */
interface Target { dst?: Endpoint; peer?: PeerIntent; port: number }

interface Subject {
  w: Workload;
  rules: Record<Direction, Map<string, RuleAcc>>;
  dns: EvidenceTally;
  all: EvidenceTally;
}

export function buildIntents(identity: IdentityIndex, graph: Graph, opts: IntentOptions = {}): IntentSet {
  const byId = new Map(identity.workloads.map((w) => [endpointId(w.endpoint), w]));
  const allNs = [...new Set(identity.workloads.map((w) => w.endpoint.namespace))].sort();
  const scope = new Set(opts.namespace ? [opts.namespace] : allNs.filter((ns) => !SYSTEM_NAMESPACES.includes(ns)));
  const skippedNamespaces = allNs.filter((ns) => !scope.has(ns)).map((namespace) => ({
    namespace,
    reason: opts.namespace ? `not --namespace ${opts.namespace}` : 'cluster system namespace: its egress (upstream DNS, cloud metadata, API server) is invisible to flow logs; pass --namespace to include it',
  }));
  const cluster = clusterAddresses(identity.current);
  const targetsOf = serviceTargets(identity, byId, cluster);
  const dns = findDns(identity, graph, byId, targetsOf);
  const dnsServerIds = new Set(dns.servers.map((s) => s.id));
  const edges = graph.edges.filter((e) => e.verdict === 'allowed');

  const subjects = new Map<string, Subject>();
  const subject = (ep: Endpoint): Subject | undefined => {
    const id = endpointId(ep);
    const w = byId.get(id);
    if (!w || !scope.has(w.endpoint.namespace) || w.hostNetwork || !w.selector) return undefined;
    let s = subjects.get(id);
    if (!s) subjects.set(id, (s = { w, rules: { ingress: new Map(), egress: new Map() }, dns: new EvidenceTally(), all: new EvidenceTally() }));
    return s;
  };
  const peerOf = (ep: Endpoint): PeerIntent | undefined => {
    if (isWorkloadKind(ep.kind)) {
      const w = byId.get(endpointId(ep));
      if (w?.hostNetwork) return { kind: 'nodes', id: `nodes (host network: ${endpointId(ep)})`, cidrs: cluster.nodeCidrs };
      return w?.selector ? { kind: 'workload', id: endpointId(ep), namespace: w.endpoint.namespace, selector: w.selector } : undefined;
    }
    if (ep.kind === 'Node') {
      // No Node objects in the data (e.g. Hubble alone): the address the flow came from is the only node address known.
      if (cluster.nodeCidrs.length === 0 && ep.ip) return { kind: 'nodes', id: `nodes (observed address ${ep.ip})`, cidrs: [`${ep.ip}/32`] };
      return { kind: 'nodes', id: 'nodes', cidrs: cluster.nodeCidrs };
    }
    if (ep.kind === 'External' && ep.ip && cluster.apiServer.includes(ep.ip)) return apiServerPeer(cluster);
    if (ep.kind === 'External' && (ep.cidr || ep.ip)) {
      const cidr = ep.cidr ?? `${ep.ip}/32`;
      return { kind: 'external', id: endpointId(ep), cidrs: [cidr], fqdns: ep.name ? [ep.name] : [] };
    }
    // Unknown: reported by the facts, never turned into a rule. A Service is never a peer of its own: policies see
    // its backends (`serviceTargets`), and it never opens a connection.
    return undefined;
  };

  const targets = new Map<Edge, Target[]>();
  for (const e of edges) {
    if (!isProtocol(e.protocol)) continue;
    // Where the connection really went: the Service's backends on their target ports (policies apply after DNAT).
    const ts = targetsOf(e);
    targets.set(e, ts);
    const isDns = (t: Target) => !!t.dst && dnsServerIds.has(endpointId(t.dst)) && dns.ports.some((p) => p.protocol === e.protocol && p.port === t.port);
    const client = subject(e.src);
    if (client) {
      client.all.add(e);
      let dnsSeen = false;
      for (const t of ts) {
        const port: PortIntent = { protocol: e.protocol, port: t.port };
        const peer = t.peer ?? (t.dst ? peerOf(t.dst) : undefined);
        if (isDns(t)) dnsSeen = true;
        else if (peer) addRule(client, 'egress', peer, { ...port, ...named(t.dst && byId.get(endpointId(t.dst)), port) }, e);
      }
      if (dnsSeen) client.dns.add(e);
    }
    let clientPeer: PeerIntent | undefined | null = null;
    for (const t of ts) {
      const server = t.dst ? subject(t.dst) : undefined;
      if (!server) continue;
      const port: PortIntent = { protocol: e.protocol, port: t.port };
      server.all.add(e);
      if (clientPeer === null) clientPeer = peerOf(e.src);
      if (isDns(t)) addRule(server, 'ingress', { kind: 'cluster', id: 'any pod in any namespace' }, port, e);
      else if (clientPeer) addRule(server, 'ingress', clientPeer, { ...port, ...named(server.w, port) }, e);
    }
  }
  // A DNS server in scope answers every pod, observed or not.
  for (const s of subjects.values()) {
    if (!dnsServerIds.has(endpointId(s.w.endpoint))) continue;
    const acc = ruleAcc(s, 'ingress', { kind: 'cluster', id: 'any pod in any namespace' });
    for (const p of dns.ports) acc.ports.set(portKey(p.protocol, p.port), p);
  }

  const workloads = [...subjects.values()].map((s) => toIntent(s, dnsServerIds, cluster.isClusterIp, opts.exactEgress)).sort((a, b) => a.id.localeCompare(b.id));
  const silent = opts.sameNodeBlind ? silentNeighbours(identity.workloads, edges, targets) : [];
  const namespaces = [...scope].filter((ns) => allNs.includes(ns)).sort()
    .map((ns) => namespaceFacts(ns, identity.workloads, subjects, edges, byId, silent, targets));
  return {
    window: graph.window.since || graph.window.until ? graph.window : observedWindow(edges),
    dns, workloads, namespaces, skippedNamespaces, sameNodeBlind: opts.sameNodeBlind ?? false,
  };
}

function ruleAcc(s: Subject, d: Direction, peer: PeerIntent): RuleAcc {
  // External addresses are accumulated one by one and grouped by port set afterwards.
  const key = peer.kind === 'external' ? `external:${peer.cidrs[0]}` : `${peer.kind}:${peer.id}`;
  let acc = s.rules[d].get(key);
  if (!acc) s.rules[d].set(key, (acc = { peer, ports: new Map(), evidence: new EvidenceTally() }));
  return acc;
}

function addRule(s: Subject, d: Direction, peer: PeerIntent, port: PortIntent, e: Edge): void {
  const acc = ruleAcc(s, d, peer);
  acc.ports.set(portKey(port.protocol, port.port), port);
  acc.evidence.add(e);
}

/** The server's port name, where every one of its pods names that port the same. */
function named(server: Workload | undefined, p: PortIntent): { name?: string } {
  const name = server?.portNames?.[portKey(p.protocol, p.port)];
  return name ? { name } : {};
}

const PEER_ORDER: Record<PeerIntent['kind'], number> = { workload: 0, cluster: 1, nodes: 2, apiserver: 3, external: 4 };

function toIntent(s: Subject, dnsServers: Set<string>, isClusterIp: (n: number) => boolean, exactEgress?: (id: string) => boolean): WorkloadIntent {
  const id = endpointId(s.w.endpoint);
  const exact = exactEgress?.(id) ?? false;
  const rules = (d: Direction) => {
    const accs = [...s.rules[d].values()];
    const out = accs.filter((a) => a.peer.kind !== 'external').map(toRule);
    out.push(...groupExternals(accs.filter((a) => a.peer.kind === 'external'), d, isClusterIp, exact && d === 'egress'));
    return out.sort((a, b) => PEER_ORDER[a.peer.kind] - PEER_ORDER[b.peer.kind] || a.peer.id.localeCompare(b.peer.id));
  };
  return {
    id, namespace: s.w.endpoint.namespace, name: s.w.endpoint.name, kind: s.w.endpoint.kind, selector: s.w.selector!,
    ingress: rules('ingress'), egress: rules('egress'),
    ...(s.dns.flows > 0 ? { dnsEvidence: s.dns.value } : {}),
    ...(dnsServers.has(id) ? { egressOpenReason: 'DNS server: its upstream resolvers are never in flow logs' } : {}),
    evidence: s.all.value,
  };
}

function toRule(a: RuleAcc): RuleIntent {
  return { peer: a.peer, ports: sortPorts([...a.ports.values()]), evidence: a.evidence.value };
}

const sortPorts = (ps: PortIntent[]) => ps.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);

/** One rule per port set (named peers apart, so Cilium can follow the names), with the addresses merged where safe. */
function groupExternals(accs: RuleAcc[], d: Direction, isClusterIp: (n: number) => boolean, exact = false): RuleIntent[] {
  const groups = new Map<string, RuleAcc[]>();
  for (const a of accs) {
    const ext = a.peer as Extract<PeerIntent, { kind: 'external' }>;
    const key = `${sortPorts([...a.ports.values()]).map((p) => portKey(p.protocol, p.port)).join(',')}|${ext.fqdns.length > 0}`;
    pushTo(groups, key, a);
  }
  const out: RuleIntent[] = [];
  for (const group of groups.values()) {
    const evidence = new EvidenceTally();
    for (const a of group) evidence.add(a.evidence.value);
    const peers = group.map((a) => a.peer as Extract<PeerIntent, { kind: 'external' }>);
    const fqdns = [...new Set(peers.flatMap((p) => p.fqdns))].sort();
    const addresses = peers.flatMap((p) => p.cidrs);
    // Named peers keep their addresses as seen: Cilium follows the name, and the addresses are only the fallback.
    const merged = fqdns.length > 0 || exact ? { cidrs: [...new Set(addresses)].sort(compareCidrs) } : mergeCidrs(addresses, d, isClusterIp);
    const shown = fqdns.length > 0 ? fqdns : merged.cidrs;
    const id = shown.slice(0, 3).join(', ') + (shown.length > 3 ? ` and ${shown.length - 3} more` : '');
    const peer: PeerIntent = { kind: 'external', id, cidrs: merged.cidrs, fqdns, ...(merged.except ? { except: merged.except } : {}) };
    out.push({ peer, ports: sortPorts([...group[0].ports.values()]), evidence: evidence.value });
  }
  return out;
}

/**
 * External addresses → CIDRs. Addresses that share a /24 merge into their smallest covering block, but only when
 * no address any cluster object held falls inside it; anything else stays a single address. The whole internet
 * (minus private ranges) is written only for ingress that truly came from everywhere: many distinct public /24s.
 */
export function mergeCidrs(cidrs: string[], d: Direction, isClusterIp: (n: number) => boolean): { cidrs: string[]; except?: string[] } {
  const singles: number[] = [];
  const kept = new Set<string>();
  for (const c of cidrs) {
    const [addr, len] = c.split('/');
    const n = parseIpv4(addr);
    if (n !== undefined && (len === undefined || len === '32')) singles.push(n); else kept.add(c);
  }
  const by24 = new Map<number, number[]>();
  for (const n of [...new Set(singles)].sort((a, b) => a - b)) {
    const net = Math.floor(n / 256);
    pushTo(by24, net, n);
  }
  const isPublic = (n: number) => !PRIVATE_RANGES.some((r) => inCidr(n, r));
  if (d === 'ingress' && kept.size === 0 && [...by24.keys()].filter((net) => isPublic(net * 256)).length >= PUBLIC_SOURCES
    && singles.every(isPublic)) {
    return { cidrs: ['0.0.0.0/0'], except: [...PRIVATE_RANGES] };
  }
  for (const ns of by24.values()) {
    const lo = ns[0];
    const hi = ns[ns.length - 1];
    let prefix = 32;
    while (prefix > MERGE_PREFIX && Math.floor(lo / 2 ** (32 - prefix)) !== Math.floor(hi / 2 ** (32 - prefix))) prefix--;
    const size = 2 ** (32 - prefix);
    const base = Math.floor(lo / size) * size;
    let clean = true;
    for (let a = base; a < base + size && clean && size > 1; a++) if (isClusterIp(a)) clean = false;
    if (clean) kept.add(`${formatIpv4(base)}/${prefix}`);
    else for (const n of ns) kept.add(`${formatIpv4(n)}/32`);
  }
  return { cidrs: [...kept].sort(compareCidrs) };
}

function inCidr(n: number, cidr: string): boolean {
  const [addr, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(n / size) === Math.floor(parseIpv4(addr)! / size);
}

function compareCidrs(a: string, b: string): number {
  return (parseIpv4(a.split('/')[0]) ?? 0) - (parseIpv4(b.split('/')[0]) ?? 0) || a.localeCompare(b);
}

interface ClusterAddresses { nodeCidrs: string[]; apiServer: string[]; isClusterIp: (n: number) => boolean }

const apiServerPeer = (cluster: ClusterAddresses): PeerIntent => ({ kind: 'apiserver', id: 'kube-apiserver', cidrs: cluster.apiServer.map((ip) => `${ip}/32`) });

/**
 * Edge → its targets. NetworkPolicy is enforced after kube-proxy's DNAT, so an edge to a Service (a capture inside a
 * pod's network namespace sees the ClusterIP) stands for connections to the Service's backends on their target ports
 * (`ServiceBackends`): pods become their workloads, plain addresses External peers (the API server's endpoints among
 * them become the `apiserver` peer). The `default/kubernetes` Service without endpoints in the dumps falls back to the
 * API server addresses already known. The graph keeps showing client → Service; only the policy semantics translate.
 */
function serviceTargets(identity: IdentityIndex, byId: Map<string, Workload>, cluster: ClusterAddresses): (e: Edge) => Target[] {
  let services: ServiceBackends | undefined;
  let workloadOf: ((pod: K8sObject) => Workload | undefined) | undefined;
  const setup = () => {
    services = serviceBackendsOf(identity);
    const byPod = new Map<K8sObject, Workload | undefined>(identity.workloads.filter((w) => w.pod).map((w) => [w.pod!, w]));
    const owners = new Map<string, K8sObject>();
    for (const o of identity.current) {
      owners.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
      if (o.metadata.uid) owners.set(`uid:${o.metadata.uid}`, o);
    }
    workloadOf = (pod) => {
      if (byPod.has(pod)) return byPod.get(pod);
      const w = byId.get(endpointId(rootWorkload(pod, owners).endpoint));
      byPod.set(pod, w);
      return w;
    };
  };
  return (e) => {
    if (e.dst.kind !== 'Service') return [{ dst: e.dst, port: e.port }];
    if (!services) setup();
    const ns = e.dst.namespace ?? 'default';
    const name = e.dst.name ?? '';
    const out = new Map<string, Target>();
    for (const b of services!.resolve(ns, name, e.protocol, e.port)) {
      const dst: Endpoint | undefined = b.pod ? workloadOf!(b.pod)?.endpoint : b.ip ? { kind: 'External', ip: b.ip } : undefined;
      if (dst) out.set(`${endpointId(dst)}|${b.port}`, { dst, port: b.port });
    }
    if (out.size === 0 && ns === 'default' && name === 'kubernetes' && cluster.apiServer.length > 0) {
      return [{ peer: apiServerPeer(cluster), port: services!.numericTargetPort(ns, name, e.protocol, e.port) ?? e.port }];
    }
    return [...out.values()];
  };
}

/** Node addresses, the API server's endpoints, and a test for "some cluster object holds this address". */
function clusterAddresses(current: readonly K8sObject[]): ClusterAddresses {
  const nodes = new Set<string>();
  const api = new Set<string>();
  const held = new Set<number>();
  for (const o of current) {
    if (o.kind === 'Node') for (const a of o.status?.addresses ?? []) if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && parseIpv4(a.address) !== undefined) nodes.add(a.address);
    if (o.kind === 'Pod') for (const ip of [o.status?.podIP, ...(o.status?.podIPs ?? []).map((p: { ip?: string }) => p.ip)]) if (typeof ip === 'string') held.add(parseIpv4(ip) ?? -1);
    if (o.kind === 'Service') for (const ip of o.spec?.clusterIPs ?? [o.spec?.clusterIP]) if (typeof ip === 'string') held.add(parseIpv4(ip) ?? -1);
    const isApi = o.metadata.namespace === 'default' && (o.metadata.name === 'kubernetes' || o.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes');
    if (isApi && o.kind === 'EndpointSlice') for (const ep of (o as any).endpoints ?? []) for (const a of ep.addresses ?? []) api.add(a);
    if (isApi && o.kind === 'Endpoints') for (const s of (o as any).subsets ?? []) for (const a of s.addresses ?? []) if (a.ip) api.add(a.ip);
    if (isApi && o.kind === 'Service') for (const ip of o.spec?.clusterIPs ?? [o.spec?.clusterIP]) if (typeof ip === 'string') api.add(ip);
  }
  for (const ip of [...nodes, ...api]) held.add(parseIpv4(ip) ?? -1);
  return { nodeCidrs: [...nodes].sort().map((ip) => `${ip}/32`), apiServer: [...api].sort(), isClusterIp: (n) => held.has(n) };
}

/** The DNS pods as they are really labelled: behind the kube-dns Service, else the observed servers of UDP/53. */
function findDns(identity: IdentityIndex, graph: Graph, byId: Map<string, Workload>, targetsOf: (e: Edge) => Target[]): DnsIntent {
  const svc = identity.current.find((o) => o.kind === 'Service' && o.spec?.selector
    && ((o.metadata.namespace === 'kube-system' && o.metadata.name === 'kube-dns') || o.metadata.labels?.['k8s-app'] === 'kube-dns'));
  const server = (w: Workload) => ({ id: endpointId(w.endpoint), namespace: w.endpoint.namespace, selector: w.selector! });
  const usable = (w: Workload | undefined): w is Workload => !!w && !w.hostNetwork && !!w.selector;
  if (svc) {
    const ns = svc.metadata.namespace ?? 'default';
    const ws = identity.workloads.filter((w) => usable(w) && w.endpoint.namespace === ns && selectorMatches({ matchLabels: svc.spec.selector }, w.pod?.metadata.labels ?? w.labels));
    if (ws.length > 0) return { servers: ws.map(server), ports: dnsPorts(svc, ws[0]), foundBy: 'service' };
  }
  // A Service end (kube-dns seen by its ClusterIP) stands for its backends.
  const observed = [...new Set(graph.edges.filter((e) => e.protocol === 'UDP' && e.port === 53)
    .flatMap((e) => targetsOf(e).flatMap((t) => (t.dst ? [endpointId(t.dst)] : []))))]
    .map((id) => byId.get(id)).filter(usable);
  return { servers: observed.map(server), ports: DNS_PORTS, foundBy: observed.length > 0 ? 'observed' : 'none' };
}

const DNS_PORTS: PortIntent[] = [{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }];

/** The Service's port-53 entries, resolved to the pods' target ports (policies apply after kube-proxy's DNAT). */
function dnsPorts(svc: K8sObject, w: Workload): PortIntent[] {
  const cps: { name?: string; containerPort: number; protocol?: string }[] = (w.pod?.spec?.containers ?? []).flatMap((c: any) => c.ports ?? []);
  const out = new Map<string, PortIntent>();
  for (const p of svc.spec?.ports ?? []) {
    if (p.port !== 53) continue;
    const protocol = (p.protocol ?? 'TCP') as IntentProtocol;
    const t = p.targetPort ?? p.port;
    const port = typeof t === 'number' ? t : cps.find((c) => c.name === t)?.containerPort ?? Number(t);
    if (Number.isInteger(port)) out.set(portKey(protocol, port), { protocol, port });
  }
  return out.size > 0 ? sortPorts([...out.values()]) : DNS_PORTS;
}

function observedWindow(edges: Edge[]): IntentSet['window'] {
  if (edges.length === 0) return { since: null, until: null };
  return { since: edges.reduce((m, e) => (e.firstSeen < m ? e.firstSeen : m), edges[0].firstSeen), until: edges.reduce((m, e) => (e.lastSeen > m ? e.lastSeen : m), edges[0].lastSeen) };
}

function namespaceFacts(
  ns: string, all: Workload[], subjects: Map<string, Subject>, edges: Edge[], byId: Map<string, Workload>, silent: [Endpoint, Endpoint][],
  targets: ReadonlyMap<Edge, Target[]>,
): NamespaceFacts {
  const here = all.filter((w) => w.endpoint.namespace === ns);
  const ids = here.map((w) => endpointId(w.endpoint));
  const targetsOf = (e: Edge): Target[] => targets.get(e) ?? [{ dst: e.dst, port: e.port }];
  const unresolved = (e: Edge) => e.dst.kind === 'Service' && targets.get(e)?.length === 0;
  const touches = (e: Edge) => e.src.namespace === ns || e.dst.namespace === ns || targetsOf(e).some((t) => t.dst?.namespace === ns);
  const local = edges.filter(touches);
  const active = new Set(local.flatMap((e) => [endpointId(e.src), endpointId(e.dst), ...targetsOf(e).flatMap((t) => (t.dst ? [endpointId(t.dst)] : []))]));
  const suspect: string[] = [];
  for (const e of local) {
    if (!isProtocol(e.protocol)) {
      suspect.push(`${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} (policies cannot name this protocol)`);
      continue;
    }
    for (const t of targetsOf(e)) {
      const server = t.dst && byId.get(endpointId(t.dst));
      if (!server || t.port < EPHEMERAL.lo || t.port > EPHEMERAL.hi || declares(server, e.protocol, t.port)) continue;
      const via = t.dst === e.dst ? '' : `via ${endpointId(e.dst)}, `;
      suspect.push(`${endpointId(e.src)} => ${endpointId(t.dst!)} : ${e.protocol} ${t.port} (${via}ephemeral range, not a declared port)`);
    }
  }
  return {
    namespace: ns,
    workloads: ids,
    idle: here.filter((w) => !w.hostNetwork && !active.has(endpointId(w.endpoint))).map((w) => endpointId(w.endpoint)),
    hostNetwork: here.filter((w) => w.hostNetwork).map((w) => endpointId(w.endpoint)),
    unselectable: here.filter((w) => !w.hostNetwork && !w.selector).map((w) => endpointId(w.endpoint)),
    cronJobs: here.filter((w) => w.schedule).map((w) => ({
      id: endpointId(w.endpoint), schedule: w.schedule!.cron, ...(w.schedule!.timeZone ? { timeZone: w.schedule!.timeZone } : {}),
      observed: subjects.has(endpointId(w.endpoint)),
    })),
    // A Service whose backends are unknown is as unknown a peer as an address nobody held.
    unknownPeers: local.filter((e) => e.src.kind === 'Unknown' || e.dst.kind === 'Unknown' || unresolved(e))
      .map((e) => ({ edge: `${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port}`, flows: e.flows })),
    nodeClients: local.filter((e) => e.src.kind === 'Node').map((e) => `${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port}`),
    sameNodePairs: silent.filter(([a, b]) => a.namespace === ns || b.namespace === ns).length,
    suspectPorts: suspect,
  };
}

function declares(w: Workload, protocol: string, port: number): boolean {
  return (w.pod?.spec?.containers ?? []).some((c: any) => (c.ports ?? []).some((p: any) => p.containerPort === port && (p.protocol ?? 'TCP') === protocol));
}

/** Workload pairs that shared a node and never showed an edge: VPC flow logs could not have seen them talk. */
function silentNeighbours(all: Workload[], edges: Edge[], targets: ReadonlyMap<Edge, Target[]>): [Endpoint, Endpoint][] {
  const talked = new Set<string>();
  for (const e of edges) {
    // A client that reached a Service's address talked to the Service's backends.
    for (const dst of [e.dst, ...(targets.get(e) ?? []).flatMap((t) => (t.dst ? [t.dst] : []))]) {
      talked.add(`${endpointId(e.src)}|${endpointId(dst)}`);
      talked.add(`${endpointId(dst)}|${endpointId(e.src)}`);
    }
  }
  const onNode = new Map<string, Workload[]>();
  for (const w of all) if (!w.hostNetwork) for (const n of w.nodes ?? []) pushTo(onNode, n, w);
  const pairs = new Map<string, [Endpoint, Endpoint]>();
  for (const ws of onNode.values()) {
    for (let i = 0; i < ws.length; i++) {
      for (let j = i + 1; j < ws.length; j++) {
        const [a, b] = [endpointId(ws[i].endpoint), endpointId(ws[j].endpoint)].sort();
        if (!talked.has(`${a}|${b}`)) pairs.set(`${a}|${b}`, [ws[i].endpoint, ws[j].endpoint]);
      }
    }
  }
  return [...pairs.values()];
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}
