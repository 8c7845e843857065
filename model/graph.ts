import type { Endpoint } from './endpoint.js';

export type Verdict = 'allowed' | 'denied';

/** One directed dependency: client → server on the server's wire port. The `graph --format json` contract. */
export interface Edge {
  src: Endpoint;
  dst: Endpoint;
  protocol: string;
  port: number;
  verdict: Verdict;
  flows: number;
  bytes: number;
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
  /** Input files that carried evidence for this edge. */
  sources: string[];
}

export interface GraphNode extends Endpoint {
  id: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
}

export interface Graph {
  window: { since: string | null; until: string | null };
  nodes: GraphNode[];
  edges: Edge[];
}
