/**
 * Egress risk: the dangerous paths out of each workload, from the observed graph and what the current policies allow.
 * Pure: the graph, identity, policy engine, the inputs' formats and the DNS evidence go in, sorted findings come out.
 *
 * Every finding names one client workload as its subject and carries the edges behind it (peer, protocol, port,
 * flows, first/last seen, input files). Where the data cannot decide a question (was this address ever named by
 * DNS? did the client dial a pod IP or a Service?) the finding only fires on inputs that can show the answer, and
 * otherwise the evidence says what is missing.
 */
import ipaddr from 'ipaddr.js';
import {
  endpointId, isWorkloadKind, selectorMatches, SEVERITY_RANK,
  type DnsEvidence, type Edge, type Endpoint, type Finding, type Graph, type K8sObject, type Severity,
} from '../model/index.js';
import { apiServerEnds, isApiServerEnd } from './api-server.js';
import { podPeer } from './findings.js';
import type { IdentityIndex, Workload } from './identity.js';
import { ConnectionSet } from './policy/connections.js';
import type { PolicyEngine } from './policy/engine.js';
import { ALL_IPV4, parseCidr } from './policy/ipv4.js';
import type { Peer, PodPeer } from './policy/types.js';

/** The finding ids this pass emits (the README's catalogue lists them with their rules). */
export const EGRESS_RISK_FINDING_IDS = [
  'METADATA_SERVICE_EGRESS', 'API_SERVER_EGRESS', 'ADMIN_PORT_EGRESS', 'CROSS_NAMESPACE_DATABASE_EGRESS', 'SENSITIVE_NAMESPACE_EGRESS',
  'INTERNET_EGRESS', 'HARDCODED_EXTERNAL_ADDRESS', 'POD_IP_DIALLED', 'EGRESS_UNRESTRICTED', 'SENSITIVE_EGRESS_ALLOWED',
] as const;
export type EgressRiskFindingId = (typeof EGRESS_RISK_FINDING_IDS)[number];

/** Cloud instance metadata services: AWS, GCP, Azure, OpenStack all answer on 169.254.169.254; AWS also on IPv6. */
export const METADATA_ADDRESSES: readonly string[] = ['169.254.169.254', 'fd00:ec2::254'];

/** Control-plane and host administration ports (TCP): etcd, kubelet, SSH, RDP, the API server's own port. */
export const ADMIN_PORTS: Readonly<Record<number, string>> = {
  2379: 'etcd client', 2380: 'etcd peer', 10250: 'kubelet', 22: 'SSH', 3389: 'RDP', 6443: 'kube-apiserver',
};

/** Well-known database ports (TCP). A server on one of these, or one whose image is a known engine, is a database. */
export const DATABASE_PORTS: Readonly<Record<number, string>> = {
  5432: 'PostgreSQL', 3306: 'MySQL/MariaDB', 27017: 'MongoDB', 6379: 'Redis', 9042: 'Cassandra', 1433: 'SQL Server',
};

/** Image names (last path segment, tag dropped) of database engines; `mssql/server` is matched on its path. */
const DATABASE_IMAGES = new Set([
  'postgres', 'postgresql', 'mysql', 'mariadb', 'mongo', 'mongodb', 'redis', 'valkey', 'cassandra', 'scylla', 'cockroach', 'cockroachdb', 'couchdb', 'timescaledb',
]);

/** Namespaces whose workloads are the cluster's own: reaching into them (other than DNS) is reaching the control plane. */
export const DEFAULT_SENSITIVE_NAMESPACES: readonly string[] = ['kube-system'];

/** Formats whose addresses are what the client put on the wire (before kube-proxy's DNAT, when captured at the pod). */
const WIRE_FORMATS = new Set(['pcap', 'pcapng', 'zeek']);
/** Captures: the answers to every DNS query they saw are in them too. */
const CAPTURE_FORMATS = new Set(['pcap', 'pcapng']);
/** Formats that carry DNS answers alongside the traffic they saw (captures, Zeek dns.log, Hubble's DNS proxy). */
const DNS_FORMATS = new Set(['pcap', 'pcapng', 'zeek', 'hubble']);

const MAX_LISTED = 20;

