import { endpointId, type Edge, type Graph } from '../../model/index.js';

export function graphText(g: Graph): string {
  const lines = [`# window: ${g.window.since ?? 'start'} .. ${g.window.until ?? 'end'}; ${g.nodes.length} nodes, ${g.edges.length} edges`];
  for (const e of g.edges) lines.push(edgeLine(e));
  return lines.join('\n') + '\n';
}

export function edgeLine(e: Edge): string {
  return `${endpointId(e.src)} => ${endpointId(e.dst)} : ${e.protocol} ${e.port} ${e.verdict} (${e.flows} flows, ${e.bytes} bytes, ${e.firstSeen} .. ${e.lastSeen})`;
}

const dotQuote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export function graphDot(g: Graph): string {
  const out = ['digraph segmap {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  for (const n of g.nodes) {
    const shape = n.kind === 'External' ? 'ellipse' : n.kind === 'Node' ? 'box3d' : n.kind === 'Unknown' ? 'diamond' : 'box';
    out.push(`  ${dotQuote(n.id)} [shape=${shape}];`);
  }
  for (const e of g.edges) {
    const style = e.verdict === 'denied' ? ', color=red, style=dashed' : '';
    out.push(`  ${dotQuote(endpointId(e.src))} -> ${dotQuote(endpointId(e.dst))} [label=${dotQuote(`${e.protocol} ${e.port}`)}${style}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
