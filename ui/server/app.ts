import express, { type Express } from 'express';
import type { FlowStore } from '../../store/backend.js';
import { Analysis } from './analysis.js';
import { apiRouter } from './api.js';
import { errorHandler, HttpError } from './errors.js';
import { loadProposer, type ProposeFn } from './proposer.js';
import { isLoopback, loopbackHostGuard, securityHeaders, tokenAuth } from './security.js';
import { defaultWebRoot, webBundle } from './static.js';

export interface AppDeps {
  store: FlowStore;
  /** Required for every request when set (bearer header or the cookie a `?token=` link sets). */
  token?: string;
  /** The address the caller will bind; a loopback bind also refuses non-loopback Host headers (DNS rebinding). */
  bindHost?: string;
  /** Directory of the built web app (index.html, app.js, app.css). Default: dist/web. */
  webRoot?: string;
  version?: string;
  /** Override how the policy proposer is found (tests). */
  proposer?: () => Promise<ProposeFn | undefined>;
  now?: () => Date;
  log?: (line: string) => void;
}

/** The express app, inert until the caller listens (see listen.ts). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('query parser', 'simple');
  const log = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let proposer: Promise<ProposeFn | undefined> | undefined;
  const findProposer = deps.proposer ?? (() => (proposer ??= loadProposer()));

  app.use(securityHeaders);
  if (!deps.token && (deps.bindHost === undefined || isLoopback(deps.bindHost))) app.use(loopbackHostGuard());
  if (deps.token) app.use(tokenAuth(deps.token));
  app.use('/api/v1', apiRouter(new Analysis(deps.store), { version: deps.version ?? '0.0.0', proposer: findProposer, now: deps.now ?? (() => new Date()) }));
  app.use(webBundle(deps.webRoot ?? defaultWebRoot()));
  app.use((req, _res, next) => next(new HttpError(404, `not found: ${req.path.slice(0, 200)}`)));
  app.use(errorHandler(log));
  return app;
}
