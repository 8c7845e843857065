import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeConnectivity } from '../ui/cli/commands/connectivity.js';
import { formatConnlistJson, formatConnlistTxt } from '../analyzer/policy/connlist.js';

/**
 * np-guard netpol-analyzer conformance: every plain connlist case of its corpus (read in place from ../shared, never
 * copied), compared the way upstream compares (exact text once newlines are removed; parsed JSON for json cases).
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = join(repoRoot, '../shared/fixtures/np-guard-netpol-analyzer');
const index = join(corpus, 'test_cases.json');

interface Case {
  kind: string; input_dir: string; format: string; expected_output: string | null; expected_output_upstream?: string | null;
  focus_workloads?: string[]; focus_workload_peers?: string[]; focus_direction?: string; focus_conn?: string;
  exposure_analysis?: boolean; multiple_networks?: boolean;
}

/** Cases we knowingly do not match yet: case name → one-line reason. */
const KNOWN_DIVERGENCES: Record<string, string> = {};

function plainConnlistCases(): Case[] {
  const raw = JSON.parse(readFileSync(index, 'utf8'));
  const cases: Case[] = Array.isArray(raw) ? raw : raw.cases;
  // Same filter as shared/tools/npguard-conformance.py, for both output formats.
  return cases.filter((c) => c.kind === 'connlist' && !c.focus_workloads?.length && !c.focus_workload_peers?.length
    && !c.focus_direction && !c.focus_conn && !c.exposure_analysis && !c.multiple_networks && c.expected_output);
}

function expectedPath(c: Case): string | undefined {
  for (const p of [c.expected_output_upstream, c.expected_output]) if (p && existsSync(join(corpus, p))) return join(corpus, p);
  return undefined;
}

const caseName = (c: Case) => `${c.input_dir.split('/').pop()} (${c.format})`;

if (!existsSync(index)) {
  describe.skip('np-guard conformance: SKIPPED — ../shared/fixtures/np-guard-netpol-analyzer not present', () => {
    it('needs the shared np-guard corpus', async () => {});
  });
} else {
  describe('np-guard netpol-analyzer connlist conformance', () => {
    for (const c of plainConnlistCases()) {
      const name = caseName(c);
      const want = expectedPath(c);
      const divergence = KNOWN_DIVERGENCES[name];
      const run = () => {
        expect(want, `expected output file for ${name}`).toBeDefined();
        const { lines } = analyzeConnectivity([join(corpus, c.input_dir)]);
        const expected = readFileSync(want!, 'utf8');
        if (c.format === 'json') expect(JSON.parse(formatConnlistJson(lines))).toEqual(JSON.parse(expected));
        else expect(formatConnlistTxt(lines).replace(/[\r\n]/g, '')).toBe(expected.replace(/[\r\n]/g, ''));
      };
      if (divergence) it.fails(`${name} — known divergence: ${divergence}`, run);
      else it(name, run);
    }
  });
}
