import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { suggestionFileName, suggestionYaml } from '../../../analyzer/emit/rbac.js';
import type { SaAuditResult } from '../../../analyzer/sa-audit.js';
import { endpointId, type Finding } from '../../../model/index.js';
import { analyzeServiceAccounts } from '../../pipeline.js';
import { openExisting } from '../db.js';
import { parseTime } from '../time.js';

interface SaAuditOpts { format: string; since?: string; until?: string; suggestRoles?: string }

export function registerSaAudit(program: Command): void {
  program
    .command('sa-audit')
    .description('service accounts: workloads, token mounting, last API use (audit logs), risky RBAC grants, findings')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'text']).default('text'))
    .option('--since <time>', 'only traffic and audit events at or after this time')
    .option('--until <time>', 'only traffic and audit events before this time')
    .option('--suggest-roles <dir>', 'write least-privilege Roles / ClusterRoles covering exactly the audited requests, one file per user')
    .action(async (opts: SaAuditOpts, cmd: Command) => {
      const store = await openExisting(cmd);
      let r: SaAuditResult;
      try {
        r = await analyzeServiceAccounts(store, {
          since: opts.since ? parseTime(opts.since, '--since') : undefined,
          until: opts.until ? parseTime(opts.until, '--until') : undefined,
        });
      } finally {
        await store.close();
      }
      if (opts.suggestRoles) writeSuggestions(opts.suggestRoles, r);
      // The contract: one entry per service account.
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(r.accounts, null, 2)}\n` : auditText(r));
    });
}

function writeSuggestions(dir: string, r: SaAuditResult): void {
  mkdirSync(dir, { recursive: true });
  const all = [...r.accounts.flatMap((a) => (a.suggestion ? [a.suggestion] : [])), ...r.users.flatMap((u) => (u.suggestion ? [u.suggestion] : []))];
  for (const s of all) writeFileSync(join(dir, suggestionFileName(s.user)), suggestionYaml(s, r.auditWindow));
  process.stderr.write(`segmap: ${all.length} suggested role file${all.length === 1 ? '' : 's'} written to ${dir}\n`);
}

const findingLine = (f: Finding) => `    ${f.severity.toUpperCase().padEnd(8)} ${f.id}${f.subject.kind === 'ServiceAccount' ? '' : ` ${endpointId(f.subject)}`}: ${f.message}`;

function auditText(r: SaAuditResult): string {
  const out: string[] = [];
  out.push(`audit logs: ${r.auditWindow ? `${r.auditWindow.since} .. ${r.auditWindow.until}` : 'none ingested (last API use unknown)'}`);
  for (const a of r.accounts) {
    out.push('', `${a.namespace}/${a.name}${a.exists ? '' : ' (no such ServiceAccount)'}: ${a.workloads.length} workloads, token ${a.tokenMounted ? 'mounted' : 'not mounted'}, last API use ${a.lastApiUse ?? '-'}`);
    for (const w of a.workloads) out.push(`    workload ${w.id}: token ${w.tokenMounted ? `mounted (${w.tokenMountedBy})` : 'not mounted'}${w.talksToApiServer ? ', calls the API server' : ''}`);
    for (const g of a.grants) out.push(`    grant ${g.binding} → ${g.role}${g.risks.length ? ` [${g.risks.join(', ')}]` : ''}${g.usedRequests !== undefined ? `, ${g.usedRequests} requests used it` : ''}`);
    for (const t of a.legacyTokens) out.push(`    legacy token ${t.secret}: last used ${t.lastUsed ?? 'never recorded'}`);
    if (a.suggestion) out.push(`    suggested: ${a.suggestion.roles.map((x) => `${x.kind}${x.namespace ? ` in ${x.namespace}` : ''} (${x.rules.length} rules)`).join(', ')}`);
    out.push(...a.findings.map(findingLine));
  }
  const risky = r.bindings.filter((b) => b.risks.length > 0);
  if (risky.length > 0) {
    out.push('', 'risky bindings (any subject):');
    for (const b of risky) out.push(`  ${b.binding} → ${b.role} to ${b.subjects.join(', ') || '(no subjects)'}: ${b.risks.map((x) => x.id).join(', ')}`);
  }
  if (r.users.length > 0) {
    out.push('', 'other audit-log users:');
    for (const u of r.users) out.push(`  ${u.user}: last API use ${u.lastApiUse}${u.suggestion ? `, suggested ${u.suggestion.roles.map((x) => `${x.kind}${x.namespace ? ` in ${x.namespace}` : ''}`).join(', ')}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