export interface EgressRiskInput {
  identity: IdentityIndex;
  /** The observed graph of the analysed window. */
  graph: Graph;
  /** The cluster's current policies. */
  engine: PolicyEngine;
  /** The ingested inputs: edges name their sources by path; the format says what an input can see. */
  inputs: readonly { path: string; format: string }[];
  /** Every DNS answer any input carried (store `dnsNames()`). */
  dns: readonly DnsEvidence[];
}

export interface EgressRiskOptions {
  /** At most this many distinct destinations (peer, protocol, port) make "a handful" (EGRESS_UNRESTRICTED). Default 10. */
  handful?: number;
  /** Namespaces reaching into which is SENSITIVE_NAMESPACE_EGRESS (DNS excepted). Default `kube-system`. */
  sensitiveNamespaces?: readonly string[];
}

/** One edge as evidence: who, what, how much, when, and from which inputs. */
export interface EdgeEvidence {
  peer: string;
  protocol: string;
  port: number;
  flows: number;
  firstSeen: string;
  lastSeen: string;
  sources: string[];
}

const edgeEvidence = (e: Edge): EdgeEvidence => ({
  peer: endpointId(e.dst), protocol: e.protocol, port: e.port, flows: e.flows, firstSeen: e.firstSeen, lastSeen: e.lastSeen, sources: e.sources,
});

/** Whether an address is on the public internet: not private, loopback, link-local, CGNAT, multicast or unspecified. */
export function isInternetAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  // Documentation ranges (TEST-NET, 2001:db8::/32) count as public: examples and fixtures stand them in for it.
  return !['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private', 'uniqueLocal'].includes(a.range());
}

const METADATA_NORMALIZED = new Set(METADATA_ADDRESSES.map((a) => ipaddr.parse(a).toNormalizedString()));
const isMetadata = (ip: string | undefined) => !!ip && ipaddr.isValid(ip) && METADATA_NORMALIZED.has(ipaddr.parse(ip).toNormalizedString());

const isDnsEdge = (e: Edge) => e.port === 53 && (e.protocol === 'UDP' || e.protocol === 'TCP');

/** The image name a database engine would have: `docker.io/bitnami/postgresql:16` → `postgresql`. */
function imageName(image: string): string {
  const repo = image.split('@')[0].replace(/:[^/:]+$/, '');
  return repo.slice(repo.lastIndexOf('/') + 1).toLowerCase();
}

/** Whether a workload's pods run a database engine's image (explicit list; anything else is not a database by image). */
export function looksLikeDatabase(pod: K8sObject | undefined): string | undefined {
  for (const c of pod?.spec?.containers ?? []) {
    const image = String(c.image ?? '');
    if (DATABASE_IMAGES.has(imageName(image)) || /(^|\/)mssql\/server(:|@|$)/.test(image)) return image;
  }
  return undefined;
}


