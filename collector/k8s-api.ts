import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { CLUSTER_SCOPED_KINDS, type K8sObject } from '../model/index.js';

/**
 * Live collection from a cluster's API server, read-only: list every kind segmap uses, then (optionally) watch them
 * from the list's resourceVersion so that pod creations, deletions and IP changes are recorded as they happen.
 *
 * @kubernetes/client-node supplies what is hard to get right — kubeconfig files and contexts, in-cluster config,
 * exec / OIDC credential plugins, client certificates, CAs, proxies — through `KubeConfig.applyToHTTPSOptions`.
 * Requests themselves are plain GETs on that agent rather than the generated typed clients, for two reasons: the typed
 * clients re-serialise objects (timestamps become `Date`s, unknown fields are dropped), while segmap stores objects
 * exactly as `kubectl get -o json` shows them; and Secrets must be requested as `PartialObjectMetadataList` (an
 * `Accept` header those clients do not let a caller set), so that Secret data never crosses the wire.
 */

export interface ApiResource {
  kind: string;
  /** '' for the core group. */
  group: string;
  version: string;
  /** Plural resource name, as RBAC rules spell it. */
  resource: string;
  namespaced: boolean;
  /** Request metadata only (`PartialObjectMetadataList`): the object's body is never transferred. */
  metadataOnly?: boolean;
  fieldSelector?: string;
  /** When forbidden, skip with a warning instead of failing (see deploy/segmap-reader.yaml). */
  optional?: boolean;
}

/** Scope comes from the model's one list of cluster-scoped kinds, so `ingest -n` and the API client never disagree. */
const res = (kind: string, group: string, version: string, resource: string, extra: Partial<ApiResource> = {}): ApiResource =>
  ({ kind, group, version, resource, namespaced: !CLUSTER_SCOPED_KINDS.includes(kind), ...extra });

/**
 * Everything `collect k8s` reads: the kinds the core pipeline stores (`STORED_KINDS`), RBAC for the service-account
 * audit, and service-account token Secrets as metadata only. deploy/segmap-reader.yaml grants exactly this (a test
 * checks both ways).
 */
export const API_RESOURCES: readonly ApiResource[] = [
  res('Namespace', '', 'v1', 'namespaces'),
  res('Node', '', 'v1', 'nodes'),
  res('Pod', '', 'v1', 'pods'),
  res('Service', '', 'v1', 'services'),
  res('Endpoints', '', 'v1', 'endpoints'),
  res('ServiceAccount', '', 'v1', 'serviceaccounts'),
  res('ReplicationController', '', 'v1', 'replicationcontrollers'),
  res('Deployment', 'apps', 'v1', 'deployments'),
  res('ReplicaSet', 'apps', 'v1', 'replicasets'),
  res('StatefulSet', 'apps', 'v1', 'statefulsets'),
  res('DaemonSet', 'apps', 'v1', 'daemonsets'),
  res('Job', 'batch', 'v1', 'jobs'),
  res('CronJob', 'batch', 'v1', 'cronjobs'),
  res('EndpointSlice', 'discovery.k8s.io', 'v1', 'endpointslices'),
  res('NetworkPolicy', 'networking.k8s.io', 'v1', 'networkpolicies'),
  res('AdminNetworkPolicy', 'policy.networking.k8s.io', 'v1alpha1', 'adminnetworkpolicies'),
  res('BaselineAdminNetworkPolicy', 'policy.networking.k8s.io', 'v1alpha1', 'baselineadminnetworkpolicies'),
  res('Role', 'rbac.authorization.k8s.io', 'v1', 'roles'),
  res('ClusterRole', 'rbac.authorization.k8s.io', 'v1', 'clusterroles'),
  res('RoleBinding', 'rbac.authorization.k8s.io', 'v1', 'rolebindings'),
  res('ClusterRoleBinding', 'rbac.authorization.k8s.io', 'v1', 'clusterrolebindings'),
  res('Secret', '', 'v1', 'secrets', { metadataOnly: true, fieldSelector: 'type=kubernetes.io/service-account-token', optional: true }),
];

