import { LineCounter, parseAllDocuments } from 'yaml';
import type { K8sObject } from '../model/index.js';
import type { ObjectSource, ReadContext } from './source.js';

/**
 * `kubectl get … -o json` (List or single object), `-o yaml`, multi-document YAML manifests.
 * Every object of any kind is returned (callers pick the kinds they use); a Secret is cut down to its metadata and
 * type before anything else sees it, because segmap never reads Secret data.
 */
export const k8sDump: ObjectSource = {
  kind: 'objects',
  format: 'k8s-dump',
  detect(head, path) {
    const t = head.trimStart();
    if (t.startsWith('{') || t.startsWith('[')) return /"apiVersion"\s*:/.test(head) && /"kind"\s*:/.test(head) && !/^\{\s*"flow"\s*:/.test(t);
    // YAML: a top-level (or list-item) `kind:` with an `apiVersion:` nearby; a .yaml name alone is not enough.
    const yamlish = /\.(ya?ml)(\.gz)?$/i.test(path) || /^(---|apiVersion:|kind:)/m.test(t);
    return yamlish && /^\s*(- )?kind:\s*\S/m.test(head) && /^\s*(- )?apiVersion:\s*\S/m.test(head);
  },
  read(text, ctx) {
    const out: K8sObject[] = [];
    const t = text.trimStart();
    if (t.startsWith('{') || t.startsWith('[')) {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        // JSON is valid YAML only when well formed; fall through to the YAML reader for its line-located error.
        return readYaml(text, ctx, out);
      }
      collect(doc, ctx, out, undefined);
      return out;
    }
    return readYaml(text, ctx, out);
  },
};

function readYaml(text: string, ctx: ReadContext, out: K8sObject[]): K8sObject[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const startLine = d.range ? lc.linePos(d.range[0]).line : undefined;
    if (d.errors.length > 0) {
      const err = d.errors[0];
      const line = err.linePos?.[0]?.line ?? startLine;
      ctx.issue({ line, reason: 'yaml-syntax', detail: err.message.split('\n')[0] });
      continue;
    }
    let js: unknown;
    try {
      // An alias expanding to more than 100 nodes is refused: a billion-laughs document would otherwise fill memory.
      js = d.toJS({ maxAliasCount: 100 });
    } catch (e) {
      const msg = (e as Error).message;
      const alias = /alias/i.test(msg);
      ctx.issue({ line: startLine, reason: alias ? 'yaml-alias-limit' : 'yaml-syntax', detail: alias ? `document refused: ${msg}` : msg });
      continue;
    }
    if (js === null || js === undefined) continue; // empty document between `---`
    collect(js, ctx, out, startLine);
  }
  return out;
}

/** Lists inside lists deeper than this are no Kubernetes shape; refusing them keeps the recursion bounded. */
const MAX_LIST_DEPTH = 8;

function collect(doc: unknown, ctx: ReadContext, out: K8sObject[], line: number | undefined, depth = 0): void {
  if (depth > MAX_LIST_DEPTH) {
    ctx.issue({ line, reason: 'not-a-k8s-object', detail: `lists nested deeper than ${MAX_LIST_DEPTH}` });
    return;
  }
  if (Array.isArray(doc)) {
    for (const d of doc) collect(d, ctx, out, line, depth + 1);
    return;
  }
  if (!doc || typeof doc !== 'object') {
    ctx.issue({ line, reason: 'not-a-k8s-object', detail: 'document is not a mapping' });
    return;
  }
  const o = doc as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind : undefined;
  if (kind && kind.endsWith('List') && Array.isArray(o.items)) {
    // A typed list (`PodList`) carries the item kind only in its own name.
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -4);
    for (const item of o.items) {
      if (itemKind && item && typeof item === 'object' && !(item as Record<string, unknown>).kind) (item as Record<string, unknown>).kind = itemKind;
      collect(item, ctx, out, line, depth + 1);
    }
    return;
  }
  const meta = o.metadata as Record<string, unknown> | undefined;
  if (!kind || !meta || typeof meta !== 'object' || typeof meta.name !== 'string') {
    ctx.issue({ line, reason: 'not-a-k8s-object', detail: 'missing kind or metadata.name' });
    return;
  }
  ctx.counts.read++;
  if (kind === 'Secret') {
    out.push({ apiVersion: String(o.apiVersion ?? 'v1'), kind, metadata: meta as unknown as K8sObject['metadata'], type: o.type });
    return;
  }
  out.push(o as unknown as K8sObject);
}
