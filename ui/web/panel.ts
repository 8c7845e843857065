import { api, ApiFailure } from './api.js';
import type { EdgeDetail, Finding, PeerRow, WorkloadPolicies } from './api-types.js';
import type { AppContext } from './context.js';
import { download, fmtBytes, fmtCount, fmtShortTime, fmtTime, h, replace } from './dom.js';
import { displayName } from './graph.js';
import { filtersOf, parseEdgeKey } from './state.js';

/** The side panel: one workload (or peer), or one edge, with the evidence behind it. */
export class DetailPanel {
  private seq = 0;

  constructor(private readonly el: HTMLElement, private readonly app: AppContext) {}

  clear(): void {
    this.seq++;
    replace(this.el, h('p', { className: 'hint' }, 'Click a workload or an edge to see its evidence: peers, flows, bytes, first and last seen, and the files they came from.'));
  }

  /** Fetch for the panel; undefined when it failed (the error is shown) or a newer click superseded it. */
  private async load<T>(seq: number, label: string, get: () => Promise<T>): Promise<T | undefined> {
    replace(this.el, h('p', { className: 'hint' }, label));
    try {
      const d = await get();
      return seq === this.seq ? d : undefined;
    } catch (e) {
      if (seq === this.seq) replace(this.el, errorBox(e));
      return undefined;
    }
  }

  async showNode(id: string): Promise<void> {
    const seq = ++this.seq;
    const d = await this.load(seq, 'Loading…', () => api.workload(id, filtersOf(this.app.state())));
    if (!d) return;
    const n = d.node;
    const policiesBox = h('div', { className: 'policies' }, h('p', { className: 'hint' }, 'Loading proposed policies…'));
    replace(this.el,
      h('div', { className: 'panel-head' },
        h('span', { className: `badge kind-${n.kind}` }, n.kind),
        h('h2', null, n.name ?? n.ip ?? n.cidr ?? n.id),
        n.namespace ? h('div', { className: 'sub' }, `namespace ${n.namespace}`) : null,
        h('div', { className: 'sub mono' }, n.id),
      ),
      section('Identity', keyValues([
        ['service account', n.serviceAccount],
        ['pod', d.pod],
        ['host network', d.hostNetwork ? 'yes' : undefined],
        ['address', n.ip ?? n.cidr],
        ['DNS name', n.kind === 'External' ? n.name : undefined],
      ])),
      section('Labels', n.labels && Object.keys(n.labels).length
        ? keyValues(Object.entries(n.labels).sort(([a], [b]) => a.localeCompare(b)), 'labels')
        : h('p', { className: 'hint' }, 'none known')),
      section('Ports', d.ports.length
        ? h('ul', { className: 'ports' }, d.ports.map((p) => h('li', null, `${p.protocol}/${p.port}`, p.name ? ` (${p.name})` : '', p.observed ? h('span', { className: 'tag' }, 'observed') : '')))
        : h('p', { className: 'hint' }, 'none declared or observed')),
      section(`Inbound (${d.inbound.length})`, peerTable(d.inbound, 'from', this.app)),
      section(`Outbound (${d.outbound.length})`, peerTable(d.outbound, 'to', this.app)),
      section(`Findings (${d.findings.length})`, findingList(d.findings)),
      section('Proposed policies', policiesBox),
    );
    this.el.scrollTop = 0;
    if (d.node.kind === 'External' || d.node.kind === 'Node' || d.node.kind === 'Unknown' || d.node.kind === 'Service') {
      replace(policiesBox, h('p', { className: 'hint' }, 'Policies are proposed for workloads only.'));
      return;
    }
    if (!this.app.meta().policies) {
      replace(policiesBox, h('p', { className: 'hint', dataset: { policies: 'unavailable' } }, 'Not available yet: policy generation is not part of this build.'));
      return;
    }
    try {
      const p = await api.policies(id);
      if (seq === this.seq) replace(policiesBox, manifestsView(p));
    } catch (e) {
      if (seq !== this.seq) return;
      replace(policiesBox, e instanceof ApiFailure && e.status === 501
        ? h('p', { className: 'hint', dataset: { policies: 'unavailable' } }, `Not available yet: ${e.message}`)
        : errorBox(e));
    }
  }

  async showEdge(key: string): Promise<void> {
    const seq = ++this.seq;
    const spec = parseEdgeKey(key);
    if (!spec) { replace(this.el, errorBox(new Error('malformed edge in the URL'))); return; }
    const d = await this.load(seq, 'Loading flows…', () => api.edge(spec, filtersOf(this.app.state())));
    if (!d) return;
    const e = d.edge;
    replace(this.el,
      h('div', { className: 'panel-head' },
        h('span', { className: `badge verdict-${e.verdict}` }, e.verdict),
        h('h2', null, `${e.protocol}/${e.port}`),
        h('div', { className: 'sub' }, nodeLink(spec.src, this.app), ' → ', nodeLink(spec.dst, this.app)),
      ),
      section('Traffic', keyValues([
        ['flows', fmtCount(e.flows)], ['bytes', fmtBytes(e.bytes)], ['first seen', fmtTime(e.firstSeen)], ['last seen', fmtTime(e.lastSeen)],
      ])),
      section(`Source files (${e.sources.length})`, h('ul', { className: 'files' }, e.sources.map((s) => h('li', { className: 'mono' }, s)))),
      section(`Flow aggregates (${d.total > d.flows.length ? `first ${d.flows.length} of ${fmtCount(d.total)}` : d.total})`, flowTable(d)),
    );
    this.el.scrollTop = 0;
  }
}

