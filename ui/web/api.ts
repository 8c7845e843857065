import type {
  EdgeDetail, Finding, Graph, GraphFilters, Meta, ServiceAccountEntry, SimulateRequest, SimulateResult, WorkloadDetail, WorkloadPolicies, WorkloadRisk,
} from './api-types.js';

/** An API answer that was not 2xx, with the server's message. */
export class ApiFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`api/v1/${path}`, { credentials: 'same-origin', ...init });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiFailure(res.status, message);
  }
  return (await res.json()) as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const windowOf = (f: GraphFilters) => ({ since: f.since, until: f.until });

export const api = {
  meta: () => call<Meta>('meta'),
  graph: (f: GraphFilters) => call<Graph>(`graph${query({ ...f })}`),
  workload: (id: string, f: GraphFilters) => call<WorkloadDetail>(`workloads/${encodeURIComponent(id)}${query(windowOf(f))}`),
  policies: (id: string) => call<WorkloadPolicies>(`workloads/${encodeURIComponent(id)}/policies`),
  edge: (e: { src: string; dst: string; protocol: string; port: number; verdict: string }, f: GraphFilters) =>
    call<EdgeDetail>(`edge${query({ ...e, ...windowOf(f) })}`),
  findings: (f: GraphFilters) => call<Finding[]>(`findings${query(windowOf(f))}`),
  risk: (f: GraphFilters) => call<WorkloadRisk[]>(`risk${query(windowOf(f))}`),
  serviceAccounts: (f: GraphFilters) => call<ServiceAccountEntry[]>(`service-accounts${query(windowOf(f))}`),
  simulate: (req: SimulateRequest) => call<SimulateResult>('simulate', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req),
  }),
  /** Raw download endpoints (archive, JSON export): the caller turns the answer into a file. */
  blob: async (path: string): Promise<Blob> => {
    const res = await fetch(`api/v1/${path}`, { credentials: 'same-origin' });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new ApiFailure(res.status, body.error?.message ?? `${res.status} ${res.statusText}`);
    }
    return res.blob();
  },
};
