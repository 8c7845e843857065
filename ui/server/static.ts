import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
};

/** dist/web, found from the compiled server (dist/ui/server) or from the sources (ui/server, under vitest). */
export function defaultWebRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../web', '../../dist/web']) {
    const dir = join(here, rel);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

interface Asset { body: Buffer; type: string }

/**
 * The web bundle, read into memory once: a request can only ever name one of these few files, so no path from the
 * network is joined to the filesystem at all.
 */
export function webBundle(root: string | undefined): RequestHandler {
  const assets = new Map<string, Asset>();
  if (root && existsSync(root)) {
    for (const name of readdirSync(root)) {
      const p = join(root, name);
      const type = TYPES[extname(name)];
      if (type && statSync(p).isFile()) assets.set(`/${name}`, { body: readFileSync(p), type });
    }
  }
  const index = assets.get('/index.html');
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const asset = req.path === '/' ? index : assets.get(req.path);
    if (!asset) {
      if (req.path === '/' && !index) {
        res.status(503).type('text/plain').send('segmap: the web bundle is not built (dist/web/index.html is missing): run `npm run build`.\n');
        return;
      }
      return next();
    }
    // Unhashed file names: let the browser revalidate, so a rebuilt bundle is picked up.
    res.status(200).set({ 'Content-Type': asset.type, 'Cache-Control': 'no-cache' }).send(asset.body);
  };
}
