/**
 * The JSON the server's /api/v1 answers with. Types only: the web app reads them, and the server (which may import
 * anything) checks its answers against them, so the two cannot drift.
 */
import type { DeniedEdge, Edge, Endpoint, Finding, Graph, GraphNode, WorkloadRisk } from '../../model/index.js';

export type { Edge, Endpoint, Finding, Graph, GraphNode, WorkloadRisk };

/**
 * `GET /api/v1/service-accounts`: the entries `segmap sa-audit --format json` prints, one per service account
 * (analyzer/sa-audit.ts `AccountEntry`, which the web layer may not import; the server assigns one to the other, so
 * the compiler keeps them in step).
 */
export interface ServiceAccountEntry {
  namespace: string;
  name: string;
  /** False for accounts only named by workloads, bindings or audit logs. */
  exists: boolean;
  automountServiceAccountToken?: boolean;
  workloads: ServiceAccountWorkload[];
  tokenMounted: boolean;
  /** Newest audit-log request by this account (ISO 8601); null when none, or no audit log was ingested. */
  lastApiUse: string | null;
  apiUse: { verb: string; apiGroup: string; resource: string; namespace: string; outcome: string; count: number; lastSeen: string }[];
  grants: { binding: string; role: string; scope: string; risks: string[]; usedRequests?: number }[];
  legacyTokens: { secret: string; lastUsed: string | null }[];
  /** Least-privilege roles covering exactly the audited requests. */
  suggestion?: { user: string; subject: { kind: string; name: string; namespace?: string }; roles: { kind: string; name: string; namespace?: string; rules: unknown[] }[]; requests: number };
  findings: Finding[];
}

export interface ServiceAccountWorkload {
  id: string;
  endpoint: Endpoint;
  tokenMounted: boolean;
  tokenMountedBy: 'pod spec' | 'service account' | 'default';
  /** Seen in the traffic of the window; and seen calling the API server. */
  observed: boolean;
  talksToApiServer: boolean;
}

export interface ApiError { error: { status: number; message: string } }

export interface Meta {
  version: string;
  counts: { inputs: number; snapshots: number; aggregates: number; flows: number; nodes: number; edges: number };
  /** First and last traffic seen (ISO 8601), or null with no traffic. */
  dataWindow: { first: string | null; last: string | null };
  namespaces: string[];
  kinds: string[];
  ports: number[];
  /** Whether policy generation (ui/policies.ts) is part of this build. */
  policies: boolean;
}

export interface GraphFilters {
  namespace?: string;
  kind?: string;
  port?: number;
  verdict?: 'allowed' | 'denied';
  since?: string;
  until?: string;
}

export interface PeerRow {
  peer: Endpoint;
  peerId: string;
  protocol: string;
  port: number;
  verdict: 'allowed' | 'denied';
  flows: number;
  bytes: number;
  firstSeen: string;
  lastSeen: string;
  sources: string[];
}

export interface WorkloadDetail {
  node: GraphNode;
  /** Pod name standing for the workload (its newest running pod), when the cluster data has one. */
  pod?: string;
  hostNetwork: boolean;
  ports: { protocol: string; port: number; name?: string; observed: boolean }[];
  inbound: PeerRow[];
  outbound: PeerRow[];
  findings: Finding[];
}

export interface FlowRow {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: string;
  action: 'ACCEPT' | 'REJECT';
  /** True for the server's reply records (counted with their request). */
  reply: boolean;
  bucket: string;
  flows: number;
  packets: number;
  bytes: number;
  firstSeen: string;
  lastSeen: string;
  sources: string[];
}

export interface EdgeDetail {
  edge: Edge;
  flows: FlowRow[];
  /** Aggregates behind the edge; `flows` lists at most the first `limit` by time. */
  total: number;
  limit: number;
}

/** An edge the pasted policies would drop: the analyzer's own shape, from model/. */
export type DeniedEdgeRow = DeniedEdge;

export interface SimulateRequest {
  yaml: string;
  /** Namespace for NetworkPolicies that name none (as `kubectl apply -n`). */
  namespace?: string;
  /** Replay against the given manifests only, not the cluster's current policies. */
  ignoreExisting?: boolean;
  since?: string;
  until?: string;
}

export interface SimulateResult {
  denied: DeniedEdgeRow[];
  allowedFlows: number;
  deniedFlows: number;
  notEvaluatedFlows: number;
  /** Policies read from the request. */
  policies: number;
  /** Located problems in the YAML, and invalid or unsupported parts of the policies. */
  problems: string[];
}

export interface ManifestEntry { namespace: string; workload: string; target: string; path: string; yaml: string }

export interface WorkloadPolicies { workload: string; manifests: ManifestEntry[] }
