import { describe, expect, it } from 'vitest';
import type { K8sObject } from '../../model/index.js';
import { connlistFromObjects } from './connlist.js';

/** The bench's shape (2,000 pods / 300 namespaces / 1,000 policies, all pods distinct workloads). Time is measured by `npm run bench`, never asserted here. */
function syntheticEstate(): K8sObject[] {
  const objs: K8sObject[] = [];
  const NS = 300;
  for (let n = 0; n < NS; n++) objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}`, labels: { team: `t${n % 20}`, env: n % 2 ? 'prod' : 'dev' } } });
  for (let p = 0; p < 2000; p++) {
    objs.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod${p}`, namespace: `ns${p % NS}`, labels: { app: `app${p % 50}`, tier: `tier${p % 5}` } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }] } });
  }
  for (let i = 0; i < 1000; i++) {
    objs.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `np${i}`, namespace: `ns${i % NS}` }, spec: {
      podSelector: { matchLabels: { app: `app${i % 50}` } }, policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${i % 20}` } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['tier1', 'tier2'] }] } },
        { ipBlock: { cidr: `10.${i % 256}.0.0/16`, except: [`10.${i % 256}.1.0/24`] } }], ports: [{ port: 'http' }, { port: 9000, endPort: 9100 }] }],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 53, protocol: 'UDP' }] }, { to: [{ ipBlock: { cidr: `172.${i % 32}.0.0/16` } }] }],
    } });
  }
  for (let i = 0; i < 5; i++) {
    objs.push({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: `anp${i}` }, spec: {
      priority: i, subject: { namespaces: { matchLabels: { team: `t${i}` } } },
      ingress: [{ name: 'r', action: i % 2 ? 'Pass' : 'Deny', from: [{ namespaces: { matchLabels: { env: 'dev' } } }], ports: [{ portNumber: { port: 22, protocol: 'TCP' } }] }],
    } });
  }
  return objs;
}

describe('connlist at scale', () => {
  it('evaluates 2,000 pods / 300 namespaces / 1,000 policies without errors', () => {
    const { lines, errors } = connlistFromObjects(syntheticEstate());
    expect(errors).toEqual([]);
    expect(lines.length).toBeGreaterThan(2000);
  }, 60_000);
});
