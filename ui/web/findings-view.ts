import { endpointId } from '../../model/endpoint.js';
import { SEVERITY_RANK } from '../../model/findings.js';
import { api } from './api.js';
import type { Finding, WorkloadRisk } from './api-types.js';
import type { AppContext } from './context.js';
import { h, replace } from './dom.js';
import { errorBox } from './panel.js';
import { filtersOf } from './state.js';

/** A sortable column: its URL key, header text, and the value rows are ordered by. */
export interface Column<T> { key: string; label: string; value: (row: T) => number | string }

/**
 * Rows in the order the URL's `sort` asks for (`-` prefix: descending), ties broken by `tie`; and the header row whose
 * buttons change it. Shared by the findings and service-account tables.
 */
export function sortableTable<T>(app: AppContext, columns: readonly Column<T>[], rows: readonly T[], tie: (a: T, b: T) => number, fallback = columns[0].key): { head: HTMLElement; sorted: T[] } {
  const sort = app.state().sort ?? fallback;
  const desc = sort.startsWith('-');
  const col = columns.find((c) => c.key === sort.replace(/^-/, '')) ?? columns.find((c) => c.key === fallback) ?? columns[0];
  const sorted = [...rows].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return (desc ? -c : c) || tie(a, b);
  });
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', null,
    h('button', {
      type: 'button', className: 'link sort', dataset: { sort: c.key },
      onclick: () => app.navigate({ sort: c.key === col.key && !desc ? `-${c.key}` : c.key }, true),
    }, c.label, c.key === col.key ? (desc ? ' ▼' : ' ▲') : '')))));
  return { head, sorted };
}

/** Findings in ranking order: the rank of the workload they concern (service-account findings after every workload). */
function columns(rankOf: (f: Finding) => number): Column<Finding>[] {
  return [
    { key: 'risk', label: 'Risk rank', value: rankOf },
    { key: 'severity', label: 'Severity', value: (f) => SEVERITY_RANK[f.severity] ?? 9 },
    { key: 'id', label: 'Finding', value: (f) => f.id },
    { key: 'subject', label: 'Subject', value: (f) => subjectId(f) },
    { key: 'message', label: 'Message', value: (f) => f.message },
  ];
}

export function subjectId(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject);
}

const TOP = 10;

/**
 * "Where do we start?": the risk ranking's head, then all findings in a table sorted by any column (by default the
 * ranking, so the first rows are the riskiest workload's; the sort lives in the URL like the rest of the view).
 */
export async function renderFindings(el: HTMLElement, app: AppContext): Promise<void> {
  replace(el, h('p', { className: 'hint' }, 'Loading findings…'));
  let fs: Finding[];
  let risk: WorkloadRisk[];
  try {
    const filters = filtersOf(app.state());
    [fs, risk] = await app.progress.run('Computing findings…', () => Promise.all([api.findings(filters), api.risk(filters)]));
  } catch (e) {
    replace(el, errorBox(e));
    return;
  }
  const rank = new Map(risk.map((r) => [r.workload, r.rank]));
  const rankOf = (f: Finding) => (f.subject.kind === 'ServiceAccount' ? Number.MAX_SAFE_INTEGER : rank.get(endpointId(f.subject)) ?? Number.MAX_SAFE_INTEGER - 1);
  const { head, sorted } = sortableTable(app, columns(rankOf), fs, (a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9)
    || subjectId(a).localeCompare(subjectId(b)), 'risk');
  const scored = risk.filter((r) => r.score > 0);
  const show = (id: string) => app.navigate({ view: 'map', sel: id, edge: undefined }, true);
  replace(el,
    h('h2', null, 'Where to start'),
    scored.length === 0
      ? h('p', { className: 'hint' }, 'No workload has a risk factor in this window.')
      : h('ol', { className: 'risk-ranking' }, scored.slice(0, TOP).map((r) => h('li', { dataset: { workload: r.workload } },
        h('span', { className: 'risk-score' }, String(r.score)), ' ',
        h('button', { type: 'button', className: 'link mono', onclick: () => show(r.workload) }, r.workload), ' ',
        h('span', { className: 'hint' }, r.factors.map((x) => `${x.factor} ${x.points}`).join(', '))))),
    h('p', { className: 'hint' }, 'Risk score per workload, from its findings: per factor its most severe finding (critical 10, high 6, medium 3, low 1) plus 1 per further finding id — the ranking `segmap findings` prints.'),
    h('h2', null, `Findings (${fs.length})`),
    h('p', { className: 'hint' }, 'What the cluster\'s current policies allow set against what was observed, and risky egress paths; ordered by the risk rank of the workload they concern. Click a subject to see it on the map; service-account findings are in the Service accounts view.'),
    h('table', { className: 'grid findings-table' },
      head,
      h('tbody', null, sorted.map((f) => h('tr', null,
        h('td', { className: 'num' }, f.subject.kind === 'ServiceAccount' ? '' : String(rank.get(endpointId(f.subject)) ?? '')),
        h('td', null, h('span', { className: `sev sev-${f.severity}` }, f.severity)),
        h('td', null, h('code', null, f.id)),
        h('td', null, f.subject.kind === 'ServiceAccount'
          ? h('button', { type: 'button', className: 'link mono', onclick: () => app.navigate({ view: 'sa', sa: `${f.subject.namespace}/${f.subject.name}` }, true) }, subjectId(f))
          : h('button', { type: 'button', className: 'link mono', onclick: () => show(subjectId(f)) }, subjectId(f))),
        h('td', null, f.message),
      )))),
  );
}
