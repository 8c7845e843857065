import type { Command } from 'commander';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { formatIssue, type InputIssue, type K8sObject } from '../../../model/index.js';
import { k8sDump } from '../../../collector/k8s-dump.js';
import { newReadContext } from '../../../collector/source.js';
import { connlistFromObjects, formatConnlistJson, formatConnlistTxt, type ConnLine } from '../../../analyzer/policy/connlist.js';
import { InputError, UsageError } from '../errors.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const FORMATS = ['txt', 'json'] as const;
type Format = (typeof FORMATS)[number];

export interface ConnectivityResult {
  lines: ConnLine[];
  /** Located problems in the input (unparsable files, non-objects); those parts were skipped. */
  issues: InputIssue[];
  /** Invalid policies or duplicate objects: np-guard refuses such input. */
  errors: string[];
  warnings: string[];
  objects: number;
}

/** Manifest files under the given paths, recursively, in a stable order (np-guard reads .yaml/.yml/.json). */
export function manifestFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name), false);
    } else if (top || MANIFEST_EXTENSIONS.has(extname(p).toLowerCase())) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

/** Read manifests and compute np-guard's connlist, in-process (the conformance test calls this). */
export function analyzeConnectivity(paths: readonly string[]): ConnectivityResult {
  const issues: InputIssue[] = [];
  const objects: K8sObject[] = [];
  for (const file of manifestFiles(paths)) {
    const ctx = newReadContext(file, (i) => issues.push(i));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      ctx.issue({ reason: 'unreadable', detail: (e as Error).message });
      continue;
    }
    objects.push(...k8sDump.read(text, ctx));
  }
  const { lines, errors, warnings } = connlistFromObjects(objects);
  return { lines, issues, errors, warnings, objects: objects.length };
}

/** One line per file and reason (a JSON array of junk would otherwise print one line per element). */
function reportIssues(issues: readonly InputIssue[]): void {
  const groups = new Map<string, { first: InputIssue; count: number }>();
  for (const i of issues) {
    const key = `${i.file}\0${i.reason}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { first: i, count: 1 });
  }
  for (const { first, count } of groups.values()) {
    process.stderr.write(`${formatIssue(first)}${count > 1 ? ` (and ${count - 1} more)` : ''}: skipped\n`);
  }
}

export function registerConnectivity(program: Command): void {
  program
    .command('connectivity')
    .description('List allowed connectivity between workloads from manifests (NetworkPolicy, ANP, BANP; np-guard connlist format)')
    .argument('<paths...>', 'manifest files or directories (recursive; .yaml/.yml/.json)')
    .option('--format <format>', 'txt or json', 'txt')
    .action((paths: string[], opts: { format: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) throw new UsageError(`unknown --format ${opts.format} (use txt or json)`);
      for (const p of paths) {
        try {
          statSync(p);
        } catch {
          throw new InputError(`${p}: no such file or directory`);
        }
      }
      const result = analyzeConnectivity(paths);
      reportIssues(result.issues);
      for (const w of result.warnings) process.stderr.write(`segmap: warning: ${w}\n`);
      if (result.objects === 0) throw new InputError('no Kubernetes objects could be read from the given paths');
      if (result.errors.length > 0) throw new InputError(`invalid input:\n  ${result.errors.join('\n  ')}`);
      const format = opts.format as Format;
      process.stdout.write(format === 'json' ? formatConnlistJson(result.lines) : formatConnlistTxt(result.lines));
    });
}
