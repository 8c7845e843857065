import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { istioAuthorizationPolicy, istioPeerAuthentication, istioWorkloadPeerAuthentication, namespaceEndMode } from './istio.js';
import { linkerdPolicies } from './linkerd.js';
import { meshPlan, plaintextPorts, type MeshOptions } from './mesh.js';
import type { Evidence, RuleIntent, WorkloadIntent } from './types.js';

const ev: Evidence = { flows: 3, firstSeen: '2026-11-01T10:00:00.000Z', lastSeen: '2026-11-01T11:00:00.000Z', sources: [] };
const tcp = (port: number) => ({ protocol: 'TCP' as const, port });
const rule = (peer: RuleIntent['peer'], ...ports: RuleIntent['ports']): RuleIntent => ({ peer, ports, evidence: ev });
const OPTS: MeshOptions = { accounts: new Map([['shop/web[Deployment]', 'web-sa']]) };

/** A server with every kind of client: a meshed workload, a load balancer, nodes, the API server, the internet, and what no rule can name. */
const api: WorkloadIntent = {
  id: 'shop/api[Deployment]', namespace: 'shop', name: 'api', kind: 'Deployment', selector: { matchLabels: { app: 'api' } }, evidence: ev, egress: [],
  ingress: [
    rule({ kind: 'workload', id: 'shop/web[Deployment]', namespace: 'shop', selector: { matchLabels: { app: 'web' } } }, tcp(8080)),
    rule({ kind: 'external', id: '10.0.0.50/32, 10.0.100.50/32', cidrs: ['10.0.100.50/32', '10.0.0.50/32'], fqdns: [] }, tcp(8080)),
    rule({ kind: 'nodes', id: 'nodes', cidrs: ['10.0.26.37/32', '10.0.27.12/32'] }, tcp(9090)),
    rule({ kind: 'apiserver', id: 'kube-apiserver', cidrs: ['172.20.0.1/32'] }, tcp(8443)),
    rule({ kind: 'external', id: 'the internet', cidrs: ['0.0.0.0/0', '::/0'], except: ['10.0.0.0/8', 'fc00::/7'], fqdns: [] }, tcp(443)),
    rule({ kind: 'external', id: '192.0.2.9/32', cidrs: ['192.0.2.9/32'], fqdns: [] }, { protocol: 'UDP', port: 5353 }),
    rule({ kind: 'nodes', id: 'nodes (host network: kube-system/agent[DaemonSet])', cidrs: [] }, tcp(7000)),
    rule({ kind: 'cluster', id: 'any pod in any namespace' }, tcp(53)),
  ],
};

const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS();
});

describe('mesh plan: clients without a mesh identity', () => {
  it('admits outside, node and API-server clients by address on their ports; reports what no address or identity names', () => {
    const plan = meshPlan(api, OPTS);
    expect(plan.ports.map((p) => [p.port.port, p.clients.map((c) => c.workload), p.addresses.map((a) => a.cidrs.join(' '))])).toEqual([
      [443, [], ['0.0.0.0/0 ::/0']],
      [8080, ['shop/web[Deployment]'], ['10.0.0.50/32 10.0.100.50/32']],
      [8443, [], ['172.20.0.1/32']],
      [9090, [], ['10.0.26.37/32 10.0.27.12/32']],
    ]);
    expect(plaintextPorts(plan)).toEqual([443, 8080, 8443, 9090]);
    expect(plan.byAddress).toHaveLength(4);
    expect(plan.byAddress).toContain('10.0.0.50/32, 10.0.100.50/32 on TCP 8080: outside the mesh (no workload identity)');
    expect(plan.byAddress).toContain('the internet on TCP 443: outside the mesh (no workload identity); admitted from 0.0.0.0/0, ::/0 except 10.0.0.0/8, fc00::/7');
    expect(plan.unnamed).toEqual([
      '192.0.2.9/32 on UDP 5353: not TCP, the mesh does not authorize it',
      'any pod in any namespace on TCP 53: "any pod" cannot be named by principal',
      'nodes (host network: kube-system/agent[DaemonSet]) on TCP 7000: node addresses carry no workload identity, and no node address is known to admit them by',
    ]);
  });
});

