import cytoscape, { type Core, type ElementDefinition, type NodeCollection, type StylesheetJson } from 'cytoscape';
import { endpointId } from '../../model/endpoint.js';
import type { Edge, Endpoint, Graph } from './api-types.js';
import { edgeKey } from './state.js';

/** Above this many nodes the force-directed layout runs only on request; a packed grid shows first. */
export const FORCE_LAYOUT_MAX_NODES = 600;
const LARGE_EDGES = 3000;
const LAYOUT_STORE_PREFIX = 'segmap.layout.v1.';

/** What a node is called on the map: names first, addresses when that is all there is. */
export function displayName(e: Endpoint): string {
  if (e.kind === 'External') return e.name ?? e.cidr ?? e.ip ?? '?';
  if (e.kind === 'Node') return e.name ?? e.ip ?? '?';
  if (e.kind === 'Unknown') return e.ip ?? '?';
  return e.name ?? '?';
}

/** The compound node an endpoint is drawn inside: its namespace, or one group per non-workload kind. */
export function groupOf(e: Endpoint): { id: string; label: string } {
  if (e.namespace) return { id: `ns:${e.namespace}`, label: e.namespace };
  if (e.kind === 'Node') return { id: 'group:nodes', label: 'Nodes' };
  if (e.kind === 'External') return { id: 'group:external', label: 'External' };
  return { id: 'group:unknown', label: 'Unknown addresses' };
}

export const edgeId = (e: Edge) => edgeKey({ src: endpointId(e.src), dst: endpointId(e.dst), protocol: e.protocol, port: e.port, verdict: e.verdict });

/**
 * The elements to draw. Namespaces and the other groups are compound parents; or, with `boxes` (big estates whose
 * positions are known up front), plain nodes sized to the box around their members. Compound parents make cytoscape
 * walk every parent, child and connected edge whenever any style of any of them is computed, which is most of the
 * first-render time of a big estate; a box is one more ordinary node.
 */
export function elements(g: Graph, positions?: Positions, boxes = false): ElementDefinition[] {
  const groups = new Map<string, ElementDefinition & { members: [number, number][] }>();
  const nodes: ElementDefinition[] = [];
  const asBoxes = boxes && positions !== undefined;
  for (const n of g.nodes) {
    const grp = groupOf(n);
    let group = groups.get(grp.id);
    if (!group) groups.set(grp.id, group = { group: 'nodes', data: { id: grp.id, label: grp.label, kind: 'group' }, classes: asBoxes ? 'group box' : 'group', members: [] });
    const p = positions?.[n.id];
    if (p) group.members.push(p);
    nodes.push({
      group: 'nodes', data: { id: n.id, label: displayName(n), kind: n.kind, ...(asBoxes ? { box: grp.id } : { parent: grp.id }) },
      ...(p ? { position: { x: p[0], y: p[1] } } : {}),
    });
  }
  const edges: ElementDefinition[] = g.edges.map((e) => ({
    group: 'edges',
    data: {
      id: edgeId(e), source: endpointId(e.src), target: endpointId(e.dst), label: `${e.protocol}/${e.port}`, verdict: e.verdict,
      flows: e.flows, width: Math.min(10, 1 + 1.6 * Math.log10(1 + e.flows)),
    },
    classes: e.verdict,
  }));
  const groupEls = [...groups.values()].map(({ members, ...el }) => {
    if (!asBoxes) return el;
    // The box a compound parent would have: its members' extent, plus the node size, plus the padding.
    const [x1, y1, x2, y2] = extent(members);
    const pad = NODE_SIZE / 2 + GROUP_PADDING;
    return {
      ...el, grabbable: false, selectable: false,
      data: { ...el.data, w: x2 - x1 + 2 * pad, h: y2 - y1 + 2 * pad + LABEL_ROOM },
      position: { x: (x1 + x2) / 2, y: (y1 + y2 + LABEL_ROOM) / 2 },
    };
  });
  return [...groupEls, ...nodes, ...edges];
}

