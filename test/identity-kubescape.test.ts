/**
 * The kubescape regolibrary RBAC / service-account rule cases (../shared): for every rule segmap implements, the
 * mapped finding ids fire on exactly the cases whose expected.json lists a failure, and on none of the passing ones.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIdentity } from '../analyzer/identity.js';
import { auditServiceAccounts } from '../analyzer/sa-audit.js';
import { k8sDump } from '../collector/k8s-dump.js';
import { newReadContext } from '../collector/source.js';
import type { K8sObject } from '../model/index.js';
import { hasShared, SHARED } from './helpers/scenario.js';

const DIR = 'kubescape-regolibrary-rbac/rules';

/** kubescape rule → the segmap finding ids that implement it. Rules not listed are not implemented (README). */
export const KUBESCAPE_RULES: Record<string, string[]> = {
  'automount-service-account': ['AUTOMOUNT_TOKEN_UNUSED'],
  'cluster-admin-role': ['RBAC_CLUSTER_ADMIN'],
  'rule-list-all-cluster-admins-v1': ['RBAC_CLUSTER_ADMIN', 'RBAC_ADMIN_GRANT'],
  'ensure-default-service-accounts-has-only-default-roles': ['DEFAULT_SA_BOUND'],
  'exec-into-container-v1': ['RBAC_POD_EXEC'],
  'rule-can-access-proxy-subresource': ['RBAC_NODE_PROXY'],
  'rule-can-bind-escalate': ['RBAC_ESCALATE_BIND'],
  'rule-can-create-pod': ['RBAC_CREATE_WORKLOADS'],
  'rule-can-create-service-account-token': ['RBAC_SA_TOKEN_CREATE'],
  'rule-can-impersonate-users-groups-v1': ['RBAC_IMPERSONATE'],
  'rule-can-list-get-secrets-v1': ['RBAC_SECRETS_READ'],
  'rule-can-modify-admission-webhooks': ['RBAC_ADMISSION_WEBHOOKS'],
  'rule-can-portforward-v1': ['RBAC_POD_PORTFORWARD'],
  'workload-with-administrative-roles': ['WORKLOAD_ADMIN_RBAC'],
  'workload-with-cluster-takeover-roles': ['WORKLOAD_ADMIN_RBAC', 'WORKLOAD_RISKY_RBAC'],
};

function caseObjects(dir: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const f of readdirSync(join(dir, 'input')).sort()) {
    const ctx = newReadContext(f);
    out.push(...k8sDump.read(readFileSync(join(dir, 'input', f), 'utf8'), ctx));
    expect(ctx.issues).toEqual([]);
  }
  return out;
}

/** The ids segmap raises on a case: findings, and the risks of every binding (users and groups included). */
function flaggedIds(objects: K8sObject[]): Set<string> {
  const identity = buildIdentity([{ takenAt: 0, objects }]);
  const r = auditServiceAccounts(identity, { window: { since: null, until: null }, nodes: [], edges: [] }, [], { now: 0 });
  return new Set([...r.findings.map((f) => f.id), ...r.bindings.flatMap((b) => b.risks.map((x) => x.id))]);
}

describe.skipIf(!hasShared(DIR))('kubescape regolibrary RBAC rules (../shared)', () => {
  for (const [rule, ids] of Object.entries(KUBESCAPE_RULES)) {
    const tests = join(SHARED, DIR, rule, 'test');
    const cases = existsSync(tests) ? readdirSync(tests).sort() : [];
    describe(rule, () => {
      it('has cases', () => expect(cases.length).toBeGreaterThan(0));
      for (const c of cases) {
        const expected = JSON.parse(readFileSync(join(tests, c, 'expected.json'), 'utf8')) as unknown[];
        const fails = expected.length > 0;
        it(`${c}: ${fails ? 'flagged' : 'not flagged'}`, () => {
          const got = flaggedIds(caseObjects(join(tests, c)));
          expect(ids.filter((id) => got.has(id)).length > 0, `${ids.join('|')} in ${[...got].join(', ') || 'nothing'}`).toBe(fails);
        });
      }
    });
  }
});
