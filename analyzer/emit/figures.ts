/** Friction and coverage in words: one spelling for `policies`, `simulate`, the plan and the README. */
import { COVERAGE_CLASSES, type CoverageClass, type CoverageFigures, type Friction } from '../../model/index.js';

const n = (x: number) => x.toLocaleString('en-US');

/** `0 observed flows blocked (0 edges) of 2,562 replayed` — the same words wherever a proposal or a file is replayed. */
export function frictionText(f: Friction): string {
  return `${n(f.blockedFlows)} observed flow${f.blockedFlows === 1 ? '' : 's'} blocked (${n(f.blockedEdges)} edge${f.blockedEdges === 1 ? '' : 's'}) of ${n(f.replayedFlows)} replayed`;
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '0%';
  const p = (part / whole) * 100;
  if (part > 0 && p < 0.05) return '<0.1%';
  if (part < whole && p > 99.95) return '>99.9%';
  return `${p.toFixed(1).replace(/\.0$/, '')}%`;
}

const total = (r: Record<CoverageClass, number>) => COVERAGE_CLASSES.reduce((s, c) => s + r[c], 0);

/** `identity 87.5% of flows (14 edges), address 12.5% (2), open 0% (0)`; blocked and unattributed only when present. */
export function coverageText(c: CoverageFigures): string {
  const flows = total(c.flows);
  if (flows === 0 && total(c.edges) === 0) return 'no observed traffic';
  const parts = COVERAGE_CLASSES.filter((k) => k === 'identity' || k === 'address' || k === 'open' || c.edges[k] > 0)
    .map((k, i) => `${k} ${percent(c.flows[k], flows)}${i === 0 ? ' of flows' : ''} (${n(c.edges[k])}${i === 0 ? ` of ${n(total(c.edges))} edges` : ''})`);
  return parts.join(', ');
}

export const emptyCoverage = (): CoverageFigures => ({
  flows: { identity: 0, address: 0, open: 0, blocked: 0, unattributed: 0 },
  edges: { identity: 0, address: 0, open: 0, blocked: 0, unattributed: 0 },
});
