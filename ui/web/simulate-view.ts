import { endpointId } from '../../model/endpoint.js';
import { api } from './api.js';
import type { SimulateResult } from './api-types.js';
import type { AppContext } from './context.js';
import { fmtCount, fmtTime, h, replace } from './dom.js';
import { containersOf } from './graph.js';
import { errorBox } from './panel.js';
import { edgeKey, filtersOf } from './state.js';

const MAX_FILE_BYTES = 2 * 1024 * 1024;

/**
 * "What would break": paste or upload policy YAML, replay the observed traffic against it on the server, and mark the
 * flows it would drop on the map. The form survives view switches; the result stays until cleared.
 */
export class SimulateView {
  private readonly text = h('textarea', { id: 'sim-yaml', spellcheck: false, placeholder: 'Paste NetworkPolicy / AdminNetworkPolicy YAML here (multi-document is fine)…', rows: 14 });
  private readonly ns = h('input', { id: 'sim-ns', type: 'text', value: 'default', size: 14 });
  private readonly ignoreExisting = h('input', { id: 'sim-ignore', type: 'checkbox' });
  private readonly out = h('div', { id: 'sim-result' });
  private result?: SimulateResult;

  constructor(private readonly el: HTMLElement, private readonly app: AppContext) {}

  render(): void {
    const file = h('input', { type: 'file', accept: '.yaml,.yml,.json', id: 'sim-file' });
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (!f) return;
      if (f.size > MAX_FILE_BYTES) { this.app.toast('That file is larger than 2 MB, the server\'s limit.', 'error'); return; }
      void f.text().then((t) => { this.text.value = t; });
    });
    replace(this.el,
      h('h2', null, 'What would break'),
      h('p', { className: 'hint' }, 'Replays every observed allowed flow against these policies (merged with the cluster\'s own, as kubectl apply would) and lists the flows they would drop.'),
      this.text,
      h('div', { className: 'row' }, h('label', null, 'Upload ', file)),
      h('div', { className: 'row' },
        h('label', null, 'Namespace for policies without one ', this.ns),
        h('label', null, this.ignoreExisting, ' ignore the cluster\'s current policies')),
      h('div', { className: 'row' },
        h('button', { type: 'button', id: 'sim-run', className: 'primary', onclick: () => void this.run() }, 'Run simulation'),
        h('button', { type: 'button', onclick: () => this.reset() }, 'Clear')),
      this.out,
    );
    if (this.result) this.show(this.result);
  }

  private async run(): Promise<void> {
    const yaml = this.text.value;
    if (!yaml.trim()) { this.app.toast('Paste or upload policy YAML first.', 'error'); return; }
    const f = filtersOf(this.app.state());
    try {
      this.result = await this.app.progress.run('Replaying observed flows against the policies…', () =>
        api.simulate({ yaml, namespace: this.ns.value.trim() || 'default', ignoreExisting: this.ignoreExisting.checked, since: f.since, until: f.until }));
      this.show(this.result);
      this.highlight();
    } catch (e) {
      this.result = undefined;
      this.unhighlight();
      replace(this.out, errorBox(e));
    }
  }

  private reset(): void {
    this.result = undefined;
    this.text.value = '';
    replace(this.out);
    this.unhighlight();
  }

  private show(r: SimulateResult): void {
    const total = r.allowedFlows + r.deniedFlows;
    replace(this.out,
      h('p', { className: r.denied.length ? 'verdict bad' : 'verdict good', id: 'sim-summary' }, r.denied.length === 0
        ? `Nothing observed would break: all ${fmtCount(r.allowedFlows)} flows stay allowed (${r.policies} policies read).`
        : `${fmtCount(r.deniedFlows)} of ${fmtCount(total)} observed flows would be dropped, on ${r.denied.length} edge${r.denied.length === 1 ? '' : 's'} (highlighted in orange).`),
      r.notEvaluatedFlows ? h('p', { className: 'hint' }, `${fmtCount(r.notEvaluatedFlows)} flows of protocols policies cannot name by port (e.g. ICMP) were not evaluated.`) : null,
      r.denied.length ? h('table', { className: 'grid' },
        h('thead', null, h('tr', null, ['client', 'server', 'port', 'flows', 'seen', 'dropped by'].map((c) => h('th', null, c)))),
        h('tbody', null, r.denied.map((d) => h('tr', { className: 'would-break' },
          h('td', { className: 'mono' }, endpointId(d.src)),
          h('td', { className: 'mono' }, endpointId(d.dst)),
          h('td', null, `${d.protocol}/${d.port}`),
          h('td', { className: 'num' }, fmtCount(d.flows)),
          h('td', null, `${fmtTime(d.firstSeen)} – ${fmtTime(d.lastSeen)}`),
          h('td', null, decider(d.decidedBy)),
        )))) : null,
      r.problems.length ? h('details', { className: 'problems' }, h('summary', null, `${r.problems.length} problems in the YAML or policies`),
        h('ul', null, r.problems.map((p) => h('li', null, p)))) : null,
    );
  }

  /** Re-apply the marks, e.g. after the graph was rebuilt for new filters. */
  highlight(): void {
    const cy = this.app.cy();
    if (!cy || !this.result) return;
    this.unhighlight();
    if (this.result.denied.length === 0) return;
    cy.batch(() => {
      cy.elements().addClass('dim');
      for (const d of this.result!.denied) {
        const e = cy.getElementById(edgeKey({ src: endpointId(d.src), dst: endpointId(d.dst), protocol: d.protocol, port: d.port, verdict: 'allowed' }));
        if (e.empty()) continue;
        e.removeClass('dim').addClass('would-break');
        e.connectedNodes().removeClass('dim').addClass('would-break');
        containersOf(cy, e.connectedNodes()).removeClass('dim');
      }
    });
  }

  unhighlight(): void {
    this.app.cy()?.elements().removeClass('would-break dim');
  }

  get active(): boolean {
    return Boolean(this.result && this.result.denied.length);
  }
}

function decider(d: SimulateResult['denied'][number]['decidedBy']): string {
  if (d.kind === 'None') return `no policy (${d.direction ?? ''})`;
  const name = d.namespace ? `${d.namespace}/${d.name}` : d.name ?? '';
  const rule = typeof d.rule === 'number' ? `${d.direction} rule ${d.rule}${d.ruleName ? ` "${d.ruleName}"` : ''}` : `${d.direction ?? ''} ${d.rule ?? ''}`;
  return `${d.kind} ${name}: ${rule}`;
}
