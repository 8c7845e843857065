import { mapSvg } from './svg-export.js';
import type { Core } from 'cytoscape';
import { api, ApiFailure, query } from './api.js';
import type { Graph, Meta } from './api-types.js';
import type { AppContext, Progress } from './context.js';
import { byId, download, fmtCount, fmtTime, h, replace } from './dom.js';
import { renderFindings } from './findings-view.js';
import { containersOf, createCy, fitPositions, FORCE_LAYOUT_MAX_NODES, forceLayout, hasBoxes, initialPositions, type Positions } from './graph.js';
import { DetailPanel } from './panel.js';
import { ServiceAccountsView } from './sa-view.js';
import { SimulateView } from './simulate-view.js';
import { filtersOf, readState, sameFilters, stateUrl, type View, type ViewState } from './state.js';

declare global {
  interface Window {
    /** Set by browser tests before the page loads; only then is the internal state exposed. */
    __SEGMAP_TEST_HOOK__?: boolean;
    segmapTest?: { cy(): Core | undefined; graph(): Graph | undefined; state(): ViewState };
  }
}

const VIEW_LABELS: Record<View, string> = { map: 'Map', findings: 'Findings', sa: 'Service accounts', simulate: 'What would break' };

/** The app shell: URL state → data → views. Everything visible derives from `current`, so links and Back just work. */
class App implements AppContext {
  private current: ViewState = readState();
  private metaData!: Meta;
  private graphData?: Graph;
  private cyInstance?: Core;
  private loaded?: ViewState;
  private loading?: Promise<void>;
  private generation = 0;
  private firstRender = true;
  private readonly panel: DetailPanel;
  private readonly sim: SimulateView;
  private readonly saView: ServiceAccountsView;
  private readonly graphEl = byId('graph');
  private readonly statusEl = byId('status');
  private readonly controls = {
    q: h('input', { id: 'f-q', type: 'search', placeholder: 'Search workloads…', autocomplete: 'off' }),
    namespace: h('select', { id: 'f-namespace' }),
    kind: h('select', { id: 'f-kind' }),
    port: h('input', { id: 'f-port', type: 'number', min: '0', max: '65535', placeholder: 'any' }),
    verdict: h('select', { id: 'f-verdict' }, h('option', { value: '' }, 'any'), h('option', { value: 'allowed' }, 'allowed'), h('option', { value: 'denied' }, 'denied')),
    since: h('input', { id: 'f-since', type: 'datetime-local', step: '60' }),
    until: h('input', { id: 'f-until', type: 'datetime-local', step: '60' }),
  };
  readonly progress: Progress = new ProgressOverlay(byId('progress'));

  constructor() {
    this.panel = new DetailPanel(byId('detail'), this);
    this.sim = new SimulateView(byId('simulate'), this);
    this.saView = new ServiceAccountsView(this);
  }

  state(): ViewState { return this.current; }
  cy(): Core | undefined { return this.cyInstance; }
  meta(): Meta { return this.metaData; }

  toast(message: string, kind: 'info' | 'error' = 'info'): void {
    const t = h('div', { className: `toast ${kind}`, role: 'status' }, message);
    byId('toasts').appendChild(t);
    setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
  }

  navigate(patch: Partial<ViewState>, push = false): void {
    const next = { ...this.current, ...patch };
    const url = stateUrl(next);
    if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
    void this.apply(next);
  }

  async start(): Promise<void> {
    if (window.__SEGMAP_TEST_HOOK__) window.segmapTest = { cy: () => this.cyInstance, graph: () => this.graphData, state: () => this.current };
    this.buildChrome();
    try {
      this.metaData = await api.meta();
    } catch (e) {
      replace(this.statusEl, h('span', { className: 'error' }, `Cannot reach the segmap API: ${(e as Error).message}`));
      return;
    }
    this.fillFilterOptions();
    window.addEventListener('popstate', () => void this.apply(readState()));
    await this.apply(this.current);
  }