function section(title: string, body: Node): HTMLElement {
  return h('section', null, h('h3', null, title), body);
}

export function keyValues(rows: [string, string | undefined][], className = 'kv'): HTMLElement {
  return h('table', { className: `kv ${className}` },
    h('tbody', null, rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v!)))));
}

function nodeLink(id: string, app: AppContext, text: string = id): HTMLElement {
  return h('button', { className: 'link mono', type: 'button', title: `show ${id}`, onclick: () => app.navigate({ sel: id, edge: undefined, view: 'map' }, true) }, text);
}

/** Peers by short name, with the namespace or kind when it is not the obvious one. */
function peerLabel(r: PeerRow): string {
  const name = displayName(r.peer);
  return r.peer.namespace ? `${r.peer.namespace}/${name}` : `${name} (${r.peer.kind})`;
}

function peerTable(rows: PeerRow[], dir: 'from' | 'to', app: AppContext): HTMLElement {
  if (rows.length === 0) return h('p', { className: 'hint' }, dir === 'from' ? 'no callers observed' : 'no destinations observed');
  return h('table', { className: 'grid' },
    h('thead', null, h('tr', null, ['peer', 'port', 'flows', 'bytes', 'first', 'last', 'files'].map((c) => h('th', null, c)))),
    h('tbody', null, rows.map((r) => h('tr', { className: r.verdict === 'denied' ? 'denied' : '' },
      h('td', null, nodeLink(r.peerId, app, peerLabel(r))),
      h('td', null, `${r.protocol}/${r.port}`, r.verdict === 'denied' ? h('span', { className: 'tag deny' }, 'denied') : ''),
      h('td', { className: 'num' }, fmtCount(r.flows)),
      h('td', { className: 'num' }, fmtBytes(r.bytes)),
      h('td', { title: fmtTime(r.firstSeen) }, fmtShortTime(r.firstSeen)),
      h('td', { title: fmtTime(r.lastSeen) }, fmtShortTime(r.lastSeen)),
      h('td', null, h('details', null, h('summary', null, String(r.sources.length)), h('ul', { className: 'files' }, r.sources.map((s) => h('li', { className: 'mono' }, s))))),
    ))),
  );
}

function flowTable(d: EdgeDetail): HTMLElement {
  if (d.flows.length === 0) return h('p', { className: 'hint' }, 'none');
  return h('table', { className: 'grid flows' },
    h('thead', null, h('tr', null, ['bucket', 'source', 'destination', 'flows', 'bytes', 'file'].map((c) => h('th', null, c)))),
    h('tbody', null, d.flows.map((f) => h('tr', { className: f.reply ? 'reply' : '' },
      h('td', null, fmtTime(f.bucket)),
      h('td', { className: 'mono' }, `${f.srcIp}:${f.srcPort}`),
      h('td', { className: 'mono' }, `${f.dstIp}:${f.dstPort}`, f.reply ? h('span', { className: 'tag' }, 'reply') : ''),
      h('td', { className: 'num' }, fmtCount(f.flows)),
      h('td', { className: 'num' }, fmtBytes(f.bytes)),
      h('td', { className: 'mono small', title: f.sources.join('\n') }, f.sources.map((s) => s.split('/').pop() ?? s).join(', ')),
    ))),
  );
}

export function findingList(fs: Finding[]): HTMLElement {
  if (fs.length === 0) return h('p', { className: 'hint' }, 'none');
  return h('ul', { className: 'findings' }, fs.map((f) => h('li', null,
    h('span', { className: `sev sev-${f.severity}` }, f.severity), ' ', h('code', null, f.id), h('div', null, f.message))));
}

function manifestsView(p: WorkloadPolicies): HTMLElement {
  if (p.manifests.length === 0) return h('p', { className: 'hint' }, 'No policy proposed for this workload.');
  return h('div', null, p.manifests.map((m) => {
    const file = m.path.split('/').pop() || 'policy.yaml';
    return h('div', { className: 'manifest' },
      h('div', { className: 'manifest-head' },
        h('span', { className: 'tag' }, m.target), h('span', { className: 'mono small' }, m.path),
        h('button', {
          type: 'button', className: 'small-btn', onclick: (ev) => {
            const btn = ev.currentTarget as HTMLButtonElement;
            void navigator.clipboard.writeText(m.yaml).then(() => { btn.textContent = 'Copied'; }, () => { btn.textContent = 'Copy failed'; });
          },
        }, 'Copy'),
        h('button', { type: 'button', className: 'small-btn', onclick: () => download(file, new Blob([m.yaml], { type: 'application/yaml' })) }, 'Download'),
      ),
      h('pre', { className: 'yaml' }, m.yaml));
  }));
}

export function errorBox(e: unknown): HTMLElement {
  return h('p', { className: 'error' }, e instanceof Error ? e.message : String(e));
}
