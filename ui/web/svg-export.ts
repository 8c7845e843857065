import type { Core } from 'cytoscape';

/**
 * The map as SVG, drawn from cytoscape's computed positions and styles. cytoscape-svg would do this, but it is GPLv3,
 * which segmap's licence cannot take in. Every label comes from the cluster, so it is XML-escaped here.
 */
export function mapSvg(cy: Core): string {
  const bb = cy.elements().boundingBox({});
  const pad = 20;
  const w = Math.ceil(bb.w + 2 * pad);
  const hgt = Math.ceil(bb.h + 2 * pad);
  const x = (v: number) => (v - bb.x1 + pad).toFixed(1);
  const y = (v: number) => (v - bb.y1 + pad).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${hgt}" viewBox="0 0 ${w} ${hgt}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${w}" height="${hgt}" fill="#ffffff"/>`,
  ];
  // Group boxes first (namespaces), then edges, then nodes and labels on top.
  for (const n of cy.nodes().filter((n) => n.isParent() || n.hasClass('box'))) {
    const b = n.boundingBox({ includeLabels: false });
    out.push(`<rect x="${x(b.x1)}" y="${y(b.y1)}" width="${b.w.toFixed(1)}" height="${b.h.toFixed(1)}" rx="6" fill="#f4f6f8" stroke="#c8d0d8"/>`);
    out.push(text(n.data('label') ?? n.id(), Number(x(b.x1)) + b.w / 2, Number(y(b.y1)) - 4, 11, '#333', 'bold'));
  }
  for (const e of cy.edges()) {
    const s = e.source().position();
    const t = e.target().position();
    const color = String(e.style('line-color') ?? '#9aa5b1');
    const dashed = e.style('line-style') === 'dashed' ? ' stroke-dasharray="6 4"' : '';
    const width = Math.max(1, Math.min(8, Number.parseFloat(String(e.style('width'))) || 1));
    out.push(`<line x1="${x(s.x)}" y1="${y(s.y)}" x2="${x(t.x)}" y2="${y(t.y)}" stroke="${attr(color)}" stroke-width="${width}"${dashed}/>`);
    const label = e.data('label');
    if (label) out.push(text(label, (Number(x(s.x)) + Number(x(t.x))) / 2, (Number(y(s.y)) + Number(y(t.y))) / 2 - 3, 8, '#555'));
  }
  for (const n of cy.nodes().filter((n) => !n.isParent() && !n.hasClass('box'))) {
    const p = n.position();
    const size = Math.max(8, Number.parseFloat(String(n.style('width'))) || 20);
    out.push(`<rect x="${(Number(x(p.x)) - size / 2).toFixed(1)}" y="${(Number(y(p.y)) - size / 2).toFixed(1)}" width="${size}" height="${size}" rx="4" fill="${attr(String(n.style('background-color') ?? '#2563eb'))}"/>`);
    out.push(text(n.data('label') ?? n.id(), Number(x(p.x)), Number(y(p.y)) + size / 2 + 11, 10, '#222'));
  }
  out.push('</svg>');
  return out.join('\n');
}

function text(s: unknown, cx: number, cy: number, size: number, fill: string, weight = 'normal'): string {
  return `<text x="${cx.toFixed(1)}" y="${cy.toFixed(1)}" font-size="${size}" font-weight="${weight}" fill="${fill}" text-anchor="middle">${xml(String(s))}</text>`;
}

/** Escape for XML text and attribute values; drop the control characters XML 1.0 forbids. */
export function xml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const attr = (s: string) => xml(s);