export const METADATA_ONLY_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_ONLY_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** `pods`, `deployments.apps`: how kubectl and RBAC error messages name a resource. */
export const resourceName = (r: ApiResource) => (r.group ? `${r.resource}.${r.group}` : r.resource);

export function resourcePath(r: ApiResource): string {
  return r.group ? `/apis/${r.group}/${r.version}/${r.resource}` : `/api/${r.version}/${r.resource}`;
}

/** A non-2xx answer of the API server, with its `Status` reason. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly resource?: ApiResource, readonly verb?: 'list' | 'watch') {
    super(message);
  }
}

/** Authentication or RBAC refused what segmap must read: the collection cannot go on. */
export class AccessError extends Error {}

export interface K8sConnectOptions {
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
}

export interface K8sConnection {
  /** `context (https://server)` for messages and the input's name. */
  readonly name: string;
  readonly server: string;
  get(path: string, query: Record<string, string | undefined>, accept: string, signal?: AbortSignal): Promise<http.IncomingMessage>;
}

export function connect(opts: K8sConnectOptions = {}): K8sConnection {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new Error(`cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}`, { cause: e });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw new Error(`kubeconfig has no context "${opts.context}" (has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig names no current cluster: pass --context or --kubeconfig');
  const server = cluster.server.replace(/\/+$/, '');
  return {
    name: `${kc.getCurrentContext() || cluster.name} (${server})`,
    server,
    async get(path, query, accept, signal) {
      const url = new URL(server + path);
      for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
      const reqOpts: https.RequestOptions = { method: 'GET', headers: { Accept: accept } };
      // Credentials, CA, client certificate and the agent (proxy, TLS) all come from the kubeconfig.
      await kc.applyToHTTPSOptions(reqOpts);
      const mod = url.protocol === 'http:' ? http : https;
      return new Promise((resolve, reject) => {
        const req = mod.request(url, { ...reqOpts, signal }, resolve);
        req.on('error', reject);
        req.end();
      });
    },
  };
}

export interface K8sWatchEvent {
  /** When it arrived (epoch s). */
  at: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
}

export interface CollectOptions extends K8sConnectOptions {
  /** Keep watching after the listing until `signal` aborts. */
  watch?: boolean;
  signal?: AbortSignal;
  /** Epoch seconds; injected so tests control the time of listings and events. */
  now?: () => number;
  /** `limit` per list request (default 500). */
  pageSize?: number;
  /** Reconnect backoff after a dropped watch (default 1 s doubling to 30 s). */
  backoffMs?: { initial: number; max: number };
  resources?: readonly ApiResource[];
  /** A complete listing of `kinds` (the first one, and a relist after `410 Gone`). */
  onListing(takenAt: number, kinds: string[], objects: K8sObject[]): void;
  /** Watch events in arrival order, in batches (at most a second old, and all of them before `collect` returns). */
  onEvents(events: K8sWatchEvent[]): void;
  onMessage?(level: 'info' | 'warn', text: string): void;
  /** After each watch event (bookmarks included) has been taken in. */
  onWatchEvent?(resource: ApiResource, type: string, resourceVersion: string | undefined): void;
  /** How often to report watch progress (default 10 s). */
  progressMs?: number;
  /** Overrides the connection (tests). */
  connection?: K8sConnection;
}

export interface CollectSummary {
  server: string;
  listed: Record<string, number>;
  skipped: Record<string, string>;
  events: Record<string, number>;
  relists: number;
  reconnects: number;
}

const FLUSH_MS = 1000;
const FLUSH_EVENTS = 500;
const LIST_ATTEMPTS = 3;

/**
 * List every resource (one listing, one time), then with `watch` keep a watch per resource running until the signal
 * aborts: bookmarks advance the resume point, `410 Gone` relists that resource and watches on from the new list,
 * a dropped connection reconnects with backoff from the last resourceVersion seen.
 */
export async function collect(opts: CollectOptions): Promise<CollectSummary> {
  const conn = opts.connection ?? connect(opts);
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const say = (level: 'info' | 'warn', text: string) => opts.onMessage?.(level, text);
  const summary: CollectSummary = { server: conn.name, listed: {}, skipped: {}, events: {}, relists: 0, reconnects: 0 };
  const resources = opts.resources ?? API_RESOURCES;
  const pageSize = opts.pageSize ?? 500;

  const takenAt = now();
  const objects: K8sObject[] = [];
  const kinds: string[] = [];
  const versions = new Map<ApiResource, string>();
  const refused: string[] = [];
  for (const r of resources) {
    try {
      const l = await listAll(conn, r, pageSize, opts.signal, say);
      objects.push(...l.items);
      kinds.push(r.kind);
      versions.set(r, l.resourceVersion);
      summary.listed[r.kind] = l.items.length;
      say('info', `listed ${resourceName(r)}: ${l.items.length} objects${l.pages > 1 ? ` (${l.pages} pages)` : ''}`);
    } catch (e) {
      if (opts.signal?.aborted) break;
      const err = asApiError(e, r, 'list', conn);
      if (err.status === 404) {
        summary.skipped[r.kind] = 'not served by this cluster';
        say('info', `skipped ${resourceName(r)}: not served by this cluster (${r.group}/${r.version})`);
      } else if (err.status === 403 && r.optional) {
        summary.skipped[r.kind] = 'forbidden';
        say('warn', `${permissionMessage(r, 'list')}; skipping ${resourceName(r)} (optional: service-account token Secrets, metadata only)`);
      } else if (err.status === 403) {
        refused.push(permissionMessage(r, 'list'));
      } else throw accessOr(err, conn);
    }
  }
  if (refused.length > 0) throw new AccessError(refused.join('\n'));
  opts.onListing(takenAt, kinds, objects);
  if (!opts.watch || opts.signal?.aborted) return summary;

  // Watching: every resource in its own loop; events are buffered and handed over at least once a second.
  let buffer: K8sWatchEvent[] = [];
  const flush = () => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    opts.onEvents(batch);
  };
  const stop = new AbortController();
  let fatal: Error | undefined;
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const flushTimer = setInterval(flush, FLUSH_MS);
  let total = 0;
  let lastReport = { at: performance.now(), total: 0 };
  const progress = setInterval(() => {
    const t = performance.now();
    const rate = (total - lastReport.total) / Math.max((t - lastReport.at) / 1000, 1e-3);
    lastReport = { at: t, total };
    say('info', `watching ${versions.size} resources: ${total} events (${rate.toFixed(1)}/s); ${summary.relists} relists, ${summary.reconnects} reconnects`);
  }, opts.progressMs ?? 10_000);
  const backoff = opts.backoffMs ?? { initial: 1000, max: 30_000 };

  const loop = async (r: ApiResource, listVersion: string) => {
    let rv = listVersion;
    let failures = 0;
    while (!stop.signal.aborted) {
      const opened = performance.now();
      let outcome: 'closed' | 'gone' | 'dropped';
      let received = 0;
      try {
        outcome = await watchOnce(conn, r, rv, stop.signal, (type, obj) => {
          const version = obj?.metadata?.resourceVersion as string | undefined;
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
            buffer.push({ at: now(), type, object: normalize(obj, r) });
            summary.events[type] = (summary.events[type] ?? 0) + 1;
            total++;
            received++;
            if (buffer.length >= FLUSH_EVENTS) flush();
          }
          if (version) rv = version; // a bookmark moves the resume point without an object change
          opts.onWatchEvent?.(r, type, version);
        });
      } catch (e) {
        if (stop.signal.aborted) break;
        const err = asApiError(e, r, 'watch', conn);
        if (err.status === 410) outcome = 'gone';
        else if (err.status === 401 || err.status === 403) {
          fatal = accessOr(err, conn);
          stop.abort();
          break;
        } else {
          outcome = 'dropped';
          say('warn', `watch on ${resourceName(r)} failed: ${err.message}`);
        }
      }
      if (stop.signal.aborted) break;
      if (outcome === 'gone') {
        // The resume point is older than the server keeps: list again (a fresh, complete view), watch on from there.
        summary.relists++;
        say('info', `watch on ${resourceName(r)} expired (410 Gone): listing again`);
        try {
          const at = now();
          const l = await listAll(conn, r, pageSize, stop.signal, say);
          flush(); // the events before the relist are older than it
          opts.onListing(at, [r.kind], l.items);
          rv = l.resourceVersion;
          failures = 0;
        } catch (e) {
          if (stop.signal.aborted) break;
          const err = asApiError(e, r, 'list', conn);
          if (err.status === 401 || err.status === 403) {
            fatal = accessOr(err, conn);
            stop.abort();
            break;
          }
          failures++;
          say('warn', `relisting ${resourceName(r)} failed: ${err.message}`);
          await sleep(Math.min(backoff.max, backoff.initial * 2 ** (failures - 1)), stop.signal);
        }
        continue;
      }
      // A server closes watches now and then (its timeout): reconnect at once. A connection that broke, or closed
      // without delivering anything right after opening, waits longer each time.
      const healthy = outcome === 'closed' && (received > 0 || performance.now() - opened > 5000);
      failures = healthy ? 0 : failures + 1;
      summary.reconnects++;
      if (failures > 0) {
        const wait = Math.min(backoff.max, backoff.initial * 2 ** (failures - 1));
        say('info', `watch on ${resourceName(r)} ${outcome === 'dropped' ? 'dropped' : 'closed'}: reconnecting in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, stop.signal);
      }
    }
  };

  try {
    await Promise.all([...versions].map(([r, v]) => loop(r, v)));
  } finally {
    clearInterval(flushTimer);
    clearInterval(progress);
    opts.signal?.removeEventListener('abort', onAbort);
    flush();
  }
  if (fatal) throw fatal;
  return summary;
}

