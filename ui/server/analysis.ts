import { orient } from '../../analyzer/graph.js';
import type { IdentityIndex } from '../../analyzer/identity.js';
import { replay } from '../../analyzer/replay.js';
import { k8sDump } from '../../collector/k8s-dump.js';
import { newReadContext } from '../../collector/source.js';
import { endpointId, formatIssue, protocolName, type Edge, type Finding, type Graph, type K8sObject, type WorkloadRisk } from '../../model/index.js';
import type { FlowStore, TimeWindow } from '../../store/backend.js';
import type { SaAuditResult } from '../../analyzer/sa-audit.js';
import { analyzeGraph, analyzeServiceAccounts, loadIdentity, policyEngine, rankRisk, trafficFindings } from '../pipeline.js';
import { mergePolicies, POLICY_KINDS } from '../policy-input.js';
import type {
  EdgeDetail, FlowRow, GraphFilters, Meta, PeerRow, SimulateRequest, SimulateResult, WorkloadDetail,
} from '../web/api-types.js';
import { HttpError } from './errors.js';

const CACHED_WINDOWS = 8;
export const EDGE_FLOW_LIMIT = 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

/** Query-string times: ISO 8601 or epoch seconds (relative durations would make shared links drift). */
export function parseWindow(since: unknown, until: unknown): TimeWindow {
  const one = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new HttpError(400, `${name}: expected one value`);
    if (/^\d{9,11}$/.test(v)) return Number(v);
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new HttpError(400, `${name}: cannot read time "${v.slice(0, 60)}" (use ISO 8601 or epoch seconds)`);
    return Math.floor(ms / 1000);
  };
  const w = { since: one(since, 'since'), until: one(until, 'until') };
  if (w.since !== undefined && w.until !== undefined && w.since >= w.until) throw new HttpError(400, 'since must be before until');
  return w;
}

interface WindowResult { graph: Graph; findings?: Finding[]; accounts?: Promise<SaAuditResult> }

/**
 * The analysis behind the API, computed once per store state and time window. The server never writes; when an
 * `ingest` in another process commits, the store's version changes and everything is recomputed on next use.
 * Results are cached as promises, so concurrent requests for the same window share one computation.
 */
export class Analysis {
  private version?: string;
  private identityCache?: Promise<IdentityIndex>;
  private readonly windows = new Map<string, Promise<WindowResult>>();
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(readonly store: FlowStore) {}

  private async fresh(): Promise<void> {
    const v = await this.store.version();
    if (v === this.version) return;
    this.version = v;
    this.identityCache = undefined;
    this.windows.clear();
    this.memo.clear();
  }

  /** Anything else derived from the database (e.g. proposed policies), dropped with the rest when it changes. */
  async cached<T>(key: string, compute: () => Promise<T> | T): Promise<T> {
    await this.fresh();
    return remember(this.memo, key, async () => compute()) as Promise<T>;
  }

  async identity(): Promise<IdentityIndex> {
    await this.fresh();
    if (!this.identityCache) {
      const p = loadIdentity(this.store);
      this.identityCache = p;
      p.catch(() => { if (this.identityCache === p) this.identityCache = undefined; });
    }
    return this.identityCache;
  }

