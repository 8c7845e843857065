import {
  endpointId, identityEndpoint, k8sTime, stableLabels, selectorMatches, UNSTABLE_LABELS,
  type ClusterSnapshot, type DnsEvidence, type ContainerPort, type OwnerReference, type Endpoint, type K8sObject, type LabelSelector, type WorkloadKind,
} from '../model/index.js';

/** A workload (owner-chain root) with what the graph and policy synthesis need to know about it. */
export interface Workload {
  endpoint: Endpoint & { kind: WorkloadKind; namespace: string; name: string };
  labels: Record<string, string>;
  serviceAccount: string;
  hostNetwork: boolean;
  /** Its newest pod still running (else its newest pod): stands for the workload when evaluating policies. */
  pod?: K8sObject;
  /** No pod of it was in any snapshot: `pod` was made from the controller's template. */
  fromTemplate?: boolean;
  /**
   * What selects its pods across rollouts: the controller's `spec.selector` (a CronJob's or Job's: its pod template's
   * labels) without per-revision / per-run labels. Undefined when nothing stable is left to select on.
   */
  selector?: LabelSelector;
  /** `TCP/8080` → port name, only where every pod of the workload seen so far names that port the same. */
  portNames?: Record<string, string>;
  /** Nodes its pods ran on (sorted): which workloads could talk without ever leaving a node. */
  nodes?: string[];
  /** CronJobs: `spec.schedule` (and `spec.timeZone`), to judge whether an observation window can have seen a run. */
  schedule?: { cron: string; timeZone?: string };
}

/** Who holds an address during an interval, and which (protocol, port)s it listens on there. */
export interface Holder {
  endpoint: Endpoint;
  /** Pods only: what policy evaluation needs to know about this very pod. */
  pod?: { name: string; namespace: string; labels: Record<string, string>; containerPorts: ContainerPort[]; nodeName?: string };
  /** `TCP/8080`-style keys. */
  listens: ReadonlySet<string>;
  /** Set on holders made up for addresses no cluster object held. */
  ip?: string;
  /** Node addresses only: workloads in the host network namespace, by the port they listen on. */
  hostListeners?: Map<string, Endpoint>;
}

export interface Interval { start: number; end: number; holder: Holder }

const NEG_INF = Number.NEGATIVE_INFINITY;
const POS_INF = Number.POSITIVE_INFINITY;
const DEFAULT_GRACE_SECONDS = 30;

const NO_PORTS: ReadonlySet<string> = new Set();

export const portKey = (protocol: string, port: number) => `${protocol}/${port}`;

/**
 * IP-ownership over time, built from every cluster snapshot. Pods die and their IPs are reused within minutes, so an
 * address is only ever resolved together with a time.
 */
export class IdentityIndex {
  constructor(
    private readonly byIp: Map<string, Interval[]>,
    readonly workloads: Workload[],
    /** The newest version of every object not known to be gone: the cluster "now" (policies, namespaces, nodes). */
    readonly current: K8sObject[],
  ) {}

