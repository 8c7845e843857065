import { api } from './api.js';
import type { ServiceAccountEntry, ServiceAccountWorkload } from './api-types.js';
import type { AppContext } from './context.js';
import { fmtCount, fmtTime, h, replace } from './dom.js';
import { SEVERITY_RANK } from '../../model/findings.js';
import { sortableTable, type Column } from './findings-view.js';
import { errorBox, findingList, keyValues } from './panel.js';
import { filtersOf } from './state.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const accountId = (a: ServiceAccountEntry) => `${a.namespace}/${a.name}`;

function severityCounts(a: ServiceAccountEntry): number[] {
  const n = SEVERITIES.map(() => 0);
  for (const f of a.findings) n[SEVERITY_RANK[f.severity] ?? 4]++;
  return n;
}

/** Most severe first: more criticals outrank any number of highs, and so on (counts < 1000 per account). */
const severityScore = (a: ServiceAccountEntry) => severityCounts(a).reduce((s, n) => s * 1000 + Math.min(n, 999), 0);

const COLUMNS: Column<ServiceAccountEntry>[] = [
  { key: 'namespace', label: 'Namespace', value: (a) => a.namespace },
  { key: 'name', label: 'Name', value: (a) => a.name },
  { key: 'workloads', label: 'Workloads', value: (a) => a.workloads.length },
  { key: 'token', label: 'Token automount', value: (a) => (a.tokenMounted ? 1 : 0) },
  { key: 'lastApiUse', label: 'Last API use', value: (a) => a.lastApiUse ?? '' },
  // Ascending puts the worst first, like the severity column of the findings table.
  { key: 'findings', label: 'Findings', value: (a) => -severityScore(a) },
];

/**
 * The service-account audit (`segmap sa-audit`): a sortable table of accounts, and the selected one's findings,
 * workloads, grants and API use in the side panel. Every string from the cluster goes in as text (dom.ts).
 */
export class ServiceAccountsView {
  private data?: { key: string; entries: Promise<ServiceAccountEntry[]> };

  constructor(private readonly app: AppContext) {}

  /** Fetch afresh next time (the view was left; the database may have changed meanwhile). */
  invalidate(): void {
    this.data = undefined;
  }

  private load(): Promise<ServiceAccountEntry[]> {
    const f = filtersOf(this.app.state());
    const key = `${f.since ?? ''}|${f.until ?? ''}`;
    if (this.data?.key !== key) {
      const entries = this.app.progress.run('Auditing service accounts…', () => api.serviceAccounts(f));
      this.data = { key, entries };
      entries.catch(() => { if (this.data?.entries === entries) this.data = undefined; });
    }
    return this.data.entries;
  }

  async render(table: HTMLElement, panel: HTMLElement): Promise<void> {
    if (!this.data) replace(table, h('p', { className: 'hint' }, 'Loading service accounts…'));
    let entries: ServiceAccountEntry[];
    try {
      entries = await this.load();
    } catch (e) {
      replace(table, errorBox(e));
      return;
    }
    const s = this.app.state();
    const { head, sorted } = sortableTable(this.app, COLUMNS, entries, (a, b) => accountId(a).localeCompare(accountId(b)), 'findings');
    const scrollTop = table.scrollTop;
    replace(table,
      h('h2', null, `Service accounts (${entries.length})`),
      h('p', { className: 'hint' }, 'Per service account: the workloads that run as it, whether their pods get a token, its last request in the ingested API-server audit logs, and its findings (the same as `segmap sa-audit`). Click a row for details.'),
      h('table', { className: 'grid sa-table' },
        head,
        h('tbody', null, sorted.map((a) => h('tr', { className: accountId(a) === s.sa ? 'selected' : '', dataset: { sa: accountId(a) } },
          h('td', null, a.namespace),
          h('td', null, h('button', { type: 'button', className: 'link mono', onclick: () => this.app.navigate({ sa: accountId(a) }, true) }, a.name),
            a.exists ? '' : h('span', { className: 'tag', title: 'named by workloads, bindings or audit logs, but no such ServiceAccount object' }, 'missing')),
          h('td', { className: 'num' }, fmtCount(a.workloads.length)),
          h('td', null, a.tokenMounted ? 'mounted' : 'not mounted'),
          h('td', { title: a.lastApiUse ? fmtTime(a.lastApiUse) : 'no request in the ingested audit logs' }, a.lastApiUse ? fmtTime(a.lastApiUse) : '—'),
          h('td', { className: 'sev-counts' }, severityBadges(a)),
        )))),
    );
    table.scrollTop = scrollTop;
    const selected = s.sa ? entries.find((a) => accountId(a) === s.sa) : undefined;
    if (selected) this.detail(panel, selected);
    else if (s.sa) replace(panel, errorBox(new Error(`no service account ${s.sa} in this window`)));
    else replace(panel, h('p', { className: 'hint' }, 'Click a service account to see its findings, workloads, grants and API use.'));
  }