describe('Istio: the address exception', () => {
  it('AuthorizationPolicy: principals for mesh clients, ipBlocks (and notIpBlocks) for the rest, each on its ports only', () => {
    const e = istioAuthorizationPolicy(api, 'api', OPTS)!;
    expect(docs(e.yaml)).toEqual([e.object]);
    expect((e.object.spec as { rules: unknown[] }).rules).toEqual([
      { from: [{ source: { principals: ['cluster.local/ns/shop/sa/web-sa'] } }], to: [{ operation: { ports: ['8080'] } }] },
      { from: [{ source: { ipBlocks: ['0.0.0.0/0', '::/0'], notIpBlocks: ['10.0.0.0/8', 'fc00::/7'] } }], to: [{ operation: { ports: ['443'] } }] },
      { from: [{ source: { ipBlocks: ['10.0.0.50/32', '10.0.100.50/32'] } }], to: [{ operation: { ports: ['8080'] } }] },
      { from: [{ source: { ipBlocks: ['172.20.0.1/32'] } }], to: [{ operation: { ports: ['8443'] } }] },
      { from: [{ source: { ipBlocks: ['10.0.26.37/32', '10.0.27.12/32'] } }], to: [{ operation: { ports: ['9090'] } }] },
    ]);
    expect(e.yaml).toMatch(/^# EXCEPTION: non-mesh clients admitted by address/m);
    expect(e.yaml).toMatch(/^# NOT admitted/m);
  });

  it('PeerAuthentication: portLevelMtls PERMISSIVE on exactly those ports where the workload ends STRICT, inheriting its mode otherwise', () => {
    const inherit = istioWorkloadPeerAuthentication(api, 'api', undefined, 'STRICT', OPTS)!;
    expect(docs(inherit.yaml)).toEqual([inherit.object]);
    expect(inherit.object.metadata.name).toBe('segmap-api-mtls');
    expect(inherit.object.spec).toEqual({
      selector: { matchLabels: { app: 'api' } },
      portLevelMtls: { 443: { mode: 'PERMISSIVE' }, 8080: { mode: 'PERMISSIVE' }, 8443: { mode: 'PERMISSIVE' }, 9090: { mode: 'PERMISSIVE' } },
    });
    expect(inherit.yaml).toMatch(/EXCEPTION: non-mesh clients admitted by address: TCP 443, 8080, 8443, 9090 stay PERMISSIVE/);
    // PERMISSIVE in the end: nothing to except, nothing to write.
    expect(istioWorkloadPeerAuthentication(api, 'api', undefined, 'PERMISSIVE', OPTS)).toBeUndefined();
    // Its tier wants STRICT in a PERMISSIVE namespace: its own mode, with the same exception.
    const own = istioWorkloadPeerAuthentication(api, 'api', 'STRICT', 'PERMISSIVE', OPTS)!;
    expect(own.object.spec).toMatchObject({ mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } });
    expect(istioWorkloadPeerAuthentication(api, 'api', 'PERMISSIVE', 'STRICT', OPTS)!.object.spec).toEqual({ selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'PERMISSIVE' } });
    // Only mesh clients: no exception.
    const meshOnly = { ...api, ingress: api.ingress.slice(0, 1) };
    expect(istioWorkloadPeerAuthentication(meshOnly, 'api', undefined, 'STRICT', OPTS)).toBeUndefined();
    expect(namespaceEndMode(undefined)).toBe('STRICT');
    expect(namespaceEndMode({ tier: 2, source: 'default' })).toBe('PERMISSIVE');
  });

  it('the namespace\'s STRICT step names the exceptions', () => {
    const e = istioPeerAuthentication('shop', 'STRICT', undefined, [{ workload: 'shop/api[Deployment]', ports: [8080], file: 'api.mtls.istio.yaml' }]);
    expect(e.yaml).toMatch(/except on the ports below\.\n# EXCEPTION: non-mesh clients admitted by address[^\n]*\n#   shop\/api\[Deployment\]: TCP 8080 \(api\.mtls\.istio\.yaml\)/);
    expect(istioPeerAuthentication('shop', 'STRICT').yaml).not.toMatch(/EXCEPTION/);
  });
});

describe('Linkerd: the address exception', () => {
  it('a NetworkAuthentication per port with non-mesh clients (carve-outs of the same family), required by its own AuthorizationPolicy', () => {
    const out = linkerdPolicies(api, 'api', OPTS)!;
    expect(docs(out.yaml)).toEqual(out.objects);
    const names = out.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toContain('NetworkAuthentication/segmap-api-8080-by-address');
    expect(names).toContain('AuthorizationPolicy/segmap-api-8080-by-address');
    expect(names).toContain('MeshTLSAuthentication/segmap-api-8080');
    expect(names).toContain('Server/segmap-api-7000'); // observed, nobody admitted: the Server denies
    expect(names).not.toContain('AuthorizationPolicy/segmap-api-7000');
    const get = (kind: string, name: string) => out.objects.find((o) => o.kind === kind && o.metadata.name === name)!;
    expect(get('NetworkAuthentication', 'segmap-api-443-by-address').spec).toEqual({
      networks: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }, { cidr: '::/0', except: ['fc00::/7'] }],
    });
    expect(get('NetworkAuthentication', 'segmap-api-8080-by-address').spec).toEqual({ networks: [{ cidr: '10.0.0.50/32' }, { cidr: '10.0.100.50/32' }] });
    expect(get('AuthorizationPolicy', 'segmap-api-8080-by-address').spec).toEqual({
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'segmap-api-8080' },
      requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: 'segmap-api-8080-by-address' }],
    });
    expect(out.yaml).toMatch(/^# EXCEPTION: non-mesh clients admitted by address/m);
  });
});