  /** Labels of a namespace as Kubernetes sets them (the automatic `kubernetes.io/metadata.name` included). */
  namespaceLabels(ns: string): Record<string, string> {
    let cached = this.nsLabels.get(ns);
    if (!cached) {
      const obj = this.current.find((o) => o.kind === 'Namespace' && o.metadata.name === ns);
      cached = { ...(obj?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns };
      this.nsLabels.set(ns, cached);
    }
    return cached;
  }

  private readonly nsLabels = new Map<string, Record<string, string>>();

  /** Holder of `ip` at epoch second `t`, or undefined when no known object held it then. */
  holderAt(ip: string, t: number): Holder | undefined {
    return this.intervalAt(ip, t)?.holder;
  }

  /** The ownership interval covering `t` (callers may reuse its holder for any time inside it). */
  intervalAt(ip: string, t: number): Readonly<Interval> | undefined {
    const list = this.byIp.get(ip);
    if (!list) return undefined;
    // Intervals are sorted and disjoint: binary search the last one starting at or before t.
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && t < list[found].end ? list[found] : undefined;
  }

  private readonly outsiders = new Map<string, Holder>();

  /**
   * The holder at `t`, or a stand-in for an address no known object held then: `Unknown` when some cluster object
   * held it at another time (ours, but we cannot tell whose), `External` otherwise. Stand-ins are stable objects, so
   * callers can cache per holder.
   */
  resolve(ip: string, t: number): Holder {
    return this.resolveInterval(ip, t).holder;
  }

  /** `resolve` with the span the answer holds for (a stand-in holds until the next known holder, or forever). */
  resolveInterval(ip: string, t: number): Readonly<Interval> {
    const iv = this.intervalAt(ip, t);
    if (iv) return iv;
    const held = this.everHeld(ip);
    const name = held || this.dns.size === 0 ? undefined : this.dnsName(ip, t);
    const key = name ? `${ip}|${name}` : ip;
    let o = this.outsiders.get(key);
    if (!o) {
      const holder: Holder = { endpoint: held ? { kind: 'Unknown', ip } : { kind: 'External', ip, ...(name ? { name } : {}) }, listens: NO_PORTS, ip };
      this.outsiders.set(key, (o = holder));
    }
    // The gap around t: from the end of the previous holder to the start of the next.
    const list = this.byIp.get(ip) ?? [];
    let start = NEG_INF;
    let end = POS_INF;
    for (const x of list) {
      if (x.end <= t && x.end > start) start = x.end;
      if (x.start > t && x.start < end) end = x.start;
    }
    return { start, end, holder: o };
  }

  /**
   * `resolveInterval`, but a source's identity (Hubble's endpoint) decides who the holder is; the address then only
   * adds pod detail when its holder at `t` is that very workload. Without snapshots the identity alone makes the
   * endpoint, so an identity-carrying source needs no cluster dump.
   */
  resolveWithIdentity(ip: string, t: number, identity: string | undefined): Readonly<Interval> {
    if (!identity) return this.resolveInterval(ip, t);
    const iv = this.resolveInterval(ip, t);
    const held = iv.holder.endpoint;
    const ep = identityEndpoint(identity, ip);
    if (ep?.kind === 'External') return held.kind === 'External' ? iv : this.standIn(`${identity}|${ip}`, { kind: 'External', ip }, ip);
    if (ep?.kind === 'Node') return held.kind === 'Node' ? iv : this.standIn(`${identity}|${ip}`, { kind: 'Node', ip }, ip);
    if (ep?.namespace && ep.name) {
      if (held.namespace === ep.namespace && held.name === ep.name) return iv;
      const wl = this.workloads.find((w) => w.endpoint.namespace === ep.namespace && w.endpoint.name === ep.name);
      return this.standIn(identity, wl?.endpoint ?? (ep as Endpoint), undefined, wl);
    }
    const labels = /^labels:([^:]*):(.*)$/.exec(identity);
    if (labels) {
      if (held.namespace === labels[1] && held.kind !== 'Service') return iv;
      const want = Object.fromEntries(labels[2].split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
      const matches = this.workloads.filter((w) => w.endpoint.namespace === labels[1] && selectorMatches({ matchLabels: want }, w.labels));
      return this.standIn(identity, matches.length === 1 ? matches[0].endpoint : { kind: 'Pod', namespace: labels[1], name: labels[2] }, undefined, matches.length === 1 ? matches[0] : undefined);
    }
    return iv;
  }

  private readonly identityHolders = new Map<string, Interval>();

  /** A holder for an identity; with the workload known from the snapshots, it carries that workload's pod for policies. */
  private standIn(key: string, endpoint: Endpoint, ip?: string, wl?: Workload): Interval {
    let iv = this.identityHolders.get(key);
    if (!iv) {
      const pod = wl?.pod;
      const holder: Holder = {
        endpoint, listens: NO_PORTS, ...(ip ? { ip } : {}),
        ...(pod ? { pod: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', labels: pod.metadata.labels ?? {}, containerPorts: containerPorts(pod) } } : {}),
      };
      this.identityHolders.set(key, (iv = { start: NEG_INF, end: POS_INF, holder }));
    }
    return iv;
  }

  /** DNS answers by address, sorted by start: External peers are named by the answer whose window covers the time. */
  private dns = new Map<string, DnsEvidence[]>();

  setDnsNames(evidence: readonly DnsEvidence[]): void {
    this.dns = new Map();
    for (const d of evidence) (this.dns.get(d.ip) ?? this.dns.set(d.ip, []).get(d.ip)!).push(d);
    for (const list of this.dns.values()) list.sort((a, b) => a.first - b.first || a.name.localeCompare(b.name));
  }

  /** The DNS name of `ip` at `t`: the latest answer whose TTL window covers `t` (else none: absence is no evidence). */
  dnsName(ip: string, t: number): string | undefined {
    const list = this.dns.get(ip);
    if (!list) return undefined;
    let name: string | undefined;
    for (const d of list) if (d.first <= t && t <= d.last) name = d.name;
    return name;
  }

  /** Whether any cluster object ever held this address (then a gap means "unknown", not "external"). */
  everHeld(ip: string): boolean {
    return this.byIp.has(ip);
  }
}

/** One object across snapshots: its newest version and when it was (last) seen and first missed. */
interface Tracked {
  obj: K8sObject;
  lastSeen: number;
  /** First snapshot after `lastSeen` that listed objects of this kind in this namespace but not this one. */
  goneBy?: number;
}

function objectKey(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}/${o.metadata.uid ?? ''}`;
}

/**
 * A snapshot plus what live collection (`collect k8s`) knows about it. A dump has neither field.
 * - `event`: one watch event (`ADDED`, `MODIFIED`, `DELETED`). It speaks only for the objects it holds, so it is never
 *   evidence that another object is gone; `DELETED` ends its object at `takenAt`.
 * - `kinds`: a listing that holds these kinds completely, cluster-wide: a missing object is gone even from a namespace
 *   that now has none of its kind.
 */
export interface SnapshotEvidence extends ClusterSnapshot {
  event?: string;
  kinds?: readonly string[];
}

function track(snapshots: SnapshotEvidence[]): Map<string, Tracked> {
  const sorted = [...snapshots].sort((a, b) => a.takenAt - b.takenAt);
  const tracked = new Map<string, Tracked>();
  for (const snap of sorted) {
    if (snap.event) {
      for (const o of snap.objects) {
        tracked.set(objectKey(o), { obj: o, lastSeen: snap.takenAt, ...(snap.event === 'DELETED' ? { goneBy: snap.takenAt } : {}) });
      }
      continue;
    }
    const present = new Set<string>();
    const coverage = new Set<string>();
    for (const o of snap.objects) {
      const k = objectKey(o);
      present.add(k);
      coverage.add(`${o.kind}/${o.metadata.namespace ?? ''}`);
      tracked.set(k, { obj: o, lastSeen: snap.takenAt });
    }
    // A dump that lists pods in a namespace but not this one is evidence the pod is gone; one that lists no pods there
    // (a partial dump) says nothing.
    for (const [k, t] of tracked) {
      if (present.has(k) || t.goneBy !== undefined || t.lastSeen >= snap.takenAt) continue;
      if (coverage.has(`${t.obj.kind}/${t.obj.metadata.namespace ?? ''}`) || snap.kinds?.includes(t.obj.kind)) t.goneBy = snap.takenAt;
    }
  }
  return tracked;
}

export function buildIdentity(snapshots: SnapshotEvidence[]): IdentityIndex {
  const tracked = [...track(snapshots).values()];
  const byKind = (kind: string) => tracked.filter((t) => t.obj.kind === kind);
  const owners = new Map<string, K8sObject>();
  for (const t of tracked) {
    owners.set(`${t.obj.kind}/${t.obj.metadata.namespace ?? ''}/${t.obj.metadata.name}`, t.obj);
    if (t.obj.metadata.uid) owners.set(`uid:${t.obj.metadata.uid}`, t.obj);
  }
  const services = byKind('Service').map((t) => t.obj);
  const workloads = new Map<string, Workload>();
  const intervals = new Map<string, Interval[]>();
  const add = (ip: string, iv: Interval) => {
    const list = intervals.get(ip);
    if (list) list.push(iv); else intervals.set(ip, [iv]);
  };
  const nodeHostListeners = new Map<string, Map<string, Endpoint>>();
  // Rank of each workload's representative pod: running beats finished or gone, then newest first.
  const representativeRank = new Map<string, string>();
  const portNames = new PortNameConsensus();
  const nodesOf = new Map<string, Set<string>>();

  for (const t of byKind('Pod')) {
    const pod = t.obj;
    const wl = rootWorkload(pod, owners);
    const key = `${wl.endpoint.namespace}/${wl.endpoint.name}[${wl.endpoint.kind}]`;
    const known = workloads.get(key) ?? workloads.set(key, wl).get(key)!;
    const alive = t.goneBy === undefined && !/^(Succeeded|Failed)$/.test(pod.status?.phase ?? '');
    const rank = `${alive ? 1 : 0}${pod.metadata.creationTimestamp ?? ''}`;
    if (!known.pod || rank > (representativeRank.get(key) ?? '')) {
      known.pod = pod;
      representativeRank.set(key, rank);
    }
    portNames.add(key, containerPorts(pod));
    if (pod.spec?.nodeName) (nodesOf.get(key) ?? nodesOf.set(key, new Set()).get(key)!).add(String(pod.spec.nodeName));
    const ports = podListeningPorts(pod, services);
    if (pod.spec?.hostNetwork) {
      // Its address is the node's: the node holds it; the workload is known only by the port it listens on.
      const node = String(pod.spec?.nodeName ?? '');
      const m = nodeHostListeners.get(node) ?? new Map<string, Endpoint>();
      for (const p of ports) m.set(p, wl.endpoint);
      nodeHostListeners.set(node, m);
      continue;
    }
    const ips = podIps(pod);
    if (ips.length === 0) continue;
    const start = k8sTime(pod.metadata.creationTimestamp) ?? k8sTime(pod.status?.startTime) ?? NEG_INF;
    const holder: Holder = {
      endpoint: wl.endpoint, listens: ports,
      pod: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', labels: pod.metadata.labels ?? {}, containerPorts: containerPorts(pod), nodeName: pod.spec?.nodeName },
    };
    for (const ip of ips) add(ip, { start, end: podEnd(pod, t), holder });
  }

  // Controllers with no pod in any snapshot (a manifest, or scaled to zero) are workloads too, stood for by a pod
  // made from their template: policies select them, and identity-carrying flows (Hubble) name them.
  for (const t of tracked) {
    const o = t.obj;
    if (t.goneBy !== undefined || !TOP_LEVEL_KINDS.has(o.kind) || (o.metadata.ownerReferences ?? []).some((r) => r.controller)) continue;
    const ns = o.metadata.namespace ?? 'default';
    if (workloads.has(`${ns}/${o.metadata.name}[${o.kind}]`)) continue;
    const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
    if (!template) continue;
    const pod: K8sObject = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `${o.metadata.name}-template`, namespace: ns, labels: template.metadata?.labels ?? {},
        ownerReferences: [{ kind: o.kind, name: o.metadata.name, ...(o.metadata.uid ? { uid: o.metadata.uid } : {}), controller: true }],
      },
      spec: template.spec ?? {},
    };
    const wl = rootWorkload(pod, owners);
    wl.pod = pod;
    wl.fromTemplate = true;
    workloads.set(`${ns}/${o.metadata.name}[${o.kind}]`, wl);
  }

  for (const t of byKind('Node')) {
    const node = t.obj;
    const listens = new Set<string>([portKey('TCP', 10250)]);
    for (const s of services) for (const p of s.spec?.ports ?? []) if (p.nodePort) listens.add(portKey(p.protocol ?? 'TCP', p.nodePort));
    const holder: Holder = {
      endpoint: { kind: 'Node', name: node.metadata.name },
      listens,
      hostListeners: nodeHostListeners.get(node.metadata.name) ?? new Map(),
    };
    for (const h of holder.hostListeners!.keys()) listens.add(h);
    const start = k8sTime(node.metadata.creationTimestamp) ?? NEG_INF;
    for (const a of node.status?.addresses ?? []) {
      if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address) add(a.address, { start, end: t.goneBy ?? POS_INF, holder });
    }
  }

  for (const t of byKind('Service')) {
    const svc = t.obj;
    const ips: string[] = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).filter((ip: unknown) => typeof ip === 'string' && ip !== 'None' && ip !== '');
    const listens = new Set<string>((svc.spec?.ports ?? []).map((p: { protocol?: string; port: number }) => portKey(p.protocol ?? 'TCP', p.port)));
    const holder: Holder = { endpoint: { kind: 'Service', namespace: svc.metadata.namespace ?? 'default', name: svc.metadata.name }, listens };
    const start = k8sTime(svc.metadata.creationTimestamp) ?? NEG_INF;
    for (const ip of ips) add(ip, { start, end: t.goneBy ?? POS_INF, holder });
  }

  // One address, one holder at a time: a later holder's start ends the earlier one's claim. This is what keeps a
  // finished Job pod (which still shows its podIP) or a vanished pod from claiming traffic of the address's next owner.
  for (const list of intervals.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i + 1 < list.length; i++) if (list[i].end > list[i + 1].start) list[i].end = list[i + 1].start;
  }
  for (const [key, wl] of workloads) {
    wl.portNames = portNames.agreed(key);
    wl.nodes = [...(nodesOf.get(key) ?? [])].sort();
  }
  const sortedWorkloads = [...workloads.values()].sort((a, b) =>
    `${a.endpoint.namespace}/${a.endpoint.name}`.localeCompare(`${b.endpoint.namespace}/${b.endpoint.name}`));
  const current = tracked.filter((t) => t.goneBy === undefined).map((t) => t.obj);
  return new IdentityIndex(intervals, sortedWorkloads, current);
}

function podIps(pod: K8sObject): string[] {
  const fromList = (pod.status?.podIPs ?? []).map((p: { ip?: string }) => p.ip).filter((ip: unknown): ip is string => typeof ip === 'string');
  if (fromList.length > 0) return fromList;
  return typeof pod.status?.podIP === 'string' && pod.status.podIP ? [pod.status.podIP] : [];
}

/** When the pod stopped holding its address: finished, deleted (after its grace period), or missing from a later dump. */
function podEnd(pod: K8sObject, t: Tracked): number {
  let end = t.goneBy ?? POS_INF;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    // Kubernetes keeps status.podIP on a finished pod, but the CNI has already released the address.
    let finished: number | undefined;
    for (const cs of pod.status?.containerStatuses ?? []) {
      const f = k8sTime(cs.state?.terminated?.finishedAt);
      if (f !== undefined && (finished === undefined || f > finished)) finished = f;
    }
    end = Math.min(end, finished ?? t.lastSeen);
  }
  const deleted = k8sTime(pod.metadata.deletionTimestamp);
  if (deleted !== undefined) end = Math.min(end, deleted + Number(pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS));
  return end;
}

function containerPorts(pod: K8sObject): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) out.push(p);
  return out;
}

/** containerPorts plus every Service targetPort that selects the pod (named target ports resolved on this pod). */
export function podListeningPorts(pod: K8sObject, services: K8sObject[]): Set<string> {
  const cps = containerPorts(pod);
  const listens = new Set<string>(cps.map((p) => portKey(p.protocol ?? 'TCP', p.containerPort)));
  const ns = pod.metadata.namespace ?? 'default';
  for (const svc of services) {
    if ((svc.metadata.namespace ?? 'default') !== ns || !svc.spec?.selector) continue;
    if (!selectorMatches({ matchLabels: svc.spec.selector }, pod.metadata.labels)) continue;
    for (const sp of svc.spec?.ports ?? []) {
      const proto = sp.protocol ?? 'TCP';
      const target = sp.targetPort ?? sp.port;
      if (typeof target === 'number') listens.add(portKey(proto, target));
      else {
        const named = cps.find((c) => c.name === target && (c.protocol ?? 'TCP') === proto);
        if (named) listens.add(portKey(proto, named.containerPort));
        else if (/^\d+$/.test(String(target))) listens.add(portKey(proto, Number(target)));
      }
    }
  }
  return listens;
}

const CONTROLLER_KINDS = new Set(['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']);
/** Controllers that are workloads when nothing owns them (a ReplicaSet or Job usually belongs to one of these). */
const TOP_LEVEL_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicationController']);

/** Follow controller owner references to the root; when an intermediate object is missing, infer from naming. */
export function rootWorkload(pod: K8sObject, owners: Map<string, K8sObject>): Workload {
  const ns = pod.metadata.namespace ?? 'default';
  let kind: string = 'Pod';
  let name = pod.metadata.name;
  let current: K8sObject | undefined = pod;
  for (let depth = 0; current && depth < 5; depth++) {
    const refs: OwnerReference[] = current.metadata.ownerReferences ?? [];
    const ref: OwnerReference | undefined = refs.find((r) => r.controller) ?? refs[0];
    if (!ref || !CONTROLLER_KINDS.has(ref.kind)) break;
    kind = ref.kind;
    name = ref.name;
    current = (ref.uid ? owners.get(`uid:${ref.uid}`) : undefined) ?? owners.get(`${ref.kind}/${ns}/${ref.name}`);
    if (!current) {
      // The ReplicaSet / Job object was not in the dump: its name still tells its parent.
      const inferred = inferParent(kind, name, pod, ns, owners);
      if (inferred) { kind = inferred.kind; name = inferred.name; }
      break;
    }
  }
  const root = current && current !== pod ? current : undefined;
  const template = root ? root.spec?.template ?? root.spec?.jobTemplate?.spec?.template : undefined;
  const labels = stableLabels(template?.metadata?.labels ?? pod.metadata.labels);
  const spec = template?.spec ?? pod.spec ?? {};
  const selector = workloadSelector(kind, root, labels);
  return {
    endpoint: { kind: kind as WorkloadKind, namespace: ns, name },
    labels,
    serviceAccount: spec.serviceAccountName ?? spec.serviceAccount ?? 'default',
    hostNetwork: Boolean(spec.hostNetwork),
    ...(selector ? { selector } : {}),
    ...(kind === 'CronJob' && typeof root?.spec?.schedule === 'string'
      ? { schedule: { cron: root.spec.schedule, ...(root.spec.timeZone ? { timeZone: String(root.spec.timeZone) } : {}) } }
      : {}),
  };
}

/**
 * The controller's own selector, minus per-revision / per-run keys (a selector on `pod-template-hash` stops matching
 * after the next rollout). Jobs and CronJobs select on a per-run uid, so their template's stable labels stand in;
 * so do a bare pod's, or those of a pod whose controller is missing from the dumps.
 */
export function workloadSelector(kind: string, root: K8sObject | undefined, stable: Record<string, string>): LabelSelector | undefined {
  const own = root && kind !== 'Job' && kind !== 'CronJob' ? root.spec?.selector : undefined;
  // A ReplicationController's selector is a plain label map.
  const sel: LabelSelector | undefined = own && (own.matchLabels || own.matchExpressions) ? own : own ? { matchLabels: own } : undefined;
  const matchLabels = stableLabels(sel?.matchLabels);
  const matchExpressions = (sel?.matchExpressions ?? []).filter((r) => !UNSTABLE_LABELS.includes(r.key));
  if (Object.keys(matchLabels).length > 0 || matchExpressions.length > 0) {
    return { ...(Object.keys(matchLabels).length ? { matchLabels } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
  }
  return Object.keys(stable).length > 0 ? { matchLabels: stable } : undefined;
}

/** Port names every pod of a workload agrees on; one pod without the name, or with another, drops the port. */
class PortNameConsensus {
  private readonly seen = new Map<string, { pods: number; names: Map<string, { name: string; pods: number } | null> }>();

  add(workload: string, ports: ContainerPort[]): void {
    const w = this.seen.get(workload) ?? this.seen.set(workload, { pods: 0, names: new Map() }).get(workload)!;
    w.pods++;
    for (const p of ports) {
      if (!p.name) continue;
      const key = portKey(p.protocol ?? 'TCP', p.containerPort);
      const prev = w.names.get(key);
      if (prev === undefined) w.names.set(key, { name: p.name, pods: 1 });
      else if (prev && prev.name === p.name) prev.pods++;
      else w.names.set(key, null);
    }
  }

  agreed(workload: string): Record<string, string> {
    const w = this.seen.get(workload);
    const out: Record<string, string> = {};
    for (const [key, v] of w?.names ?? []) if (v && v.pods === w!.pods) out[key] = v.name;
    return out;
  }
}

function inferParent(kind: string, name: string, pod: K8sObject, ns: string, owners: Map<string, K8sObject>): { kind: string; name: string } | undefined {
  if (kind === 'ReplicaSet') {
    const hash = pod.metadata.labels?.['pod-template-hash'];
    if (hash && name.endsWith(`-${hash}`)) {
      const dep = name.slice(0, -hash.length - 1);
      if (owners.has(`Deployment/${ns}/${dep}`)) return { kind: 'Deployment', name: dep };
    }
  }
  if (kind === 'Job') {
    const m = /^(.*)-\d+$/.exec(name);
    if (m && owners.has(`CronJob/${ns}/${m[1]}`)) return { kind: 'CronJob', name: m[1] };
  }
  return undefined;
}