/** Ports (TCP/UDP) on which some Service of the workload's namespace that selects its pods forwards to it. */
function servicesFor(w: Workload, current: readonly K8sObject[]): { service: string; ports: Set<string> }[] {
  const pod = w.pod;
  if (!pod) return [];
  const out: { service: string; ports: Set<string> }[] = [];
  const cps: { name?: string; containerPort: number; protocol?: string }[] = (pod.spec?.containers ?? []).flatMap((c: { ports?: [] }) => c.ports ?? []);
  for (const svc of current) {
    if (svc.kind !== 'Service' || (svc.metadata.namespace ?? 'default') !== w.endpoint.namespace || !svc.spec?.selector) continue;
    if (!selectorMatches({ matchLabels: svc.spec.selector }, pod.metadata.labels)) continue;
    const ports = new Set<string>();
    for (const sp of svc.spec.ports ?? []) {
      const proto = sp.protocol ?? 'TCP';
      const target = sp.targetPort ?? sp.port;
      const n = typeof target === 'number' ? target : cps.find((c) => c.name === target && (c.protocol ?? 'TCP') === proto)?.containerPort ?? (/^\d+$/.test(String(target)) ? Number(target) : undefined);
      if (n !== undefined) ports.add(`${proto}/${n}`);
    }
    out.push({ service: `${w.endpoint.namespace}/${svc.metadata.name}[Service]`, ports });
  }
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const list = <T>(xs: T[]): T[] => xs.slice(0, MAX_LISTED);
const more = (xs: unknown[]) => Math.max(0, xs.length - MAX_LISTED);
const conn = (e: { protocol: string; port: number }) => `${e.protocol} ${e.port}`;
/** The first MAX_LISTED items, formatted and joined, with how many were left out. */
const few = <T>(xs: T[], fmt: (x: T) => string) => list(xs).map(fmt).join(', ') + (more(xs) ? ` and ${more(xs)} more` : '');

export function egressRiskFindings(input: EgressRiskInput, opts: EgressRiskOptions = {}): Finding[] {
  const { identity, graph, engine } = input;
  const handful = opts.handful ?? 10;
  const sensitive = new Set(opts.sensitiveNamespaces ?? DEFAULT_SENSITIVE_NAMESPACES);
  const findings: Finding[] = [];
  const api = apiServerEnds(identity.current);
  const workloadById = new Map(identity.workloads.map((w) => [endpointId(w.endpoint), w]));
  const serviceObjects = identity.current.filter((o) => o.kind === 'Service');
  const servicesCache = new Map<string, { service: string; ports: Set<string> }[]>();
  const servicesOf = (w: Workload) => {
    const id = endpointId(w.endpoint);
    return servicesCache.get(id) ?? servicesCache.set(id, servicesFor(w, serviceObjects)).get(id)!;
  };
  const dbCache = new Map<string, string | undefined>();
  const dbWhy = (e: Edge) => {
    const key = `${endpointId(e.dst)}|${e.protocol}|${e.port}`;
    if (!dbCache.has(key)) dbCache.set(key, databaseWhy(e, workloadById, serviceObjects));
    return dbCache.get(key);
  };

  const formats = new Map<string, Set<string>>();
  for (const i of input.inputs) (formats.get(i.path) ?? formats.set(i.path, new Set()).get(i.path)!).add(i.format);
  const hasFormat = (source: string, set: ReadonlySet<string>) => [...(formats.get(source) ?? [])].some((f) => set.has(f));
  const dnsNamesOf = new Map<string, Set<string>>();
  for (const d of input.dns) (dnsNamesOf.get(d.ip) ?? dnsNamesOf.set(d.ip, new Set()).get(d.ip)!).add(d.name);

  const bySrc = new Map<string, Edge[]>();
  for (const e of graph.edges) {
    if (e.verdict !== 'allowed' || !isWorkloadKind(e.src.kind)) continue;
    const id = endpointId(e.src);
    (bySrc.get(id) ?? bySrc.set(id, []).get(id)!).push(e);
  }

  for (const [id, edges] of [...bySrc].sort(([a], [b]) => a.localeCompare(b))) {
    const subject = edges[0].src;
    const push = (fid: EgressRiskFindingId, severity: Severity, message: string, evidence: Record<string, unknown>) =>
      findings.push({ id: fid, severity, subject, message, evidence });

    // --- the cloud metadata service ---
    const metadata = edges.filter((e) => (e.dst.kind === 'External' || e.dst.kind === 'Unknown') && isMetadata(e.dst.ip));
    if (metadata.length > 0) {
      push('METADATA_SERVICE_EGRESS', 'high',
        `${id} reached the cloud metadata service (${few(metadata, (e) => `${e.dst.ip} ${conn(e)}`)}; ${plural(sum(metadata), 'flow')}): node credentials are one request away; close 169.254.169.254/32 in its egress or require IMDSv2 with a hop limit of 1`,
        { destinations: list(metadata).map(edgeEvidence), more: more(metadata) });
    }

    // --- the API server, admin ports ---
    const apiEdges = edges.filter((e) => isApiServerEnd(e.dst, api));
    if (apiEdges.length > 0) {
      // Low on its own: what a compromise could do there is its account's RBAC, which the service-account findings rate.
      push('API_SERVER_EGRESS', 'low',
        `${id} talks to the Kubernetes API server (${few(apiEdges, (e) => `${endpointId(e.dst)} ${conn(e)}`)}): a compromise of it acts with its service account's rights; keep this path explicit and its RBAC minimal`,
        { destinations: list(apiEdges).map(edgeEvidence), more: more(apiEdges) });
    }
    const admin = edges.filter((e) => e.protocol === 'TCP' && ADMIN_PORTS[e.port] && !isApiServerEnd(e.dst, api)
      && !(e.dst.kind === 'External' && e.dst.ip && isInternetAddress(e.dst.ip)) && !(e.dst.kind === 'External' && !e.dst.ip));
    if (admin.length > 0) {
      // A node, the control plane or an outside host is the real thing; an in-cluster app listening there is less so.
      const hostLike = admin.some((e) => e.dst.kind === 'Node' || e.dst.kind === 'Unknown' || e.dst.kind === 'External');
      push('ADMIN_PORT_EGRESS', hostLike ? 'high' : 'medium',
        `${id} reaches administration ports: ${few(admin, (e) => `${endpointId(e.dst)} ${conn(e)} (${ADMIN_PORTS[e.port]})`)}; application pods have no business there`,
        { destinations: list(admin).map((e) => ({ ...edgeEvidence(e), service: ADMIN_PORTS[e.port] })), more: more(admin) });
    }

    // --- databases in other namespaces, the cluster's own namespaces ---
    const ns = subject.namespace ?? '';
    const databases: (EdgeEvidence & { why: string })[] = [];
    const intoSensitive: Edge[] = [];
    for (const e of edges) {
      const dstNs = e.dst.namespace;
      if (!dstNs || dstNs === ns || !(isWorkloadKind(e.dst.kind) || e.dst.kind === 'Service')) continue;
      if (sensitive.has(dstNs) && !sensitive.has(ns) && !isDnsEdge(e)) intoSensitive.push(e);
      const why = dbWhy(e);
      if (why) databases.push({ ...edgeEvidence(e), why });
    }
    if (databases.length > 0) {
      push('CROSS_NAMESPACE_DATABASE_EGRESS', 'medium',
        `${id} reaches ${plural(databases.length, 'database')} in other namespaces: ${few(databases, (d) => `${d.peer} ${d.protocol} ${d.port} (${d.why})`)}; a data store shared across namespaces ties their blast radius together`,
        { databases: list(databases), more: more(databases) });
    }
    if (intoSensitive.length > 0) {
      push('SENSITIVE_NAMESPACE_EGRESS', 'medium',
        `${id} reaches into ${[...new Set(intoSensitive.map((e) => e.dst.namespace))].join(', ')} beyond DNS: ${few(intoSensitive, (e) => `${endpointId(e.dst)} ${conn(e)}`)}`,
        { destinations: list(intoSensitive).map(edgeEvidence), more: more(intoSensitive) });
    }

    // --- the internet: by name where DNS named it, by address otherwise; hard-coded addresses ---
    // Inputs that saw this workload's DNS lookups with their answers: a capture always carries the answers to the
    // queries it saw; Zeek (dns.log is another file) and Hubble (names only with its DNS proxy) must also have named
    // some other destination of this workload in that input.
    const namedIn = new Set(edges.filter((e) => e.dst.kind === 'External' && e.dst.name).flatMap((e) => e.sources));
    const dnsVisibleIn = new Set(edges.filter(isDnsEdge).flatMap((e) => e.sources)
      .filter((s) => hasFormat(s, CAPTURE_FORMATS) || (hasFormat(s, DNS_FORMATS) && namedIn.has(s))));
    const internet = edges.filter((e) => e.dst.kind === 'External' && !isMetadata(e.dst.ip) && isInternetAddress(e.dst.ip ?? e.dst.cidr?.split('/')[0] ?? ''));
    if (internet.length > 0) {
      const byAddress = new Map<string, Edge[]>();
      for (const e of internet) {
        const key = `${e.dst.ip ?? e.dst.cidr}|${e.protocol}|${e.port}`;
        (byAddress.get(key) ?? byAddress.set(key, []).get(key)!).push(e);
      }
      const destinations = [...byAddress.values()].map((es) => {
        const e = es[0];
        const address = e.dst.ip ?? e.dst.cidr!;
        const names = [...new Set([...es.flatMap((x) => (x.dst.name ? [x.dst.name] : [])), ...(dnsNamesOf.get(address) ?? [])])].sort();
        const sources = [...new Set(es.flatMap((x) => x.sources))].sort();
        // "Never named" is a judgement only an input that saw this workload's DNS lookups (and carries answers) can make.
        const judged = input.dns.length > 0 && sources.some((s) => dnsVisibleIn.has(s));
        const naming = names.length > 0 ? 'dns' as const : judged ? 'never-named' as const : 'no-dns-evidence' as const;
        return {
          address, names, naming, protocol: e.protocol, port: e.port, flows: es.reduce((s, x) => s + x.flows, 0),
          firstSeen: es.map((x) => x.firstSeen).sort()[0], lastSeen: es.map((x) => x.lastSeen).sort().reverse()[0], sources,
        };
      }).sort((a, b) => (a.names[0] ?? a.address).localeCompare(b.names[0] ?? b.address) || a.address.localeCompare(b.address) || a.port - b.port);
      const label = (d: (typeof destinations)[number]) =>
        `${d.names.length ? `${d.names.join('/')} (${d.address})` : d.address} ${d.protocol} ${d.port}${d.naming === 'never-named' ? ' (never named by DNS)' : ''}`;
      const unnamed = destinations.filter((d) => d.naming === 'no-dns-evidence');
      push('INTERNET_EGRESS', 'low',
        `${id} sends to ${plural(destinations.length, 'internet destination')}: ${list(destinations).map(label).join(', ')}${more(destinations) ? ` and ${more(destinations)} more` : ''}`
        + (unnamed.length ? `; ${plural(unnamed.length, 'address')} by address only: no input that saw this traffic carries its DNS lookups` : ''),
        { destinations: list(destinations), more: more(destinations) });
      const hardcoded = destinations.filter((d) => d.naming === 'never-named');
      if (hardcoded.length > 0) {
        push('HARDCODED_EXTERNAL_ADDRESS', 'medium',
          `${id} connects to ${plural(hardcoded.length, 'internet address')} no DNS answer ever named (${few(hardcoded, (d) => `${d.address} ${d.protocol} ${d.port}`)}), although its DNS lookups are visible in the same inputs: a hard-coded address breaks when the service moves and cannot be allowed by name (toFQDNs); check its configuration (a lookup made before the capture started would not be seen)`,
          { addresses: list(hardcoded), more: more(hardcoded), dnsVisibleIn: [...dnsVisibleIn].sort() });
      }
    }

    // --- pod IPs dialled instead of a Service ---
    const dialled = podIpDials(edges, workloadById, servicesOf, (s) => hasFormat(s, WIRE_FORMATS));
    if (dialled.length > 0) {
      push('POD_IP_DIALLED', 'medium',
        `${id} dials pod addresses directly instead of their Service: ${few(dialled, (d) => `${d.peer} ${d.protocol} ${d.port} (Service ${d.services.join(', ')})`)}; this breaks on the next reschedule and escapes Service-based policy`,
        { dials: list(dialled), more: more(dialled) });
    }
  }

  findings.push(...policyRisk(input, bySrc, api, workloadById, handful));
  return findings.sort(compareFindings);
}

function sum(es: readonly Edge[]): number {
  return es.reduce((s, e) => s + e.flows, 0);
}

/** Why the destination of `e` is a database: its port, or its image. Undefined: not one. */
function databaseWhy(e: Edge, workloads: ReadonlyMap<string, Workload>, current: readonly K8sObject[]): string | undefined {
  if (e.protocol === 'TCP' && DATABASE_PORTS[e.port]) return `${DATABASE_PORTS[e.port]} port`;
  if (isWorkloadKind(e.dst.kind)) {
    const image = looksLikeDatabase(workloads.get(endpointId(e.dst))?.pod);
    return image ? `image ${image}` : undefined;
  }
  // A Service: the database image of a workload it selects.
  const svc = current.find((o) => o.kind === 'Service' && o.metadata.namespace === e.dst.namespace && o.metadata.name === e.dst.name);
  if (!svc?.spec?.selector) return undefined;
  for (const w of workloads.values()) {
    if (w.endpoint.namespace !== e.dst.namespace || !w.pod || !selectorMatches({ matchLabels: svc.spec.selector }, w.pod.metadata.labels)) continue;
    const image = looksLikeDatabase(w.pod);
    if (image) return `image ${image}`;
  }
  return undefined;
}

interface Dial { peer: string; protocol: string; port: number; flows: number; services: string[]; sources: string[] }

/**
 * A client's edges to pods (by address) that only an input showing addresses as the client sent them can tell from
 * Service traffic after DNAT: such an input (a capture at the pod, Zeek) must also show this very client reaching some
 * Service address (so it sees pre-DNAT traffic), the pod must be behind a Service on that port (the client could have
 * used it), and the same input must not show the client reaching that Service (then the pod edge may be the DNAT leg).
 */
function podIpDials(
  edges: readonly Edge[], workloads: ReadonlyMap<string, Workload>, servicesOf: (w: Workload) => { service: string; ports: Set<string> }[], wire: (source: string) => boolean,
): Dial[] {
  const serviceSources = new Map<string, Set<string>>();
  for (const e of edges) if (e.dst.kind === 'Service') for (const s of e.sources) if (wire(s)) (serviceSources.get(s) ?? serviceSources.set(s, new Set()).get(s)!).add(endpointId(e.dst));
  const out: Dial[] = [];
  if (serviceSources.size === 0) return out;
  for (const e of edges) {
    if (!isWorkloadKind(e.dst.kind)) continue;
    const w = workloads.get(endpointId(e.dst));
    if (!w) continue;
    const behind = servicesOf(w).filter((s) => s.ports.has(`${e.protocol}/${e.port}`)).map((s) => s.service);
    if (behind.length === 0) continue;
    const sources = e.sources.filter((s) => serviceSources.has(s) && !behind.some((svc) => serviceSources.get(s)!.has(svc)));
    if (sources.length === 0) continue;
    out.push({ peer: endpointId(e.dst), protocol: e.protocol, port: e.port, flows: e.flows, services: behind, sources });
  }
  return out;
}

/** What the policies allow each workload: unrestricted egress with few destinations, sensitive paths allowed but unused. */
function policyRisk(
  input: EgressRiskInput, bySrc: ReadonlyMap<string, Edge[]>, api: { ips: Set<string>; nodes: Set<string> },
  workloads: ReadonlyMap<string, Workload>, handful: number,
): Finding[] {
  const { identity, engine } = input;
  const out: Finding[] = [];
  const ext = (ip: string): Peer | undefined => {
    const set = parseCidr(ip);
    return set ? { kind: 'external', addresses: set } : undefined;
  };
  const internet: Peer = { kind: 'external', addresses: ALL_IPV4 };
  const nodes = identity.current.filter((o) => o.kind === 'Node').map((o) => ({
    name: o.metadata.name, ips: (o.status?.addresses ?? []).filter((a: { type: string }) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a: { address: string }) => a.address) as string[],
  }));
  const databases = [...workloads.values()].filter((w) => w.pod && !w.hostNetwork)
    .map((w) => ({ w, image: looksLikeDatabase(w.pod), ports: dbPorts(w) })).filter((d) => d.image || d.ports.length > 0);
  const peers = new Map<string, PodPeer>();
  const peerOf = (w: Workload) => peers.get(endpointId(w.endpoint)) ?? peers.set(endpointId(w.endpoint), podPeer(w.pod!, identity)).get(endpointId(w.endpoint))!;

  for (const w of identity.workloads) {
    if (!w.pod || w.hostNetwork) continue;
    const id = endpointId(w.endpoint);
    const self = peerOf(w);
    const s = engine.selectingPolicies(self, 'egress');
    const guarded = s.networkPolicies.length > 0 || s.adminPolicies.length > 0 || s.baseline;
    const allowAll = guarded && engine.allowedConnections(self, internet).isAll();
    const edges = bySrc.get(id) ?? [];

    if (!guarded || allowAll) {
      const destinations = uniqueDestinations(edges);
      if (destinations.length > 0 && destinations.length <= handful) {
        const why = guarded ? 'its egress policies allow every port to every address' : 'no policy selects it for egress';
        out.push({
          id: 'EGRESS_UNRESTRICTED', severity: 'medium', subject: w.endpoint,
          message: `${id} may send anywhere (${why}: the metadata service, the API server and node ports included), yet it used only ${plural(destinations.length, 'destination')}: ${few(destinations, (d) => `${d.peer} ${d.protocol} ${d.port}`)}; an egress allow-list of exactly these is cheap`,
          evidence: { reason: guarded ? 'allow-all' : 'no-egress-policy', destinations, policies: s.networkPolicies.map((n) => `${n.namespace}/${n.name}`) },
        });
      }
      continue;
    }

    // Guarded: which sensitive paths do its policies still allow that nobody was seen using?
    const usedPeer = new Set(edges.map((e) => endpointId(e.dst)));
    const allowed: { target: string; peer: string; allowed: string }[] = [];
    const check = (target: string, peer: string, p: Peer | undefined, only?: (c: ConnectionSet) => ConnectionSet) => {
      if (!p) return;
      let c = engine.allowedConnections(self, p);
      if (only) c = only(c);
      if (!c.isEmpty()) allowed.push({ target, peer, allowed: c.toString() });
    };
    if (!edges.some((e) => isMetadata(e.dst.ip))) check('metadata service', '169.254.169.254', ext('169.254.169.254'));
    if (!edges.some((e) => isApiServerEnd(e.dst, api))) {
      for (const ip of [...api.ips].sort()) if (!nodes.some((n) => n.ips.includes(ip)) && !isServiceIp(ip, identity.current)) check('API server', ip, ext(ip), tcpPorts([443, 6443]));
    }
    const adminOpen = new Map<string, string[]>();
    for (const n of nodes) {
      const adminUsed = edges.some((e) => ADMIN_PORTS[e.port] && ((e.dst.kind === 'Node' && e.dst.name === n.name) || (!!e.dst.ip && n.ips.includes(e.dst.ip))));
      if (adminUsed) continue;
      for (const ip of n.ips) {
        const p = ext(ip);
        const c = p ? engine.allowedConnections(self, p).intersect(ADMIN_CONNECTIONS) : ConnectionSet.NONE;
        if (!c.isEmpty()) (adminOpen.get(c.toString()) ?? adminOpen.set(c.toString(), []).get(c.toString())!).push(`${n.name} (${ip})`);
      }
    }
    for (const [c, where] of adminOpen) allowed.push({ target: 'node administration ports', peer: where.length === 1 ? where[0] : `${where.length} nodes: ${where.slice(0, 5).join(', ')}${where.length > 5 ? ', …' : ''}`, allowed: c });
    for (const d of databases) {
      if (d.w.endpoint.namespace === w.endpoint.namespace || usedPeer.has(endpointId(d.w.endpoint))) continue;
      check('database in another namespace', endpointId(d.w.endpoint), peerOf(d.w), d.image ? undefined : tcpPorts(d.ports));
    }
    if (allowed.length > 0) {
      out.push({
        id: 'SENSITIVE_EGRESS_ALLOWED', severity: 'medium', subject: w.endpoint,
        message: `the egress policies of ${id} still allow paths it was never seen using: ${few(allowed, (a) => `${a.target} ${a.peer} (${a.allowed})`)}`,
        evidence: { allowed: list(allowed), more: more(allowed), policies: s.networkPolicies.map((n) => `${n.namespace}/${n.name}`) },
      });
    }
  }
  return out;
}

