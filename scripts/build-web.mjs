// Bundles the web UI (ui/web) into dist/web (or --out DIR): index.html (no inline script), app.js, app.css.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  // The entry registers the fcose layout before the app starts: ui/web itself imports only cytoscape (DESIGN.md).
  stdin: {
    contents: [
      "import cytoscape from 'cytoscape';",
      "import fcose from 'cytoscape-fcose';",
      "import { start } from './ui/web/main.ts';",
      'cytoscape.use(fcose);',
      'start();',
    ].join('\n'),
    resolveDir: root,
    sourcefile: 'web-entry.ts',
    loader: 'ts',
  },
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(root, 'ui', 'web', f), join(out, f));