  private detail(panel: HTMLElement, a: ServiceAccountEntry): void {
    const section = (title: string, ...body: (Node | string)[]) => h('section', null, h('h3', null, title), ...body);
    const none = (text = 'none') => h('p', { className: 'hint' }, text);
    replace(panel,
      h('div', { className: 'panel-head' },
        h('span', { className: 'badge' }, 'ServiceAccount'),
        h('h2', null, a.name),
        h('div', { className: 'sub' }, `namespace ${a.namespace}`),
      ),
      section('Identity', keyValues([
        ['token', a.tokenMounted ? 'mounted into workload pods' : 'not mounted'],
        ['automount (account)', a.automountServiceAccountToken === undefined ? 'not set (defaults to true)' : String(a.automountServiceAccountToken)],
        ['last API use', a.lastApiUse ? fmtTime(a.lastApiUse) : 'none in the ingested audit logs'],
        ['object', a.exists ? 'exists' : 'missing: only named by workloads, bindings or audit logs'],
      ])),
      section(`Findings (${a.findings.length})`, findingList(a.findings)),
      section(`Workloads (${a.workloads.length})`, a.workloads.length
        ? h('ul', { className: 'sa-workloads' }, a.workloads.map((w) => h('li', null, this.workloadLink(w), ' ', workloadNote(w))))
        : none('no workload runs as it')),
      section(`Grants (${a.grants.length})`, a.grants.length
        ? h('ul', { className: 'sa-grants' }, a.grants.map((g) => h('li', null,
          h('span', { className: 'mono' }, `${g.binding} → ${g.role}`), ` (${g.scope})`,
          g.risks.length ? h('div', null, g.risks.map((r) => h('span', { className: 'tag deny' }, r))) : '',
          g.usedRequests !== undefined ? h('div', { className: 'hint' }, `${fmtCount(g.usedRequests)} audited requests used it`) : '')))
        : none()),
      section(`API use (${a.apiUse.length})`, a.apiUse.length
        ? h('table', { className: 'grid' },
          h('thead', null, h('tr', null, ['verb', 'resource', 'namespace', 'outcome', 'count', 'last'].map((c) => h('th', null, c)))),
          h('tbody', null, a.apiUse.map((u) => h('tr', null,
            h('td', null, u.verb), h('td', { className: 'mono' }, u.apiGroup ? `${u.resource}.${u.apiGroup}` : u.resource),
            h('td', null, u.namespace), h('td', null, u.outcome), h('td', { className: 'num' }, fmtCount(u.count)), h('td', null, fmtTime(u.lastSeen))))))
        : none('no request in the ingested audit logs')),
      a.legacyTokens.length ? section(`Legacy token Secrets (${a.legacyTokens.length})`,
        h('ul', null, a.legacyTokens.map((t) => h('li', null, h('span', { className: 'mono' }, t.secret), `: last used ${t.lastUsed ? fmtTime(t.lastUsed) : 'never recorded'}`)))) : '',
    );
    panel.scrollTop = 0;
  }

  /** Observed workloads open on the map; the others (never seen in traffic) have no node there. */
  private workloadLink(w: ServiceAccountWorkload): HTMLElement {
    if (!w.observed) return h('span', { className: 'mono', title: 'not seen in the traffic of this window, so not on the map' }, w.id);
    return h('button', { type: 'button', className: 'link mono', title: `show ${w.id} on the map`, onclick: () => this.app.navigate({ view: 'map', sel: w.id, edge: undefined }, true) }, w.id);
  }
}

function workloadNote(w: ServiceAccountWorkload): HTMLElement {
  const bits = [w.tokenMounted ? `token mounted (${w.tokenMountedBy})` : 'no token', w.talksToApiServer ? 'calls the API server' : '', w.observed ? '' : 'not observed'];
  return h('span', { className: 'hint' }, bits.filter(Boolean).join(' · '));
}

function severityBadges(a: ServiceAccountEntry): (HTMLElement | string)[] {
  const counts = severityCounts(a);
  const out = SEVERITIES.flatMap((sev, i) => (counts[i] ? [h('span', { className: `sev sev-${sev}`, title: sev, dataset: { severity: sev } }, `${counts[i]} ${sev}`)] : []));
  return out.length ? out : ['—'];
}
