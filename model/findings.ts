import type { Endpoint } from './endpoint.js';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Most severe first: sort findings by this. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

export type Subject = Endpoint | { kind: 'ServiceAccount'; namespace: string; name: string };

export interface Finding {
  /** Stable UPPER_SNAKE id per kind of finding (catalogue in the README). */
  id: string;
  severity: Severity;
  subject: Subject;
  message: string;
  evidence: Record<string, unknown>;
}

/** What one risk factor adds to a workload's score (`analyzer/risk.ts` documents the points). */
export interface RiskFactor {
  /** Stable UPPER_SNAKE id of the factor, e.g. `INTERNET_EGRESS`, `METADATA_SERVICE`, `PRIVILEGED_SERVICE_ACCOUNT`. */
  factor: string;
  points: number;
  /** One readable line: why it counts. */
  reason: string;
  /** Ids of the findings behind it (`findings --format json` ids), sorted. */
  findings: string[];
}

/**
 * A workload's place in "where do we start?": its score (the sum of its factors' points), its 1-based rank (ties
 * share a rank), the factors, and its findings by severity. The most urgent workload comes first.
 */
export interface WorkloadRisk {
  /** `endpointId` of the workload: `ns/name[Kind]`. */
  workload: string;
  endpoint: Endpoint;
  namespace: string;
  score: number;
  rank: number;
  factors: RiskFactor[];
  /** How many findings name this workload (directly, or through its service account), per severity. */
  findings: Record<Severity, number>;
}
