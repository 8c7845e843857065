import { once } from 'node:events';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { API_RESOURCES, resourceName, resourcePath } from '../../collector/k8s-api.js';
import type { ListPage, Recording, Step } from '../../fixtures/k8s-api/generate.js';

export interface RecordedRequest { path: string; query: Record<string, string>; accept: string; verb: 'list' | 'watch' }

const TOKEN = 'segmap-test-token';
const byPath = new Map(API_RESOURCES.map((r) => [resourcePath(r), r]));

export function readRecording(dir: string): Recording {
  const lists: Recording['lists'] = {};
  for (const f of readdirSync(join(dir, 'lists'))) lists[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, 'lists', f), 'utf8'));
  return { lists, timeline: JSON.parse(readFileSync(join(dir, 'timeline.json'), 'utf8')) as Step[] };
}

interface Conn { res: http.ServerResponse; gen: number; open: boolean; resourceVersion: string }

/**
 * A stand-in API server on 127.0.0.1 that answers from a recording: paged lists by `continue` token (each list
 * request without a token is the next recorded occasion), and watch streams driven by the recording's timeline,
 * one step at a time. The clock is the time of the step being played; a step waits until the client has taken in the
 * previous event (`ack`), so the time a client reads for an event is that event's.
 */
export class FakeApiServer {
  clock: number;
  readonly requests: RecordedRequest[] = [];
  readonly problems: string[] = [];
  /** `list pods`-style keys answered 403. */
  readonly forbidden = new Set<string>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly listIdx = new Map<string, number>();
  private readonly listRv = new Map<string, string>();
  private readonly conns = new Map<string, Conn>();
  private readonly rejectNext = new Map<string, { status: number; resumeFrom: string }>();
  private readonly acked = new Set<string>();
  private gen = 0;
  private wake: () => void = () => {};
  url = '';

  constructor(readonly rec: Recording, startClock: number) {
    this.clock = startClock;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) c.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A kubeconfig for this server (plain HTTP is allowed only with insecure-skip-tls-verify). */
  writeKubeconfig(path: string): string {
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters:', '- name: fake', '  cluster:', `    server: ${this.url}`, '    insecure-skip-tls-verify: true',
      'contexts:', '- name: fake', '  context: {cluster: fake, user: reader}',
      'users:', '- name: reader', `  user: {token: ${TOKEN}}`, '',
    ].join('\n'));
    return path;
  }

  /** The client took in an event (its onWatchEvent). */
  ack = (_r: unknown, _type: string, resourceVersion: string | undefined): void => {
    if (resourceVersion) this.acked.add(resourceVersion);
    this.wake();
  };

  /** Play the timeline; resolves when every step was delivered (and the last relist's watch is open). */
  async play(timeoutMs = 15_000): Promise<void> {
    for (const step of this.rec.timeline) {
      const conn = await this.until(() => this.openConn(step.path), timeoutMs, `an open watch on ${step.path}`);
      this.clock = step.at;
      if ('event' in step) {
        conn.res.write(JSON.stringify(step.event) + '\n');
        const rv = String((step.event.object.metadata as Record<string, unknown>).resourceVersion);
        await this.until(() => this.acked.has(rv) || undefined, timeoutMs, `the client to take in ${step.event.type} ${rv}`);
      } else if ('drop' in step) {
        this.rejectNext.set(step.path, { status: step.drop.reconnectStatus, resumeFrom: step.drop.resumeFrom });
        conn.res.write('{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"na');
        conn.res.socket?.destroy();
        conn.open = false;
        await this.until(() => { const c = this.openConn(step.path); return c && c.gen > conn.gen ? c : undefined; }, timeoutMs, `a new watch on ${step.path}`);
      } else {
        conn.res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410,
          message: `too old resource version: ${conn.resourceVersion}` } }) + '\n');
        conn.open = false;
        await this.until(() => { const c = this.openConn(step.path); return c && c.gen > conn.gen ? c : undefined; }, timeoutMs, `a new watch on ${step.path}`);
      }
    }
  }

  private openConn(path: string): Conn | undefined {
    const c = this.conns.get(path);
    return c && c.open ? c : undefined;
  }

  private async until<T>(f: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = f();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`fake API server: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 20);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const verb = query.watch === 'true' ? 'watch' : 'list';
    const accept = String(req.headers.accept ?? '');
    this.requests.push({ path: url.pathname, query, accept, verb });
    if (req.method !== 'GET') return this.status(res, 405, 'MethodNotAllowed', `${req.method} is not what a reader does`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    const r = byPath.get(url.pathname);
    const name = r ? resourceName(r) : url.pathname;
    if (this.forbidden.has(`${verb} ${name}`)) {
      return this.status(res, 403, 'Forbidden', `${name} is forbidden: User "system:serviceaccount:segmap:segmap" cannot ${verb} resource "${r?.resource}" in API group "${r?.group}" at the cluster scope`);
    }
    const occasions = this.rec.lists[name];
    if (!r || !occasions) return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (verb === 'watch') return this.watch(url.pathname, query, res);

    if (!query.limit) this.problems.push(`list ${name} without limit`);
    let pages: ListPage[];
    let page: ListPage | undefined;
    if (!query.continue) {
      const i = this.listIdx.get(name) ?? 0;
      this.listIdx.set(name, i + 1);
      pages = occasions[Math.min(i, occasions.length - 1)];
      page = pages[0];
      this.listRv.set(url.pathname, page.metadata.resourceVersion);
    } else {
      pages = occasions[Math.min((this.listIdx.get(name) ?? 1) - 1, occasions.length - 1)];
      const at = pages.findIndex((p) => p.metadata.continue === query.continue);
      page = pages[at + 1];
      if (at < 0 || !page) return this.status(res, 410, 'Expired', 'The provided continue parameter is too old');
    }
    let items = page.items;
    const typeSel = /^type=(.+)$/.exec(query.fieldSelector ?? '')?.[1];
    if (typeSel) items = items.filter((o) => o.type === typeSel);
    let body: Record<string, unknown> = { ...page, items };
    if (accept.includes('as=PartialObjectMetadataList')) {
      body = { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: page.metadata,
        items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })) };
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private watch(path: string, query: Record<string, string>, res: http.ServerResponse): void {
    if (query.allowWatchBookmarks !== 'true') this.problems.push(`watch ${path} without allowWatchBookmarks`);
    const reject = this.rejectNext.get(path);
    if (reject) {
      this.rejectNext.delete(path);
      if (query.resourceVersion !== reject.resumeFrom) this.problems.push(`watch ${path} resumed from ${query.resourceVersion}, not ${reject.resumeFrom}`);
      return this.status(res, reject.status, 'Expired', `too old resource version: ${query.resourceVersion}`);
    }
    if (query.resourceVersion !== this.listRv.get(path)) {
      this.problems.push(`watch ${path} from ${query.resourceVersion}, but the last list was at ${this.listRv.get(path)}`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const conn: Conn = { res, gen: ++this.gen, open: true, resourceVersion: query.resourceVersion };
    this.conns.set(path, conn);
    res.on('close', () => { conn.open = false; });
    this.wake();
  }
}
