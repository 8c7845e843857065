/**
 * Simulate throughput: replay observed aggregates against a policy set, the work behind `segmap simulate` and the
 * proof of generated policies. The estate is generated in memory: 400 Deployments of 5 pods (2,000 pods) in 300
 * namespaces, 1,000 NetworkPolicies, each Deployment calling three others, and 1M aggregates between their pods
 * (10% to 50 external addresses).
 */
import { buildIdentity } from '../analyzer/identity.js';
import { PolicyEngine } from '../analyzer/policy/engine.js';
import { parsePolicies } from '../analyzer/policy/parse-policies.js';
import { replay } from '../analyzer/replay.js';
import { inChunks, type K8sObject, type ObservedAggregate } from '../model/index.js';

const DEPLOYMENTS = 400;
const REPLICAS = 5;
const PODS = DEPLOYMENTS * REPLICAS;
const NAMESPACES = 300;
const POLICIES = 1000;
const PORTS = [80, 443, 5432, 6379, 8080, 9090, 50051];
const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;

/** Deterministic xorshift so every run replays the same estate. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const podIp = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

export function simulateEstate(aggregateCount: number): { objects: K8sObject[]; aggregates: () => Iterable<ObservedAggregate> } {
  const rand = rng(42);
  const objects: K8sObject[] = [];
  for (let n = 0; n < NAMESPACES; n++) objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}`, labels: { team: `t${n % 20}` } } });
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const namespace = `ns${d % NAMESPACES}`;
    const labels = { app: `app${d % 50}`, tier: `tier${d % 5}` };
    objects.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `dep${d}`, namespace, uid: `d${d}` }, spec: { selector: { matchLabels: labels } } });
    for (let r = 0; r < REPLICAS; r++) {
      const p = d * REPLICAS + r;
      objects.push({
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          name: `dep${d}-7f9c-${r}`, namespace, uid: `u${p}`, labels: { ...labels, 'pod-template-hash': '7f9c' }, creationTimestamp: '2026-10-31T00:00:00Z',
          ownerReferences: [{ kind: 'ReplicaSet', name: `dep${d}-7f9c`, controller: true }],
        },
        spec: { containers: [{ name: 'c', ports: PORTS.map((port) => ({ containerPort: port })) }] },
        status: { phase: 'Running', podIP: podIp(p) },
      });
    }
  }
  for (let i = 0; i < POLICIES; i++) {
    objects.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `np${i}`, namespace: `ns${i % NAMESPACES}` }, spec: {
      podSelector: { matchLabels: { app: `app${i % 50}` } }, policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${i % 20}` } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['tier1', 'tier2'] }] } }], ports: [{ port: PORTS[i % PORTS.length] }] }],
      egress: [{ to: [{ namespaceSelector: {} }] }, { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ port: 443 }] }],
    } });
  }
  // Streamed in the store's order (grouped by conversation, then time), as `FlowStore.aggregates()` yields them: 20,000
  // conversations of 50 five-minute buckets each. A million live objects would measure the garbage collector instead.
  const BUCKETS = 50;
  function* aggregates(): Generator<ObservedAggregate> {
    for (let c = 0; c < Math.ceil(aggregateCount / BUCKETS); c++) {
      const from = Math.floor(rand() * DEPLOYMENTS);
      const to = (from + [1, 7, 31][Math.floor(rand() * 3)]) % DEPLOYMENTS;
      const external = rand() < 0.1;
      const srcIp = podIp(from * REPLICAS + Math.floor(rand() * REPLICAS));
      const dstIp = external ? `203.0.113.${Math.floor(rand() * 50)}` : podIp(to * REPLICAS + Math.floor(rand() * REPLICAS));
      const dstPort = external ? 443 : PORTS[to % PORTS.length];
      const first = T0 + 300 * Math.floor(rand() * 200);
      for (let k = 0; k < BUCKETS && c * BUCKETS + k < aggregateCount; k++) {
        const at = first + 300 * k;
        yield {
          srcIp, dstIp, srcPort: 0, dstPort, protocol: 6, bucket: at, action: 'ACCEPT',
          flows: 1 + Math.floor(rand() * 20), packets: 10, bytes: 1000, tcpFlags: 2, firstSeen: at, lastSeen: at + 60, inputIds: [1],
        };
      }
    }
  }
  return { objects, aggregates };
}

export interface SimulateFigures {
  aggregates: number;
  /** Replay wall time, including making the aggregates (as a store cursor would). */
  seconds: number;
  /** Making the same aggregates without replaying them: the share of `seconds` that is not segmap's. */
  generateSeconds: number;
  deniedEdges: number;
  deniedFlows: number;
  allowedFlows: number;
}

export async function benchSimulateReplay(aggregateCount = 1_000_000): Promise<SimulateFigures> {
  const { objects, aggregates } = simulateEstate(aggregateCount);
  const identity = buildIdentity([{ takenAt: T0, objects }]);
  const engine = new PolicyEngine(parsePolicies(objects).policies);
  let t0 = performance.now();
  let n = 0;
  for (const _ of simulateEstate(aggregateCount).aggregates()) n++;
  const generateSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const r = await replay(identity, inChunks(aggregates()), engine);
  const seconds = (performance.now() - t0) / 1000;
  if (n !== r.aggregates) throw new Error(`replayed ${r.aggregates} of ${n} aggregates`);
  return { aggregates: r.aggregates, seconds, generateSeconds, deniedEdges: r.denied.length, deniedFlows: r.deniedFlows, allowedFlows: r.allowedFlows };
}
