import express, { Router, type Request } from 'express';

import type { GraphFilters, ServiceAccountEntry, SimulateRequest, WorkloadPolicies, WorkloadRisk } from '../web/api-types.js';
import { Analysis, filterGraph, parseWindow } from './analysis.js';
import { apiNotFound, HttpError } from './errors.js';
import type { Proposal, ProposeFn } from './proposer.js';
import { tarArchive } from './tar.js';

export const SIMULATE_BODY_LIMIT = '2mb';

export interface ApiOptions {
  version: string;
  /** Resolves to the policy proposer, or undefined while ui/policies.ts does not exist. */
  proposer: () => Promise<ProposeFn | undefined>;
  now: () => Date;
}

function one(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${name}: expected one value`);
  return v;
}

function portParam(v: string | undefined, name = 'port'): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new HttpError(400, `${name}: expected a port number, got "${v.slice(0, 20)}"`);
  return Number(v);
}

function filters(req: Request): GraphFilters {
  const verdict = one(req, 'verdict');
  if (verdict !== undefined && verdict !== 'allowed' && verdict !== 'denied') throw new HttpError(400, 'verdict: expected allowed or denied');
  return { namespace: one(req, 'namespace'), kind: one(req, 'kind'), port: portParam(one(req, 'port')), verdict };
}

const windowOf = (req: Request) => parseWindow(req.query.since, req.query.until);

/** GET-only, read-only JSON API under /api/v1, plus the simulate POST (which computes but stores nothing). */
export function apiRouter(analysis: Analysis, opts: ApiOptions): Router {
  const r = Router();

  const proposal = async (): Promise<Proposal> => {
    const propose = await opts.proposer();
    if (!propose) {
      throw new HttpError(501, 'policy generation is not part of this build yet (ui/policies.ts is missing); the graph, findings and simulation work without it');
    }
    return analysis.cached('proposal', () => propose(analysis.store, {}));
  };

  r.get('/meta', async (_req, res) => {
    res.json(await analysis.meta(opts.version, (await opts.proposer()) !== undefined));
  });

  r.get('/graph', async (req, res) => {
    res.json(filterGraph(await analysis.graph(windowOf(req)), filters(req)));
  });

  r.get('/workloads/:id', async (req, res) => {
    res.json(await analysis.workload(String(req.params.id), windowOf(req)));
  });

  r.get('/workloads/:id/policies', async (req, res) => {
    const id = String(req.params.id);
    const manifests = (await proposal()).manifests.filter((m) => m.workload === id);
    const body: WorkloadPolicies = { workload: id, manifests };
    res.json(body);
  });

  r.get('/edge', async (req, res) => {
    const src = one(req, 'src');
    const dst = one(req, 'dst');
    const protocol = one(req, 'protocol');
    const port = portParam(one(req, 'port'));
    if (!src || !dst || !protocol || port === undefined) throw new HttpError(400, 'edge: src, dst, protocol and port are required');
    res.json(await analysis.edge({ src, dst, protocol: protocol.toUpperCase(), port, verdict: one(req, 'verdict') }, windowOf(req)));
  });

  r.get('/findings', async (req, res) => {
    res.json((await analysis.findings(windowOf(req))).findings);
  });

  // Where to start: workloads by risk score, the ranking `segmap findings --with-risk` prints.
  r.get('/risk', async (req, res) => {
    const body: WorkloadRisk[] = await analysis.risk(windowOf(req), Math.floor(opts.now().getTime() / 1000));
    res.json(body);
  });

  // The entries `segmap sa-audit --format json` prints: one per service account, from the same analysis.
  r.get('/service-accounts', async (req, res) => {
    const body: ServiceAccountEntry[] = (await analysis.serviceAccounts(windowOf(req), Math.floor(opts.now().getTime() / 1000))).accounts;
    res.json(body);
  });

  // JSON only: a cross-site page cannot send application/json without a CORS preflight, which this server never grants.
  r.post('/simulate', express.json({ limit: SIMULATE_BODY_LIMIT, type: 'application/json' }), async (req, res) => {
    if (!req.is('application/json')) throw new HttpError(415, 'send {"yaml": "…"} as application/json');
    const body = req.body as Partial<SimulateRequest> | undefined;
    if (!body || typeof body.yaml !== 'string' || body.yaml.trim() === '') throw new HttpError(400, 'body: {"yaml": "<policy manifests>"} is required');
    if (body.namespace !== undefined && (typeof body.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(body.namespace))) {
      throw new HttpError(400, 'namespace: expected a Kubernetes namespace name');
    }
    res.json(await analysis.simulate({
      yaml: body.yaml, namespace: body.namespace, ignoreExisting: body.ignoreExisting === true,
      since: typeof body.since === 'string' ? body.since : undefined, until: typeof body.until === 'string' ? body.until : undefined,
    }));
  });

  r.get('/export/graph.json', async (req, res) => {
    res.attachment('segmap-graph.json').type('application/json').send(JSON.stringify(filterGraph(await analysis.graph(windowOf(req)), filters(req)), null, 2) + '\n');
  });

  r.get('/export/manifests.tar', async (_req, res) => {
    const p = await proposal();
    const now = opts.now();
    // The same files `segmap policies --out DIR` writes: the manifests, plus its README and rollout plan when present.
    const docs = [['README.md', p.readme], ['ROLLOUT.md', p.rollout]].filter((d): d is [string, string] => typeof d[1] === 'string');
    const tar = tarArchive([
      ...docs.map(([path, content]) => ({ path: `segmap-policies/${path}`, content })),
      ...p.manifests.map((m) => ({ path: `segmap-policies/${m.path}`, content: m.yaml })),
    ], now);
    res.attachment(`segmap-policies-${now.toISOString().slice(0, 10)}.tar`).type('application/x-tar').send(tar);
  });

  r.use(apiNotFound);
  return r;
}

