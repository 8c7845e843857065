import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/** DESIGN.md's import rules, enforced: each layer may import only what its row allows. */
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

interface Rule { layer: string; mayImportLayers: string[]; mayImportPackages: (file: string, pkg: string) => boolean }

const nodeBuiltin = (pkg: string) => pkg.startsWith('node:');
const RULES: Rule[] = [
  { layer: 'model', mayImportLayers: ['model'], mayImportPackages: () => false },
  {
    layer: 'collector', mayImportLayers: ['model', 'collector'],
    mayImportPackages: (file, pkg) => nodeBuiltin(pkg) || ['yaml', 'pcap-parser', 'ipaddr.js'].includes(pkg)
      || (pkg === '@kubernetes/client-node' && file.endsWith(`collector${sep}k8s-api.ts`)),
  },
  {
    // Each backend's client stays inside its own file: nothing else in store/ (nor above it) knows which one is in use.
    layer: 'store', mayImportLayers: ['model', 'store'],
    mayImportPackages: (file, pkg) => nodeBuiltin(pkg)
      || (pkg === 'better-sqlite3' && file.endsWith(`store${sep}sqlite.ts`))
      || (pkg === '@clickhouse/client' && file.endsWith(`store${sep}clickhouse.ts`)),
  },
  { layer: 'analyzer/emit', mayImportLayers: ['model', 'analyzer/emit'], mayImportPackages: (_f, pkg) => pkg === 'yaml' },
  { layer: 'analyzer', mayImportLayers: ['model', 'analyzer'], mayImportPackages: (_f, pkg) => pkg === 'ipaddr.js' },
  { layer: 'ui/web', mayImportLayers: ['model', 'ui/web'], mayImportPackages: (_f, pkg) => pkg === 'cytoscape' },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

function layerOf(relPath: string): string | undefined {
  const posix = relPath.split(sep).join('/');
  return RULES.map((r) => r.layer).sort((a, b) => b.length - a.length).find((l) => posix === l || posix.startsWith(`${l}/`));
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** The imports of one file (path, text) that its layer may not make. */
function violationsOf(f: string, text: string): string[] {
  const rel = relative(ROOT, f);
  const rule = RULES.find((r) => r.layer === layerOf(rel))!;
  const out: string[] = [];
  for (const spec of importsOf(text)) {
    if (spec.startsWith('.')) {
      const target = layerOf(relative(ROOT, resolve(dirname(f), spec)));
      if (!target || !rule.mayImportLayers.includes(target)) out.push(`${rel.split(sep).join('/')} imports ${spec} (${target ?? 'outside the layers'})`);
    } else if (!rule.mayImportPackages(f, spec)) out.push(`${rel.split(sep).join('/')} imports package ${spec}`);
  }
  return out;
}

describe('architecture: import rules of DESIGN.md', () => {
  const files = sourceFiles(ROOT).filter((f) => layerOf(relative(ROOT, f)));
  it('finds the layered source files', async () => {
    expect(files.some((f) => relative(ROOT, f).startsWith('model'))).toBe(true);
    expect(files.some((f) => relative(ROOT, f).startsWith('analyzer'))).toBe(true);
  });
  it('every import stays within what its layer may use', async () => {
    expect(files.flatMap((f) => violationsOf(f, readFileSync(f, 'utf8')))).toEqual([]);
  });
  it('the checker itself catches a forbidden import', async () => {
    expect(importsOf(`import { SqliteStore } from '../store/sqlite.js';\nexport * from "./x.js";`)).toEqual(['../store/sqlite.js', './x.js']);
    expect(layerOf(join('analyzer', 'emit', 'k8s.ts'))).toBe('analyzer/emit');
    expect(layerOf(join('ui', 'cli', 'main.ts'))).toBeUndefined();
    // A pure pass that reached for the store, the web app reaching into the analyzer, a parser using the k8s client.
    expect(violationsOf(join(ROOT, 'analyzer', 'x.ts'), `import { SqliteStore } from '../store/sqlite.js';`)).toEqual(['analyzer/x.ts imports ../store/sqlite.js (store)']);
    expect(violationsOf(join(ROOT, 'ui', 'web', 'x.ts'), `import type { IdentityIndex } from '../../analyzer/identity.js';`)).toHaveLength(1);
    expect(violationsOf(join(ROOT, 'collector', 'hubble.ts'), `import * as k8s from '@kubernetes/client-node';`)).toEqual(['collector/hubble.ts imports package @kubernetes/client-node']);
    expect(violationsOf(join(ROOT, 'collector', 'k8s-api.ts'), `import * as k8s from '@kubernetes/client-node';`)).toEqual([]);
  });
});