  private async window(w: TimeWindow): Promise<WindowResult> {
    await this.fresh();
    const key = `${w.since ?? ''}|${w.until ?? ''}`;
    const hit = this.windows.get(key);
    if (hit) {
      // Most recently used last: the oldest window is the one evicted.
      this.windows.delete(key);
      this.windows.set(key, hit);
      return hit;
    }
    const r = remember(this.windows, key, async () => ({ graph: await analyzeGraph(this.store, w, await this.identity()) }));
    if (this.windows.size > CACHED_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    return r;
  }

  async graph(w: TimeWindow = {}): Promise<Graph> {
    return (await this.window(w)).graph;
  }

  async findings(w: TimeWindow = {}): Promise<{ findings: Finding[] }> {
    const r = await this.window(w);
    if (!r.findings) {
      const identity = await this.identity();
      r.findings = await trafficFindings(this.store, identity, r.graph, policyEngine(identity.current).engine);
    }
    return { findings: r.findings };
  }

  /** The risk ranking of a window (`segmap findings --with-risk`): policy, egress-risk and service-account findings. */
  async risk(w: TimeWindow = {}, now?: number): Promise<WorkloadRisk[]> {
    const [{ findings }, accounts, identity] = await Promise.all([this.findings(w), this.serviceAccounts(w, now), this.identity()]);
    return rankRisk(identity, [...findings, ...accounts.findings], accounts);
  }

  /** The service-account audit of a window (`segmap sa-audit`), computed by the same pipeline function as the CLI. */
  async serviceAccounts(w: TimeWindow = {}, now?: number): Promise<SaAuditResult> {
    const r = await this.window(w);
    return (r.accounts ??= (async () => analyzeServiceAccounts(this.store, { ...w, now }, await this.identity()))());
  }

  async meta(version: string, policies: boolean): Promise<Meta> {
    const g = await this.graph();
    const c = await this.store.counts();
    const ns = new Set<string>();
    const kinds = new Set<string>();
    for (const n of g.nodes) {
      if (n.namespace) ns.add(n.namespace);
      kinds.add(n.kind);
    }
    let first: string | null = null;
    let last: string | null = null;
    for (const e of g.edges) {
      if (first === null || e.firstSeen < first) first = e.firstSeen;
      if (last === null || e.lastSeen > last) last = e.lastSeen;
    }
    return {
      version,
      counts: { inputs: c.inputs, snapshots: c.snapshots, aggregates: c.aggregates, flows: c.flows, nodes: g.nodes.length, edges: g.edges.length },
      dataWindow: { first, last },
      namespaces: [...ns].sort(),
      kinds: [...kinds].sort(),
      ports: [...new Set(g.edges.map((e) => e.port))].sort((a, b) => a - b),
      policies,
    };
  }

  async workload(id: string, w: TimeWindow = {}): Promise<WorkloadDetail> {
    const g = await this.graph(w);
    const node = g.nodes.find((n) => n.id === id);
    if (!node) throw new HttpError(404, `no workload or peer ${id} in this window`);
    const row = (e: Edge, peerSide: 'src' | 'dst'): PeerRow => ({
      peer: e[peerSide], peerId: endpointId(e[peerSide]), protocol: e.protocol, port: e.port, verdict: e.verdict,
      flows: e.flows, bytes: e.bytes, firstSeen: e.firstSeen, lastSeen: e.lastSeen, sources: e.sources,
    });
    const inbound = g.edges.filter((e) => endpointId(e.dst) === id).map((e) => row(e, 'src'));
    const outbound = g.edges.filter((e) => endpointId(e.src) === id).map((e) => row(e, 'dst'));
    const wl = (await this.identity()).workloads.find((x) => endpointId(x.endpoint) === id);
    const ports = new Map<string, WorkloadDetail['ports'][number]>();
    for (const c of wl?.pod?.spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        const protocol = p.protocol ?? 'TCP';
        ports.set(`${protocol}/${p.containerPort}`, { protocol, port: p.containerPort, ...(p.name ? { name: p.name } : {}), observed: false });
      }
    }
    for (const r of inbound) {
      const k = `${r.protocol}/${r.port}`;
      const known = ports.get(k);
      if (known) known.observed = true; else ports.set(k, { protocol: r.protocol, port: r.port, observed: true });
    }
    return {
      node,
      ...(wl?.pod ? { pod: wl.pod.metadata.name } : {}),
      hostNetwork: wl?.hostNetwork ?? false,
      ports: [...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol)),
      inbound,
      outbound,
      findings: (await this.findings(w)).findings.filter((f) => f.subject.kind !== 'ServiceAccount' && endpointId(f.subject) === id),
    };
  }

  /** The aggregates behind one edge, re-attributed the way the graph did it. */
  async edge(spec: { src: string; dst: string; protocol: string; port: number; verdict?: string }, w: TimeWindow = {}): Promise<EdgeDetail> {
    const g = await this.graph(w);
    const verdict = spec.verdict ?? 'allowed';
    const edge = g.edges.find((e) => endpointId(e.src) === spec.src && endpointId(e.dst) === spec.dst && e.protocol === spec.protocol
      && e.port === spec.port && e.verdict === verdict);
    if (!edge) throw new HttpError(404, `no edge ${spec.src} => ${spec.dst} : ${spec.protocol} ${spec.port} (${verdict}) in this window`);
    const identity = await this.identity();
    const paths = new Map((await this.store.inputs()).map((i) => [i.id, i.path]));
    const flows: FlowRow[] = [];
    let total = 0;
    for await (const chunk of this.store.aggregates(w)) for (const a of chunk) {
      const protocol = protocolName(a.protocol);
      if (protocol !== spec.protocol || (a.action === 'ACCEPT' ? 'allowed' : 'denied') !== verdict) continue;
      if (a.dstPort !== spec.port && a.srcPort !== spec.port) continue;
      const o = orient(a, identity);
      if (o.port !== spec.port || endpointId(o.client) !== spec.src || endpointId(o.server) !== spec.dst) continue;
      total++;
      flows.push({
        srcIp: a.srcIp, dstIp: a.dstIp, srcPort: a.srcPort, dstPort: a.dstPort, protocol, action: a.action, reply: o.reply,
        bucket: iso(a.bucket), flows: a.flows, packets: a.packets, bytes: a.bytes, firstSeen: iso(a.firstSeen), lastSeen: iso(a.lastSeen),
        sources: a.inputIds.map((id) => paths.get(id) ?? `input#${id}`),
      });
    }
    flows.sort((x, y) => x.firstSeen.localeCompare(y.firstSeen) || x.srcIp.localeCompare(y.srcIp));
    return { edge, flows: flows.slice(0, EDGE_FLOW_LIMIT), total, limit: EDGE_FLOW_LIMIT };
  }

  /** Replay the observed allowed traffic against pasted policy YAML (plus, by default, the cluster's own policies). */
  async simulate(req: SimulateRequest): Promise<SimulateResult> {
    const ctx = newReadContext('request');
    const namespace = req.namespace || 'default';
    const objects: K8sObject[] = [];
    for (const o of k8sDump.read(req.yaml, ctx)) {
      if (!(POLICY_KINDS as readonly string[]).includes(o.kind)) continue;
      if (o.kind === 'NetworkPolicy' && !o.metadata.namespace) o.metadata = { ...o.metadata, namespace };
      objects.push(o);
    }
    const problems = ctx.issues.map(formatIssue);
    if (objects.length === 0) {
      throw new HttpError(400, `no NetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy in the YAML${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}`);
    }
    const identity = await this.identity();
    const { engine, problems: policyProblems } = policyEngine(req.ignoreExisting ? objects : mergePolicies(identity.current, objects));
    const r = await replay(identity, this.store.aggregates(parseWindow(req.since, req.until)), engine);
    return {
      denied: r.denied, allowedFlows: r.allowedFlows, deniedFlows: r.deniedFlows, notEvaluatedFlows: r.notEvaluatedFlows,
      policies: objects.length, problems: [...problems, ...policyProblems],
    };
  }
}

