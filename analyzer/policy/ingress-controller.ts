import { selectorMatches, type K8sObject } from '../../model/index.js';
import type { WorkloadPod } from './cluster.js';
import { ConnectionSet } from './connections.js';
import { DEFAULT_NAMESPACE } from './parse-policies.js';

/**
 * Connections an ingress controller needs, from Routes and Ingresses: np-guard's `{ingress-controller}` peer. Each
 * backend Service resolves to the workloads it selects and to the TCP target port(s) those pods actually expose.
 */

/** Kubernetes IntOrString as np-guard compares it (type included). */
interface IntOrString { isString: boolean; int: number; str: string }
const UNSET: IntOrString = { isString: false, int: 0, str: '' };

function intOrString(v: unknown): IntOrString {
  if (typeof v === 'number') return { isString: false, int: v, str: '' };
  if (typeof v === 'string' && v !== '') return { isString: true, int: 0, str: v };
  return UNSET;
}

interface ServicePort { name: string; port: number; targetPort: IntOrString }
interface Backend { service: string; port: IntOrString }

export interface IngressTarget { pod: WorkloadPod; connections: ConnectionSet; objects: string[] }

export function ingressControllerTargets(
  workloads: readonly WorkloadPod[], services: readonly K8sObject[], routes: readonly K8sObject[], ingresses: readonly K8sObject[],
  warn: (msg: string) => void,
): IngressTarget[] {
  const servicesByNs = new Map<string, Map<string, { pods: WorkloadPod[]; ports: ServicePort[] }>>();
  for (const svc of services) {
    const ns = svc.metadata.namespace || DEFAULT_NAMESPACE;
    const selector = svc.spec?.selector as Record<string, string> | undefined | null;
    if (!selector) {
      warn(`Ignoring Service ${ns}/${svc.metadata.name}: K8s Service without selectors is not supported`);
      continue;
    }
    const pods = workloads.filter((w) => w.namespace === ns && selectorMatches({ matchLabels: selector }, w.labels as Record<string, string>));
    if (pods.length === 0) continue;
    const ports = (Array.isArray(svc.spec?.ports) ? svc.spec.ports : []).map((p: any) => ({
      name: String(p?.name ?? ''), port: Number(p?.port ?? 0), targetPort: intOrString(p?.targetPort),
    }));
    if (!servicesByNs.has(ns)) servicesByNs.set(ns, new Map());
    servicesByNs.get(ns)!.set(svc.metadata.name, { pods, ports });
  }
  const frontends: { ns: string; id: string; backends: Backend[] }[] = [
    ...routes.map((r) => ({ ns: r.metadata.namespace || DEFAULT_NAMESPACE, id: `Route ${r.metadata.name}`, backends: routeBackends(r, warn) })),
    ...ingresses.map((i) => ({ ns: i.metadata.namespace || DEFAULT_NAMESPACE, id: `Ingress ${i.metadata.name}`, backends: ingressBackends(i, warn) })),
  ].filter((f) => f.backends.length > 0);
  if (servicesByNs.size === 0 || frontends.length === 0) return [];

  const byWorkload = new Map<string, IngressTarget>();
  for (const f of frontends) {
    const nsServices = servicesByNs.get(f.ns);
    if (!nsServices) continue;
    for (const b of f.backends) {
      const svc = nsServices.get(b.service);
      if (!svc) {
        warn(`Ignoring target service ${b.service} : service not found`);
        continue;
      }
      for (const pod of svc.pods) {
        const conns = backendConnections(pod, svc.ports, b.port);
        const prev = byWorkload.get(pod.workload.id);
        if (prev) {
          prev.connections = prev.connections.union(conns);
          prev.objects.push(`${f.id}`);
        } else byWorkload.set(pod.workload.id, { pod, connections: conns, objects: [`${f.id}`] });
      }
    }
  }
  return [...byWorkload.values()];
}

function routeBackends(r: K8sObject, warn: (m: string) => void): Backend[] {
  const port = intOrString(r.spec?.port?.targetPort);
  const out: Backend[] = [];
  const to = r.spec?.to ?? {};
  if (to.kind && to.kind !== 'Service') warn(`Route ${r.metadata.name}: ignoring target with unsupported kind`);
  else out.push({ service: String(to.name ?? ''), port });
  for (const b of Array.isArray(r.spec?.alternateBackends) ? r.spec.alternateBackends : []) {
    if (b?.kind && b.kind !== 'Service') warn(`Route ${r.metadata.name}: ignoring alternate backend without Service`);
    else out.push({ service: String(b?.name ?? ''), port });
  }
  return out;
}

function ingressBackends(i: K8sObject, warn: (m: string) => void): Backend[] {
  const out: Backend[] = [];
  // An Ingress backend named port keeps the integer type in np-guard's struct; reproduce that for equal comparisons.
  const backend = (svc: any): Backend => ({
    service: String(svc.name ?? ''),
    port: svc.port?.name ? { isString: false, int: 0, str: String(svc.port.name) } : { isString: false, int: Number(svc.port?.number ?? 0), str: '' },
  });
  const def = i.spec?.defaultBackend;
  if (def) {
    if (def.service) out.push(backend(def.service));
    else warn(`Ingress ${i.metadata.name}: ignoring default backend`);
  }
  for (const rule of Array.isArray(i.spec?.rules) ? i.spec.rules : []) {
    for (const path of Array.isArray(rule?.http?.paths) ? rule.http.paths : []) {
      if (path?.backend?.service) out.push(backend(path.backend.service));
      else warn(`Ingress ${i.metadata.name}: ignoring rule backend without Service`);
    }
  }
  return out;
}

function sameIntOrString(a: IntOrString, b: IntOrString): boolean {
  return a.isString === b.isString && a.int === b.int && a.str === b.str;
}

/** The pod ports a backend reaches: the matching Service port's targetPort (or its port), or every port when unspecified. */
function podAccessPorts(ports: readonly ServicePort[], required: IntOrString): IntOrString[] {
  const out: IntOrString[] = [];
  const requiredEmpty = required.int === 0 && required.str === '';
  for (const sp of ports) {
    const access = sp.targetPort.int !== 0 || sp.targetPort.str !== '' ? sp.targetPort : { isString: false, int: sp.port, str: '' };
    if (requiredEmpty) out.push(access);
    else if ((sp.name !== '' && sp.name === required.str) || sp.port === required.int || sameIntOrString(sp.targetPort, required)) return [access];
  }
  return out;
}

function backendConnections(pod: WorkloadPod, ports: readonly ServicePort[], required: IntOrString): ConnectionSet {
  let out = ConnectionSet.NONE;
  for (const access of podAccessPorts(ports, required)) {
    let port = access.isString ? Number.parseInt(access.str, 10) || 0 : access.int;
    if (access.str !== '') {
      const cp = pod.containerPorts.find((p) => p.name === access.str);
      if (!cp || (cp.protocol || 'TCP').toUpperCase() !== 'TCP') continue; // only TCP reaches a pod through an Ingress
      port = cp.containerPort;
    }
    // np-guard counts every declared containerPort as exposed TCP, whatever its protocol.
    if (pod.containerPorts.some((p) => p.containerPort === port)) out = out.union(ConnectionSet.range('TCP', port, port));
  }
  return out;
}
