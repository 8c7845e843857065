/**
 * What a Service address stands for once kube-proxy has translated it. NetworkPolicy is enforced after the DNAT: a
 * connection to ClusterIP:port is judged as a connection to one of the Service's backends on its target port. Both
 * policy synthesis (`intents.ts`) and the replay proof (`replay.ts`) ask this one question, so they agree.
 *
 * Backends, best evidence first:
 *   1. the Service's EndpointSlices (else its legacy Endpoints): the pods (by `targetRef`, else by address) or plain
 *      addresses they list, on the port the slice gives for the Service port's name — already the resolved target port;
 *   2. without any, its selector: the pods in its namespace that match, on `targetPort` (a name is resolved on each
 *      pod's containers; a pod that does not name it does not serve the port).
 * Every listed endpoint counts, ready or not: one snapshot's readiness says little about the whole window.
 * A Service with neither (ExternalName, no ClusterIP to be seen; or no endpoints at all) has no backends: callers
 * report it instead of guessing.
 */
import { selectorMatches, type K8sObject } from '../model/index.js';
import type { IdentityIndex } from './identity.js';

export interface ServiceBackend {
  /** A pod behind the Service. */
  pod?: K8sObject;
  /** An address behind it that no pod holds (selector-less Services: the API server, an outside database). */
  ip?: string;
  /** The backend's own (target) port for the Service port asked about. */
  port: number;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const NONE: readonly ServiceBackend[] = [];

interface SlicePort { name?: string; port?: number; protocol?: string }

export class ServiceBackends {
  private readonly services = new Map<string, K8sObject>();
  private readonly slices = new Map<string, K8sObject[]>();
  private readonly endpoints = new Map<string, K8sObject>();
  private readonly podsByNs = new Map<string, K8sObject[]>();
  private readonly podsByName = new Map<string, K8sObject>();
  private readonly podsByIp = new Map<string, K8sObject>();
  private readonly cache = new Map<string, readonly ServiceBackend[]>();

  /**
   * `current`: the cluster now (Services, EndpointSlices, Endpoints, Pods). `standIns`: pods made from controllers'
   * templates (workloads known only from manifests), matched by selector only when no real pod matches.
   */
  constructor(current: readonly K8sObject[], private readonly standIns: readonly K8sObject[] = []) {
    for (const o of current) {
      const ns = o.metadata.namespace ?? 'default';
      if (o.kind === 'Service') this.services.set(`${ns}/${o.metadata.name}`, o);
      else if (o.kind === 'Endpoints') this.endpoints.set(`${ns}/${o.metadata.name}`, o);
      else if (o.kind === 'EndpointSlice') {
        const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
        if (svc) push(this.slices, `${ns}/${svc}`, o);
      } else if (o.kind === 'Pod' && !/^(Succeeded|Failed)$/.test(o.status?.phase ?? '')) {
        push(this.podsByNs, ns, o);
        this.podsByName.set(`${ns}/${o.metadata.name}`, o);
        for (const ip of podIps(o)) this.podsByIp.set(ip, o);
      }
    }
  }

  /** The Service object, if the cluster has it. */
  service(namespace: string, name: string): K8sObject | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  /** Backends of `namespace/name` for its Service port `protocol`/`port` (empty: none known). Cached per question. */
  resolve(namespace: string, name: string, protocol: string, port: number): readonly ServiceBackend[] {
    const key = `${namespace}/${name}|${protocol}/${port}`;
    let out = this.cache.get(key);
    if (!out) this.cache.set(key, (out = this.compute(namespace, name, protocol, port)));
    return out;
  }

  /** The Service port's own target port when it is a number (or absent: the port itself); undefined for a name. */
  numericTargetPort(namespace: string, name: string, protocol: string, port: number): number | undefined {
    const sp = servicePort(this.service(namespace, name), protocol, port);
    return sp ? numericTarget(sp) : undefined;
  }