/** [x1, y1, x2, y2] of points (x1 > x2 when there are none). */
function extent(points: Iterable<[number, number]>): [number, number, number, number] {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) {
    if (x < x1) x1 = x;
    if (x > x2) x2 = x;
    if (y < y1) y1 = y;
    if (y > y2) y2 = y;
  }
  return [x1, y1, x2, y2];
}

const NODE_SIZE = 26;
const GROUP_PADDING = 14;
/** Room under a box's members for their labels (a compound parent includes them in its size). */
const LABEL_ROOM = 16;

/** The groups (compound parents or boxes) the given nodes are drawn in. */
export function containersOf(cy: Core, nodes: NodeCollection): NodeCollection {
  const ids = new Set<string>();
  nodes.forEach((n) => { const b = n.data('box') as string | undefined; if (b) ids.add(b); });
  let out = nodes.parents();
  for (const id of ids) out = out.union(cy.getElementById(id));
  return out;
}

/** Whether the groups are drawn as boxes (no compound parents): the force layout needs them compound. */
export const hasBoxes = (cy: Core) => cy.nodes('.box').nonempty();

const KIND_STYLE: Record<string, { color: string; shape: string }> = {
  Deployment: { color: '#2f6fdf', shape: 'round-rectangle' },
  StatefulSet: { color: '#7a4fd6', shape: 'barrel' },
  DaemonSet: { color: '#1f8a70', shape: 'hexagon' },
  CronJob: { color: '#c77d00', shape: 'diamond' },
  Job: { color: '#c77d00', shape: 'diamond' },
  Pod: { color: '#4a7fa8', shape: 'ellipse' },
  ReplicaSet: { color: '#2f6fdf', shape: 'round-rectangle' },
  ReplicationController: { color: '#2f6fdf', shape: 'round-rectangle' },
  Service: { color: '#5b8c2a', shape: 'round-triangle' },
  Node: { color: '#6b7280', shape: 'rectangle' },
  External: { color: '#b45309', shape: 'round-tag' },
  Unknown: { color: '#9ca3af', shape: 'octagon' },
};

const EDGE_TEXT = {
  'font-size': 9, color: '#475569', 'text-rotation': 'autorotate', 'min-zoomed-font-size': 9,
  'text-background-color': '#ffffff', 'text-background-opacity': 0.8, 'text-background-padding': '1px',
} as const;