  private buildChrome(): void {
    const nav = byId('views');
    for (const v of Object.keys(VIEW_LABELS) as View[]) {
      nav.appendChild(h('button', { type: 'button', className: 'tab', dataset: { view: v }, onclick: () => this.navigate({ view: v }, true) }, VIEW_LABELS[v]));
    }
    const c = this.controls;
    c.q.addEventListener('input', () => this.navigate({ q: c.q.value || undefined }));
    c.q.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter') return;
      const first = this.cyInstance?.nodes('.match').first();
      if (first && first.nonempty()) this.navigate({ view: 'map', sel: first.id(), edge: undefined }, true);
    });
    c.namespace.addEventListener('change', () => this.navigate({ namespace: c.namespace.value || undefined }, true));
    c.kind.addEventListener('change', () => this.navigate({ kind: c.kind.value || undefined }, true));
    c.verdict.addEventListener('change', () => this.navigate({ verdict: (c.verdict.value || undefined) as ViewState['verdict'] }, true));
    c.port.addEventListener('change', () => this.navigate({ port: c.port.value ? Number(c.port.value) : undefined }, true));
    c.since.addEventListener('change', () => this.navigate({ since: fromLocalInput(c.since.value) }, true));
    c.until.addEventListener('change', () => this.navigate({ until: fromLocalInput(c.until.value) }, true));
    const field = (label: string, el: HTMLElement) => h('label', { className: 'field' }, h('span', null, label), el);
    replace(byId('filters'),
      field('Search', c.q),
      h('p', { className: 'hint small', id: 'search-hint' }),
      field('Namespace', c.namespace),
      field('Kind', c.kind),
      field('Port', c.port),
      field('Verdict', c.verdict),
      field('Since (UTC)', c.since),
      field('Until (UTC)', c.until),
      h('div', { className: 'row' },
        h('button', { type: 'button', id: 'f-reset', onclick: () => this.navigate({ namespace: undefined, kind: undefined, port: undefined, verdict: undefined, since: undefined, until: undefined, q: undefined }, true) }, 'Reset filters')),
      h('h3', null, 'Layout'),
      h('div', { className: 'row' },
        h('button', { type: 'button', id: 'relayout', onclick: () => void this.relayout() }, 'Force-directed layout'),
        h('button', { type: 'button', onclick: () => this.cyInstance?.fit(undefined, 30) }, 'Fit')),
      h('h3', null, 'Legend'),
      legend(),
    );
    replace(byId('exports'),
      h('button', { type: 'button', id: 'export-png', onclick: () => void this.exportPng() }, 'PNG'),
      h('button', { type: 'button', id: 'export-svg', onclick: () => this.exportSvg() }, 'SVG'),
      h('button', { type: 'button', id: 'export-json', onclick: () => void this.exportBlob(`export/graph.json${query({ ...filtersOf(this.current) })}`, 'segmap-graph.json') }, 'JSON'),
      h('button', { type: 'button', id: 'export-manifests', onclick: () => void this.exportBlob('export/manifests.tar', 'segmap-policies.tar') }, 'Manifests (.tar)'),
    );
    this.graphEl.dataset.state = 'loading';
  }

  private fillFilterOptions(): void {
    const m = this.metaData;
    const opts = (values: string[]) => [h('option', { value: '' }, 'all'), ...values.map((v) => h('option', { value: v }, v))];
    replace(this.controls.namespace, opts(m.namespaces));
    replace(this.controls.kind, opts(m.kinds));
    const toInput = (iso: string | null) => (iso ? iso.slice(0, 16) : '');
    for (const el of [this.controls.since, this.controls.until]) {
      el.min = toInput(m.dataWindow.first);
      el.max = toInput(m.dataWindow.last ? new Date(Date.parse(m.dataWindow.last) + 60_000).toISOString() : null);
    }
  }

  private syncControls(s: ViewState): void {
    const c = this.controls;
    if (document.activeElement !== c.q) c.q.value = s.q ?? '';
    c.namespace.value = s.namespace ?? '';
    c.kind.value = s.kind ?? '';
    c.port.value = s.port !== undefined ? String(s.port) : '';
    c.verdict.value = s.verdict ?? '';
    c.since.value = s.since ? s.since.slice(0, 16) : '';
    c.until.value = s.until ? s.until.slice(0, 16) : '';
    for (const b of byId('views').querySelectorAll<HTMLButtonElement>('button.tab')) b.classList.toggle('active', b.dataset.view === s.view);
  }

  private async apply(next: ViewState): Promise<void> {
    const prev = this.current;
    this.current = next;
    this.syncControls(next);
    const graphShown = next.view === 'map' || next.view === 'simulate';
    byId('main').dataset.view = next.view;
    byId('graph-pane').hidden = !graphShown;
    byId('table-pane').hidden = graphShown;
    byId('detail').hidden = next.view === 'simulate';
    byId('simulate').hidden = next.view !== 'simulate';
    if (graphShown) {
      if (!this.loaded || !sameFilters(this.loaded, next)) await this.loadGraph(next);
      else this.cyInstance?.resize();
      if (this.current !== next) return;
      this.applySearch(next.q);
      this.applySelection(next);
      if (next.view === 'simulate' && prev.view !== 'simulate') this.sim.render();
    } else if (next.view === 'findings') {
      await renderFindings(byId('table-pane'), this);
    } else {
      if (prev.view !== 'sa') this.saView.invalidate();
      // The side panel shows the selected account: nothing the workload panel still loads may overwrite it.
      this.panel.clear();
      await this.saView.render(byId('table-pane'), byId('detail'));
    }
  }

  private async loadGraph(s: ViewState): Promise<void> {
    const gen = ++this.generation;
    this.graphEl.dataset.state = 'loading';
    try {
      const g = await this.progress.run('Loading the traffic graph…', () => api.graph(filtersOf(s)));
      if (gen !== this.generation) return;
      mark('graph-fetched');
      this.cyInstance?.destroy();
      this.graphData = g;
      const init = initialPositions(g);
      const cy = await this.progress.run(`Drawing ${fmtCount(g.nodes.length)} nodes and ${fmtCount(g.edges.length)} edges…`, async () => createCy(this.graphEl, g, init?.positions));
      mark('cy-created');
      this.cyInstance = cy;
      this.bindGraphEvents(cy);
      const big = g.nodes.length > FORCE_LAYOUT_MAX_NODES;
      const how = init ? init.how : await this.progress.run(`Laying out ${fmtCount(g.nodes.length)} nodes…`, () => forceLayout(cy, g));
      // Big maps: the viewport from the known positions (cy.fit would first compute every element's style).
      if (init && hasBoxes(cy)) fitPositions(cy, init.positions); else if (init) cy.fit(undefined, 30);
      if (gen !== this.generation) return;
      mark('layout-done');
      this.loaded = s;
      this.renderStatus(g, how === 'packed' ? ` · packed layout${big ? ' (press “Force-directed layout” to untangle)' : ''}` : '');
      if (this.sim.active) this.sim.highlight();
      await nextFrame();
      this.graphEl.dataset.state = 'ready';
      this.graphEl.dataset.nodes = String(g.nodes.length);
      this.graphEl.dataset.edges = String(g.edges.length);
      mark('rendered');
      if (this.firstRender) {
        this.firstRender = false;
        performance.mark('segmap:first-render');
      }
    } catch (e) {
      if (gen !== this.generation) return;
      this.graphEl.dataset.state = 'error';
      replace(this.statusEl, h('span', { className: 'error' }, (e as Error).message));
    }
  }

  private renderStatus(g: Graph, note: string): void {
    const denied = g.edges.filter((e) => e.verdict === 'denied').length;
    const window = this.current.since || this.current.until
      ? ` · ${this.current.since ? fmtTime(this.current.since) : '…'} – ${this.current.until ? fmtTime(this.current.until) : '…'}`
      : this.metaData.dataWindow.first ? ` · data ${fmtTime(this.metaData.dataWindow.first)} – ${fmtTime(this.metaData.dataWindow.last!)}` : '';
    replace(this.statusEl, `${fmtCount(g.nodes.length)} nodes · ${fmtCount(g.edges.length)} edges${denied ? ` · ${denied} denied` : ''}${window}${note}`);
  }

  private bindGraphEvents(cy: Core): void {
    cy.on('tap', 'node', (ev) => {
      const n = ev.target;
      if (n.hasClass('group')) return;
      this.navigate({ sel: n.id(), edge: undefined }, true);
    });
    cy.on('dbltap', 'node.group', (ev) => {
      const id: string = ev.target.id();
      if (id.startsWith('ns:')) this.navigate({ namespace: id.slice(3), sel: undefined, edge: undefined }, true);
    });
    cy.on('tap', 'edge', (ev) => this.navigate({ edge: ev.target.id(), sel: undefined }, true));
    cy.on('tap', (ev) => {
      if (ev.target === cy && (this.current.sel || this.current.edge)) this.navigate({ sel: undefined, edge: undefined }, true);
    });
  }

  private applySearch(q: string | undefined): void {
    const cy = this.cyInstance;
    const hint = byId('search-hint');
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass('match faded');
      if (!q) return;
      const needle = q.toLowerCase();
      const hits = cy.nodes().filter((n) => !n.hasClass('group') && (String(n.data('label')).toLowerCase().includes(needle) || n.id().toLowerCase().includes(needle)));
      cy.elements().addClass('faded');
      hits.removeClass('faded').addClass('match');
      containersOf(cy, hits).removeClass('faded');
      hits.connectedEdges().removeClass('faded');
      replace(hint, `${hits.length} match${hits.length === 1 ? '' : 'es'}${hits.length ? ' — Enter selects the first' : ''}`);
    });
    if (!q) replace(hint);
  }

  private applySelection(s: ViewState): void {
    const cy = this.cyInstance;
    if (!cy) return;
    cy.$(':selected').unselect();
    const id = s.sel ?? s.edge;
    if (id) {
      const el = cy.getElementById(id);
      if (el.nonempty()) {
        el.select();
        const p = el.renderedBoundingBox();
        if (p.x2 < 0 || p.y2 < 0 || p.x1 > cy.width() || p.y1 > cy.height()) cy.animate({ center: { eles: el } }, { duration: 250 });
      }
    }
    if (s.view === 'simulate') return;
    if (s.sel) void this.panel.showNode(s.sel);
    else if (s.edge) void this.panel.showEdge(s.edge);
    else this.panel.clear();
  }

  private async relayout(): Promise<void> {
    const shown = this.cyInstance;
    const g = this.graphData;
    if (!shown || !g) return;
    await this.progress.run(`Force-directed layout of ${fmtCount(g.nodes.length)} nodes…`, async () => {
      let cy = shown;
      if (hasBoxes(cy)) {
        // The force layout keeps namespaces together through compound parents: redraw with them first, in place.
        const pos: Positions = {};
        cy.nodes().not('.group').forEach((n) => { const p = n.position(); pos[n.id()] = [p.x, p.y]; });
        cy.destroy();
        cy = this.cyInstance = createCy(this.graphEl, g, pos, { compound: true });
        this.bindGraphEvents(cy);
        this.applySearch(this.current.q);
        const sel = this.current.sel ?? this.current.edge;
        if (sel) cy.getElementById(sel).select();
        if (this.sim.active) this.sim.highlight();
      }
      return forceLayout(cy, g);
    });
    this.renderStatus(g, '');
  }

  private async exportPng(): Promise<void> {
    const cy = this.cyInstance;
    if (!cy) { this.toast('Open the map first.', 'error'); return; }
    const blob = await this.progress.run('Rendering PNG…', async () =>
      cy.png({ output: 'blob', full: true, bg: '#ffffff', scale: cy.nodes().length > 500 ? 1 : 2, maxWidth: 12000, maxHeight: 12000 }));
    download('segmap-map.png', blob);
  }

  private exportSvg(): void {
    const cy = this.cyInstance;
    if (!cy) { this.toast('Open the map first.', 'error'); return; }
    download('segmap-map.svg', new Blob([mapSvg(cy)], { type: 'image/svg+xml' }));
  }

  private async exportBlob(path: string, name: string): Promise<void> {
    try {
      download(name, await this.progress.run(`Preparing ${name}…`, () => api.blob(path)));
    } catch (e) {
      this.toast(e instanceof ApiFailure && e.status === 501 ? `Not available yet: ${e.message}` : (e as Error).message, 'error');
    }
  }
}

