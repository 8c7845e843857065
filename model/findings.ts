import type { Endpoint } from './endpoint.js';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export type Subject = Endpoint | { kind: 'ServiceAccount'; namespace: string; name: string };

export interface Finding {
  /** Stable UPPER_SNAKE id per kind of finding (catalogue in the README). */
  id: string;
  severity: Severity;
  subject: Subject;
  message: string;
  evidence: Record<string, unknown>;
}