export function graphStyle(large: boolean): StylesheetJson {
  const kinds: StylesheetJson = Object.entries(KIND_STYLE).map(([kind, s]) => ({
    selector: `node[kind = "${kind}"]`, style: { 'background-color': s.color, shape: s.shape as 'ellipse' },
  }));
  return [
    {
      selector: 'node',
      // Big maps: as few properties as will do (each one applied costs a pass over the node's edges in cytoscape);
      // labels show from zoom ~0.9 on.
      style: large
        ? { label: 'data(label)', 'font-size': 11, 'text-valign': 'bottom', width: NODE_SIZE, height: NODE_SIZE, 'min-zoomed-font-size': 10 }
        : {
          label: 'data(label)', 'font-size': 11, color: '#1f2937', 'text-valign': 'bottom', 'text-margin-y': 4, width: NODE_SIZE, height: NODE_SIZE,
          'text-wrap': 'ellipsis', 'text-max-width': '120px', 'min-zoomed-font-size': 7, 'border-width': 1, 'border-color': '#ffffff',
        },
    },
    ...kinds,
    {
      selector: 'node.group',
      style: {
        shape: 'round-rectangle', 'background-color': '#eef2f7', 'background-opacity': 0.7, 'border-color': '#c5cfdc', 'border-width': 1,
        'text-valign': 'top', 'text-halign': 'center', 'font-size': 13, 'font-weight': 'bold', color: '#334155', padding: '14px',
        'text-margin-y': -4, 'min-zoomed-font-size': 4,
      },
    },
    // A box stands in for a compound parent: sized by data, under everything else.
    { selector: 'node.box', style: { width: 'data(w)', height: 'data(h)', 'z-compound-depth': 'bottom', 'text-margin-y': 0 } },
    {
      selector: 'edge',
      // Big maps: haystack lines, no labels, no arrowheads, no transparency — the cheapest edges to build and draw (text
      // measuring for thousands of labels alone costs seconds). A selected edge shows its label and direction.
      style: large
        ? { width: 'data(width)', 'line-color': '#b6c2d2' } // curve-style: haystack is cytoscape's default
        : {
          width: 'data(width)', 'line-color': '#94a3b8', 'target-arrow-color': '#94a3b8', 'arrow-scale': 0.8, opacity: 0.85,
          'curve-style': 'bezier', 'target-arrow-shape': 'triangle', label: 'data(label)', ...EDGE_TEXT,
        },
    },
    { selector: 'edge.denied', style: { 'line-color': '#dc2626', 'target-arrow-color': '#dc2626', 'line-style': 'dashed', color: '#b91c1c' } },
    { selector: 'node.match', style: { 'border-width': 4, 'border-color': '#facc15' } },
    { selector: '.dim, .faded', style: { opacity: 0.12 } },
    { selector: 'edge.would-break', style: { 'line-color': '#f97316', 'target-arrow-color': '#f97316', width: 6, 'line-style': 'solid', opacity: 1, 'z-index': 10 } },
    { selector: 'node.would-break', style: { 'border-width': 4, 'border-color': '#f97316' } },
    { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#111827' } },
    {
      selector: 'edge:selected',
      style: {
        'line-color': '#111827', 'target-arrow-color': '#111827', width: 5, opacity: 1, label: 'data(label)', ...EDGE_TEXT,
        'curve-style': 'straight', 'target-arrow-shape': 'triangle',
      },
    },
    ...(large ? [{ selector: 'edge.would-break', style: { 'curve-style': 'straight', 'target-arrow-shape': 'triangle' } }] as StylesheetJson : []),
  ];
}

const isLarge = (g: Graph) => g.edges.length > LARGE_EDGES || g.nodes.length > FORCE_LAYOUT_MAX_NODES;

/**
 * The map. Big estates whose positions are known (packed grid or cached layout) draw their groups as boxes, not compound
 * parents (see `elements`); `compound` forces compound parents (the force layout needs them).
 */
export function createCy(container: HTMLElement, g: Graph, positions?: Positions, opts: { compound?: boolean } = {}): Core {
  const large = isLarge(g);
  return cytoscape({
    container,
    elements: elements(g, positions, large && !opts.compound),
    style: graphStyle(large),
    // The caller fits the viewport once (a preset layout would fit, i.e. measure every element, on its own first).
    layout: { name: 'preset', fit: false },
    minZoom: 0.02,
    maxZoom: 4,
    boxSelectionEnabled: false,
    selectionType: 'single',
    // Big estates: draw a cached texture while panning and skip edges mid-gesture, so the map stays responsive.
    hideEdgesOnViewport: large,
    textureOnViewport: large,
    pixelRatio: large ? 1 : 'auto',
  });
}

/** Same set of nodes, same cached positions. */
export function layoutKey(g: Graph): string {
  let h = 0x811c9dc5;
  for (const n of g.nodes) for (let i = 0; i < n.id.length; i++) h = Math.imul(h ^ n.id.charCodeAt(i), 0x01000193);
  return `${LAYOUT_STORE_PREFIX}${g.nodes.length}.${(h >>> 0).toString(36)}`;
}

export type Positions = Record<string, [number, number]>;

function cached(key: string): Positions | undefined {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as Positions) : undefined;
  } catch {
    return undefined;
  }
}

function saveLayout(cy: Core, key: string): void {
  const pos: Positions = {};
  cy.nodes().not('.group').forEach((n) => {
    const p = n.position();
    pos[n.id()] = [Math.round(p.x), Math.round(p.y)];
  });
  try {
    localStorage.setItem(key, JSON.stringify(pos));
  } catch {
    // Storage full: drop older layouts rather than fail the page.
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k?.startsWith(LAYOUT_STORE_PREFIX) && k !== key) localStorage.removeItem(k);
    }
    try { localStorage.setItem(key, JSON.stringify(pos)); } catch { /* give up: layout is recomputed next time */ }
  }
}