/**
 * Namespace, kind, port and verdict narrow the edges; the nodes are the matching ones plus both ends of every kept
 * edge, so nothing is drawn dangling. Port and verdict are about traffic, so they drop idle nodes too.
 */
export function filterGraph(g: Graph, f: GraphFilters): Graph {
  const nodeMatch = (e: { namespace?: string; kind: string }) =>
    (f.namespace === undefined || e.namespace === f.namespace) && (f.kind === undefined || e.kind === f.kind);
  const edges = g.edges.filter((e) =>
    (nodeMatch(e.src) || nodeMatch(e.dst)) && (f.port === undefined || e.port === f.port) && (f.verdict === undefined || e.verdict === f.verdict));
  if (f.namespace === undefined && f.kind === undefined && f.port === undefined && f.verdict === undefined) return g;
  const keep = new Set<string>();
  for (const e of edges) { keep.add(endpointId(e.src)); keep.add(endpointId(e.dst)); }
  const trafficOnly = f.port !== undefined || f.verdict !== undefined;
  return { window: g.window, nodes: g.nodes.filter((n) => keep.has(n.id) || (!trafficOnly && nodeMatch(n))), edges };
}

/** The cached promise for `key`, computing it once; a failed computation is forgotten so the next call retries. */
function remember<T>(cache: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    const fresh = compute();
    cache.set(key, fresh);
    fresh.catch(() => { if (cache.get(key) === fresh) cache.delete(key); });
    p = fresh;
  }
  return p;
}
