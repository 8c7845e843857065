import { endpointId } from '../../model/endpoint.js';
import { api } from './api.js';
import type { Finding } from './api-types.js';
import type { AppContext } from './context.js';
import { h, replace } from './dom.js';
import { errorBox } from './panel.js';
import { filtersOf } from './state.js';

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
const COLUMNS = [
  { key: 'severity', label: 'Severity', value: (f: Finding) => SEVERITY_RANK[f.severity] ?? 9 },
  { key: 'id', label: 'Finding', value: (f: Finding) => f.id },
  { key: 'subject', label: 'Subject', value: (f: Finding) => subjectId(f) },
  { key: 'message', label: 'Message', value: (f: Finding) => f.message },
] as const;

export function subjectId(f: Finding): string {
  return f.subject.kind === 'ServiceAccount' ? `${f.subject.namespace}/${f.subject.name}[ServiceAccount]` : endpointId(f.subject);
}

/** All findings in a table, sorted by any column (the sort lives in the URL like the rest of the view). */
export async function renderFindings(el: HTMLElement, app: AppContext): Promise<void> {
  replace(el, h('p', { className: 'hint' }, 'Loading findings…'));
  let fs: Finding[];
  try {
    fs = await app.progress.run('Computing findings…', () => api.findings(filtersOf(app.state())));
  } catch (e) {
    replace(el, errorBox(e));
    return;
  }
  const sort = app.state().sort ?? 'severity';
  const desc = sort.startsWith('-');
  const col = COLUMNS.find((c) => c.key === sort.replace(/^-/, '')) ?? COLUMNS[0];
  const sorted = [...fs].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return (desc ? -c : c) || subjectId(a).localeCompare(subjectId(b));
  });
  replace(el,
    h('h2', null, `Findings (${fs.length})`),
    h('p', { className: 'hint' }, 'What the cluster\'s current policies allow, set against what was observed. Click a subject to see it on the map.'),
    h('table', { className: 'grid findings-table' },
      h('thead', null, h('tr', null, COLUMNS.map((c) => h('th', null,
        h('button', {
          type: 'button', className: 'link sort', dataset: { sort: c.key },
          onclick: () => app.navigate({ sort: c.key === col.key && !desc ? `-${c.key}` : c.key }, true),
        }, c.label, c.key === col.key ? (desc ? ' ▼' : ' ▲') : ''))))),
      h('tbody', null, sorted.map((f) => h('tr', null,
        h('td', null, h('span', { className: `sev sev-${f.severity}` }, f.severity)),
        h('td', null, h('code', null, f.id)),
        h('td', null, f.subject.kind === 'ServiceAccount'
          ? h('span', { className: 'mono' }, subjectId(f))
          : h('button', { type: 'button', className: 'link mono', onclick: () => app.navigate({ view: 'map', sel: subjectId(f), edge: undefined }, true) }, subjectId(f))),
        h('td', null, f.message),
      )))),
  );
}

export function renderServiceAccounts(el: HTMLElement): void {
  replace(el,
    h('h2', null, 'Service-account audit'),
    h('p', { className: 'placeholder' }, 'Not yet available. The audit of stale and over-privileged service accounts (from Secret metadata and API-server audit logs; Secret data is never read) is planned for a later release. Until then, `segmap sa-audit` is not part of this build either.'),
  );
}
