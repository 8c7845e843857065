import type { GraphFilters } from './api-types.js';

export const VIEWS = ['map', 'findings', 'sa', 'simulate'] as const;
export type View = (typeof VIEWS)[number];

/** Everything that makes a view shareable. It lives in the query string, so links and the back button work. */
export interface ViewState extends GraphFilters {
  view: View;
  /** Search text: matching nodes are highlighted. */
  q?: string;
  /** Selected node id (`ns/name[Kind]`). */
  sel?: string;
  /** Selected edge: `src|dst|protocol|port|verdict`. */
  edge?: string;
  /** Findings / service-account table sort: column, `-` prefix for descending. */
  sort?: string;
  /** Selected service account (`namespace/name`) in the service-accounts view. */
  sa?: string;
}

const FILTER_KEYS = ['namespace', 'kind', 'port', 'verdict', 'since', 'until'] as const;

export function readState(search: string = location.search): ViewState {
  const p = new URLSearchParams(search);
  const get = (k: string) => p.get(k) || undefined;
  const view = get('view');
  const port = get('port');
  const verdict = get('verdict');
  return {
    view: (VIEWS as readonly string[]).includes(view ?? '') ? (view as View) : 'map',
    namespace: get('namespace'),
    kind: get('kind'),
    port: port && /^\d{1,5}$/.test(port) ? Number(port) : undefined,
    verdict: verdict === 'allowed' || verdict === 'denied' ? verdict : undefined,
    since: get('since'),
    until: get('until'),
    q: get('q'),
    sel: get('sel'),
    edge: get('edge'),
    sort: get('sort'),
    sa: get('sa'),
  };
}

export function stateUrl(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.view !== 'map') p.set('view', s.view);
  for (const k of [...FILTER_KEYS, 'q', 'sel', 'edge', 'sort', 'sa'] as const) {
    const v = s[k];
    if (v !== undefined && v !== '') p.set(k, String(v));
  }
  const q = p.toString();
  return q ? `?${q}` : location.pathname;
}

export function filtersOf(s: ViewState): GraphFilters {
  return { namespace: s.namespace, kind: s.kind, port: s.port, verdict: s.verdict, since: s.since, until: s.until };
}

export function sameFilters(a: ViewState, b: ViewState): boolean {
  return FILTER_KEYS.every((k) => a[k] === b[k]);
}

export const edgeKey = (e: { src: string; dst: string; protocol: string; port: number; verdict: string }) =>
  [e.src, e.dst, e.protocol, e.port, e.verdict].join('|');

export function parseEdgeKey(k: string): { src: string; dst: string; protocol: string; port: number; verdict: string } | undefined {
  const parts = k.split('|');
  if (parts.length !== 5 || !/^\d+$/.test(parts[3])) return undefined;
  return { src: parts[0], dst: parts[1], protocol: parts[2], port: Number(parts[3]), verdict: parts[4] };
}