  private compute(namespace: string, name: string, protocol: string, port: number): readonly ServiceBackend[] {
    const svc = this.service(namespace, name);
    if (!svc || svc.spec?.type === 'ExternalName') return NONE;
    const sp = servicePort(svc, protocol, port);
    if (!sp) return NONE; // kube-proxy has no rule for a port the Service does not define
    const out = new Backends();
    const key = `${namespace}/${name}`;
    const fallbackPort = numericTarget(sp);
    const addressed = (ip: string, targetRef: { kind?: string; name?: string; namespace?: string } | undefined, p: number) => {
      const byRef = targetRef?.kind === 'Pod' && targetRef.name ? this.podsByName.get(`${targetRef.namespace ?? namespace}/${targetRef.name}`) : undefined;
      const pod = byRef ?? this.podsByIp.get(ip);
      out.add(pod ? { pod, port: p } : { ip, port: p });
    };
    const slices = this.slices.get(key) ?? [];
    for (const slice of slices) {
      if (slice.addressType && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN slices
      const ports: SlicePort[] = (slice as any).ports ?? [];
      // No ports in a slice means none are defined; a hand-written slice without them still backs the target port.
      const sliced = ports.length === 0 ? fallbackPort : ports.find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === protocol)?.port;
      if (sliced === undefined) continue;
      for (const ep of (slice as any).endpoints ?? []) for (const ip of ep.addresses ?? []) addressed(ip, ep.targetRef, sliced);
    }
    if (out.size === 0 && slices.length === 0) {
      const eps = this.endpoints.get(key);
      for (const subset of (eps as any)?.subsets ?? []) {
        const ports: SlicePort[] = subset.ports ?? [];
        const p = ports.length === 0 ? fallbackPort : ports.find((x) => (x.name ?? '') === (sp.name ?? '') && (x.protocol ?? 'TCP') === protocol)?.port;
        if (p === undefined) continue;
        for (const a of [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])]) if (a.ip) addressed(a.ip, a.targetRef, p);
      }
    }
    if (out.size === 0 && svc.spec?.selector && Object.keys(svc.spec.selector).length > 0) {
      const sel = { matchLabels: svc.spec.selector as Record<string, string> };
      const match = (pods: readonly K8sObject[]) => {
        for (const pod of pods) {
          if ((pod.metadata.namespace ?? 'default') !== namespace || !selectorMatches(sel, pod.metadata.labels)) continue;
          const p = targetPortOn(pod, sp, protocol);
          if (p !== undefined) out.add({ pod, port: p });
        }
      };
      match(this.podsByNs.get(namespace) ?? []);
      if (out.size === 0) match(this.standIns);
    }
    return out.list;
  }
}

/** Backends without duplicates (a pod listed by two slices, an address twice). */
class Backends {
  readonly list: ServiceBackend[] = [];
  private readonly seen = new Set<string>();
  get size(): number { return this.list.length; }
  add(b: ServiceBackend): void {
    const k = b.pod ? `pod:${b.pod.metadata.namespace ?? 'default'}/${b.pod.metadata.name}|${b.port}` : `ip:${b.ip}|${b.port}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.list.push(b);
  }
}

type ServicePortSpec = { name?: string; port: number; protocol?: string; targetPort?: number | string };

function servicePort(svc: K8sObject | undefined, protocol: string, port: number): ServicePortSpec | undefined {
  return (svc?.spec?.ports ?? []).find((p: ServicePortSpec) => p.port === port && (p.protocol ?? 'TCP') === protocol);
}

function numericTarget(sp: ServicePortSpec): number | undefined {
  const t = sp.targetPort ?? sp.port;
  return typeof t === 'number' ? t : /^\d+$/.test(String(t)) ? Number(t) : undefined;
}

/** The Service port's target on one pod: a number, or a container port name resolved on this pod (same protocol). */
export function targetPortOn(pod: K8sObject, sp: ServicePortSpec, protocol: string): number | undefined {
  const numeric = numericTarget(sp);
  if (numeric !== undefined) return numeric;
  const t = sp.targetPort;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === t && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

function podIps(pod: K8sObject): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p: { ip?: string }) => p.ip).filter((ip: unknown): ip is string => typeof ip === 'string');
  return ips.length > 0 ? ips : typeof pod.status?.podIP === 'string' && pod.status.podIP ? [pod.status.podIP] : [];
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

/** The backends of every Service in the current snapshot; controllers without pods stand in through their template. */
export function serviceBackendsOf(identity: IdentityIndex): ServiceBackends {
  return new ServiceBackends(identity.current, identity.workloads.filter((w) => w.fromTemplate && w.pod).map((w) => w.pod!));
}