/** One overlay for every long operation; it is painted before synchronous work (layout) blocks the page. */
class ProgressOverlay implements Progress {
  private active = 0;
  private readonly label = h('span', { className: 'progress-label' });
  private readonly bar = h('progress', { max: 1 });

  constructor(private readonly el: HTMLElement) {
    replace(el, h('div', { className: 'progress-box' }, this.label, this.bar));
  }

  async run<T>(label: string, work: (update: (fraction: number | undefined, label?: string) => void) => Promise<T>): Promise<T> {
    this.active++;
    this.label.textContent = label;
    this.bar.removeAttribute('value');
    this.el.hidden = false;
    this.el.dataset.busy = 'true';
    await nextFrame();
    try {
      return await work((fraction, text) => {
        if (text) this.label.textContent = text;
        if (fraction === undefined) this.bar.removeAttribute('value'); else this.bar.value = fraction;
      });
    } finally {
      if (--this.active === 0) {
        this.el.hidden = true;
        delete this.el.dataset.busy;
      }
    }
  }
}

/** Phase marks (`segmap:…`), read by the benchmark to say where the time goes. */
function mark(name: string): void {
  performance.mark(`segmap:${name}`);
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/** `datetime-local` values are read as UTC, like every time on the page. */
function fromLocalInput(v: string): string | undefined {
  return v ? `${v.length === 16 ? `${v}:00` : v}Z` : undefined;
}

function legend(): HTMLElement {
  const item = (cls: string, text: string) => h('li', null, h('span', { className: `swatch ${cls}` }), text);
  return h('ul', { className: 'legend' },
    item('k-deployment', 'Deployment / ReplicaSet'), item('k-statefulset', 'StatefulSet'), item('k-daemonset', 'DaemonSet'),
    item('k-job', 'CronJob / Job'), item('k-pod', 'bare Pod'), item('k-node', 'Node'), item('k-external', 'External (DNS name when known)'),
    item('k-unknown', 'Unknown address'), item('e-allowed', 'traffic (width ∝ log flows)'), item('e-denied', 'denied by the network'),
    item('e-break', 'would break (simulation)'));
}

export function start(): void {
  const run = () => void new App().start();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run, { once: true }); else run();
}