/** The message for a refused request: what to grant, and where the minimal role is. */
export function permissionMessage(r: ApiResource, verb: 'list' | 'watch'): string {
  const scope = r.namespaced ? ' cluster-wide' : '';
  return `the credentials may not ${verb} ${resourceName(r)}${scope}: grant get/list/watch on ${resourceName(r)} (see deploy/segmap-reader.yaml)`;
}

function accessOr(err: ApiError, conn: K8sConnection): Error {
  if (err.status === 401) {
    return new AccessError(`authentication failed: ${conn.name} rejected the credentials (401 Unauthorized); check the kubeconfig's user for this context`);
  }
  if (err.status === 403 && err.resource && err.verb) return new AccessError(permissionMessage(err.resource, err.verb));
  return err;
}

function asApiError(e: unknown, r: ApiResource, verb: 'list' | 'watch', conn: K8sConnection): ApiError {
  if (e instanceof ApiError) return e;
  const msg = (e as Error)?.message ?? String(e);
  const code = (e as { code?: string })?.code;
  return new ApiError(0, code ?? 'NetworkError', `cannot reach ${conn.server} (${verb} ${resourceName(r)}): ${msg}`, r, verb);
}

interface ListResult { items: K8sObject[]; resourceVersion: string; pages: number }

/** All pages of one resource (`limit` / `continue`); a `continue` token that expired (410) starts over. */
async function listAll(conn: K8sConnection, r: ApiResource, limit: number, signal: AbortSignal | undefined, say: (l: 'info' | 'warn', t: string) => void): Promise<ListResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const items: K8sObject[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      let pages = 0;
      do {
        const body = await readJson(await conn.get(resourcePath(r), {
          limit: String(limit), continue: cont, fieldSelector: r.fieldSelector,
        }, r.metadataOnly ? METADATA_ONLY_ACCEPT : 'application/json', signal), r, 'list');
        pages++;
        for (const o of (body.items ?? []) as K8sObject[]) items.push(normalize(o, r));
        cont = body.metadata?.continue || undefined;
        if (pages === 1) resourceVersion = String(body.metadata?.resourceVersion ?? '');
      } while (cont);
      return { items, resourceVersion, pages };
    } catch (e) {
      if (signal?.aborted) throw e;
      const gone = e instanceof ApiError && e.status === 410;
      const transient = !(e instanceof ApiError) || e.status >= 500 || e.status === 429;
      if ((!gone && !transient) || attempt >= LIST_ATTEMPTS) throw e;
      say('warn', `listing ${resourceName(r)} ${gone ? 'expired mid-way (410 Gone)' : `failed (${(e as Error).message})`}: starting over`);
      await sleep(gone ? 0 : 500 * attempt, signal);
    }
  }
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(res: http.IncomingMessage, r: ApiResource, verb: 'list' | 'watch'): Promise<Record<string, any>> {
  const text = await readBody(res);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw statusError(status, text, r, verb);
  try {
    return JSON.parse(text) as Record<string, any>;
  } catch (e) {
    throw new Error(`${verb} ${resourceName(r)}: the API server answered with something that is not JSON`, { cause: e });
  }
}