/** Groups packed in rows, members in a square grid inside each: instant at any size, and never overlapping. */
function packedPositions(g: Graph): Positions {
  const SPACING = 110;
  const GAP = 90;
  const byGroup = new Map<string, string[]>();
  for (const n of g.nodes) {
    const id = groupOf(n).id;
    const list = byGroup.get(id);
    if (list) list.push(n.id); else byGroup.set(id, [n.id]);
  }
  const groups = [...byGroup].map(([id, members]) => ({ id, members: members.sort() }));
  groups.sort((a, b) => b.members.length - a.members.length || a.id.localeCompare(b.id));
  const dims = groups.map((grp) => {
    const cols = Math.max(1, Math.ceil(Math.sqrt(grp.members.length)));
    return { ...grp, cols, w: cols * SPACING, hgt: Math.ceil(grp.members.length / cols) * SPACING };
  });
  const totalArea = dims.reduce((sum, d) => sum + (d.w + GAP) * (d.hgt + GAP), 0);
  const rowWidth = Math.max(dims[0]?.w ?? 0, Math.sqrt(totalArea) * 1.4);
  const pos: Positions = {};
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const d of dims) {
    if (x > 0 && x + d.w > rowWidth) { x = 0; y += rowH + GAP; rowH = 0; }
    d.members.forEach((id, i) => { pos[id] = [x + (i % d.cols) * SPACING, y + Math.floor(i / d.cols) * SPACING]; });
    x += d.w + GAP;
    rowH = Math.max(rowH, d.hgt);
  }
  return pos;
}

/**
 * Positions known before the graph is built (given to cytoscape with the elements, which is far cheaper than moving
 * thousands of compound children afterwards): the cached layout of this exact node set, or for estates too big to lay
 * out at load, the packed grid. Undefined: run the force layout.
 */
export function initialPositions(g: Graph): { positions: Positions; how: LayoutResult } | undefined {
  const saved = cached(layoutKey(g));
  if (saved && g.nodes.every((n) => saved[n.id] !== undefined)) return { positions: saved, how: 'cached' };
  if (g.nodes.length > FORCE_LAYOUT_MAX_NODES) return { positions: packedPositions(g), how: 'packed' };
  return undefined;
}

/**
 * `cy.fit` from the positions alone: fitting measures every element, which computes every style before the first
 * frame; known positions give the same viewport (nodes' extent, plus room for group boxes and labels) for nothing.
 */
export function fitPositions(cy: Core, positions: Positions, padding = 30): void {
  let [x1, y1, x2, y2] = extent(Object.values(positions));
  if (x1 > x2) return;
  // Node size and group padding around the extent, the group label above it, node labels below.
  const m = NODE_SIZE / 2 + GROUP_PADDING;
  [x1, x2, y1, y2] = [x1 - m, x2 + m, y1 - m - 20, y2 + m + LABEL_ROOM];
  const w = cy.width() - 2 * padding;
  const hgt = cy.height() - 2 * padding;
  if (w <= 0 || hgt <= 0) { cy.fit(undefined, padding); return; }
  const zoom = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), Math.min(w / (x2 - x1), hgt / (y2 - y1))));
  cy.viewport({ zoom, pan: { x: (cy.width() - zoom * (x1 + x2)) / 2, y: (cy.height() - zoom * (y1 + y2)) / 2 } });
}

export type LayoutResult = 'cached' | 'force' | 'packed';

/** The force-directed layout (fcose); its result is cached per node set in localStorage. */
export async function forceLayout(cy: Core, g: Graph): Promise<LayoutResult> {
  const l = cy.layout({
    name: 'fcose', quality: g.nodes.length > FORCE_LAYOUT_MAX_NODES ? 'draft' : 'default', randomize: true, animate: false,
    nodeDimensionsIncludeLabels: true, packComponents: true, nodeRepulsion: 6500, idealEdgeLength: 100, nestingFactor: 0.1,
    gravity: 0.4, gravityCompound: 1.5, gravityRangeCompound: 1.0, numIter: 2500, tile: true, fit: true, padding: 30,
  } as cytoscape.LayoutOptions);
  const done = l.promiseOn('layoutstop');
  l.run();
  await done;
  saveLayout(cy, layoutKey(g));
  return 'force';
}