function isServiceIp(ip: string, current: readonly K8sObject[]): boolean {
  return current.some((o) => o.kind === 'Service' && (o.spec?.clusterIPs ?? [o.spec?.clusterIP]).includes(ip));
}

/** A workload's listening TCP ports that are well-known database ports. */
function dbPorts(w: Workload): number[] {
  const ports: number[] = (w.pod?.spec?.containers ?? []).flatMap((c: { ports?: { containerPort: number; protocol?: string }[] }) =>
    (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort));
  return [...new Set(ports.filter((p) => DATABASE_PORTS[p]))].sort((a, b) => a - b);
}

const ADMIN_CONNECTIONS = Object.keys(ADMIN_PORTS).map(Number).reduce((acc, p) => acc.union(ConnectionSet.range('TCP', p, p)), ConnectionSet.NONE);

/** Restricts a connection set to TCP on the given ports. */
function tcpPorts(ports: number[]): (c: ConnectionSet) => ConnectionSet {
  const want = ports.reduce((acc, p) => acc.union(ConnectionSet.range('TCP', p, p)), ConnectionSet.NONE);
  return (c) => c.intersect(want);
}

function uniqueDestinations(edges: readonly Edge[]): { peer: string; protocol: string; port: number; flows: number }[] {
  const m = new Map<string, { peer: string; protocol: string; port: number; flows: number }>();
  for (const e of edges) {
    const key = `${endpointId(e.dst)}|${e.protocol}|${e.port}`;
    const d = m.get(key);
    if (d) d.flows += e.flows; else m.set(key, { peer: endpointId(e.dst), protocol: e.protocol, port: e.port, flows: e.flows });
  }
  return [...m.values()].sort((a, b) => a.peer.localeCompare(b.peer) || a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

function subjectKey(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject);
}

function compareFindings(a: Finding, b: Finding): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id) || subjectKey(a).localeCompare(subjectKey(b));
}