function statusError(status: number, text: string, r: ApiResource, verb: 'list' | 'watch'): ApiError {
  let st: Record<string, any> = {};
  try { st = JSON.parse(text) as Record<string, any>; } catch { /* not a Status object */ }
  return new ApiError(Number(st.code ?? status) || status, String(st.reason ?? http.STATUS_CODES[status] ?? 'Error'),
    `${verb} ${resourceName(r)}: ${status} ${st.message ?? http.STATUS_CODES[status] ?? ''}`.trim(), r, verb);
}

/**
 * One watch connection. Resolves `closed` when the server ends it, `gone` on a 410 (as HTTP status or ERROR event),
 * `dropped` when the connection breaks; other refusals throw an ApiError.
 */
async function watchOnce(
  conn: K8sConnection, r: ApiResource, resourceVersion: string, signal: AbortSignal,
  onEvent: (type: string, obj: Record<string, any>) => void,
): Promise<'closed' | 'gone' | 'dropped'> {
  const res = await conn.get(resourcePath(r), {
    watch: 'true', resourceVersion, allowWatchBookmarks: 'true', fieldSelector: r.fieldSelector,
  }, r.metadataOnly ? METADATA_ONLY_WATCH_ACCEPT : 'application/json', signal);
  if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, await readBody(res), r, 'watch');
  return new Promise((resolve) => {
    let pending = '';
    let settled = false;
    const done = (o: 'closed' | 'gone' | 'dropped') => {
      if (settled) return;
      settled = true;
      res.destroy();
      resolve(o);
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while (!settled && (nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        let ev: { type?: string; object?: Record<string, any> };
        try { ev = JSON.parse(line); } catch { continue; } // a torn line: the resume point stays where it was
        if (ev.type === 'ERROR') {
          done(Number(ev.object?.code) === 410 ? 'gone' : 'dropped');
          return;
        }
        if (ev.type && ev.object) onEvent(ev.type, ev.object);
      }
    });
    res.on('end', () => done('closed'));
    res.on('aborted', () => done('dropped'));
    res.on('error', () => done('dropped'));
    res.on('close', () => done(res.complete ? 'closed' : 'dropped'));
  });
}

/**
 * What is stored of an object: list items carry no kind / apiVersion; managedFields are dropped (kubectl hides them
 * too). A Secret keeps its metadata only, without the `last-applied-configuration` annotation, which holds the whole
 * applied manifest — data included — when the Secret was created with `kubectl apply`.
 */
export function normalize(o: Record<string, any>, r: ApiResource): K8sObject {
  const metadata = { ...(o.metadata ?? {}) } as Record<string, any>;
  delete metadata.managedFields;
  if (r.kind === 'Secret') {
    if (metadata.annotations) {
      const { ['kubectl.kubernetes.io/last-applied-configuration']: _dropped, ...rest } = metadata.annotations as Record<string, string>;
      metadata.annotations = rest;
    }
    const type = /^type=(.+)$/.exec(r.fieldSelector ?? '')?.[1];
    return { apiVersion: 'v1', kind: 'Secret', metadata: metadata as K8sObject['metadata'], ...(type ? { type } : {}) };
  }
  return { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, ...o, metadata: metadata as K8sObject['metadata'] };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); resolve(); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
