import { describe, expect, it } from 'vitest';
import type { DnsEvidence, Edge, Endpoint, Finding, Graph, K8sObject } from '../model/index.js';
import { egressRiskFindings, isInternetAddress, looksLikeDatabase, type EgressRiskInput } from './egress-risk.js';
import { buildIdentity } from './identity.js';
import { PolicyEngine } from './policy/engine.js';
import { parsePolicies } from './policy/parse-policies.js';

const T = Date.parse('2026-11-01T10:00:00Z') / 1000;
const CREATED = '2026-11-01T09:00:00Z';

const pod = (ns: string, name: string, ip: string, opts: { labels?: Record<string, string>; ports?: number[]; image?: string } = {}): K8sObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: ns, uid: `${ns}-${name}`, labels: opts.labels ?? { app: name }, creationTimestamp: CREATED },
  spec: { containers: [{ name: 'c', image: opts.image ?? `registry.example/${name}:1`, ports: (opts.ports ?? []).map((p) => ({ containerPort: p })) }] },
  status: { phase: 'Running', podIP: ip },
});
const svc = (ns: string, name: string, ip: string, selector: Record<string, string> | undefined, ports: [number, number][]): K8sObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, creationTimestamp: CREATED },
  spec: { clusterIP: ip, clusterIPs: [ip], ...(selector ? { selector } : {}), ports: ports.map(([port, targetPort]) => ({ port, targetPort, protocol: 'TCP' })) },
});
const node = (name: string, ip: string): K8sObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, creationTimestamp: CREATED }, status: { addresses: [{ type: 'InternalIP', address: ip }] },
});
const np = (ns: string, name: string, spec: object): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
const ns = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

const P = (namespace: string, name: string): Endpoint => ({ kind: 'Pod', namespace, name });
const S = (namespace: string, name: string): Endpoint => ({ kind: 'Service', namespace, name });
const X = (ip: string, name?: string): Endpoint => ({ kind: 'External', ip, ...(name ? { name } : {}) });
const N = (name: string): Endpoint => ({ kind: 'Node', name });
const edge = (src: Endpoint, dst: Endpoint, protocol: string, port: number, sources: string[] = ['vpc.log']): Edge => ({
  src, dst, protocol, port, verdict: 'allowed', flows: 3, bytes: 300, firstSeen: '2026-11-01T10:00:00.000Z', lastSeen: '2026-11-01T10:05:00.000Z', sources,
});
const DNS_EDGE = (src: Endpoint, source: string) => edge(src, S('kube-system', 'kube-dns'), 'UDP', 53, [source]);

const INPUTS = [
  { path: 'vpc.log', format: 'aws-vpc' }, { path: 'cap.pcap', format: 'pcap' }, { path: 'conn.log', format: 'zeek' }, { path: 'hubble.json', format: 'hubble' },
];

function run(objects: K8sObject[], edges: Edge[], extra: Partial<EgressRiskInput> = {}, opts = {}): Finding[] {
  const identity = buildIdentity([{ takenAt: T, objects }]);
  const graph: Graph = { window: { since: null, until: null }, nodes: [], edges };
  const engine = new PolicyEngine(parsePolicies(objects.filter((o) => o.kind === 'NetworkPolicy')).policies);
  return egressRiskFindings({ identity, graph, engine, inputs: INPUTS, dns: [], ...extra }, opts);
}
const subjects = (fs: Finding[], id: string) => fs.filter((f) => f.id === id).map((f) => `${(f.subject as Endpoint).namespace}/${(f.subject as Endpoint).name}`).sort();
const one = (fs: Finding[], id: string, name: string) => {
  const got = fs.filter((f) => f.id === id && (f.subject as Endpoint).name === name);
  expect(got).toHaveLength(1);
  return got[0];
};

describe('address classes', () => {
  it('internet means public: private, link-local, CGNAT, loopback and ULA are not; documentation ranges stand in for public', () => {
    for (const ip of ['8.8.8.8', '203.0.113.45', '198.51.100.20', '2606:4700::1111', '2001:db8::1']) expect(isInternetAddress(ip), ip).toBe(true);
    for (const ip of ['10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '127.0.0.1', 'fd00:ec2::254', 'fe80::1', '224.0.0.1', 'nonsense']) {
      expect(isInternetAddress(ip), ip).toBe(false);
    }
  });
  it('a database by image is an explicit list of engines, by their image name', () => {
    expect(looksLikeDatabase(pod('d', 'a', '1.1.1.1', { image: 'docker.io/bitnami/postgresql:16.2.0' }))).toBe('docker.io/bitnami/postgresql:16.2.0');
    expect(looksLikeDatabase(pod('d', 'a', '1.1.1.1', { image: 'mcr.microsoft.com/mssql/server:2022-latest' }))).toBeDefined();
    expect(looksLikeDatabase(pod('d', 'a', '1.1.1.1', { image: 'mongo@sha256:abc' }))).toBe('mongo@sha256:abc');
    for (const image of ['postgres-exporter:1', 'example/redis-commander:1', 'nginx:1.27', 'weaveworksdemos/catalogue-db-init:1']) {
      expect(looksLikeDatabase(pod('d', 'a', '1.1.1.1', { image })), image).toBeUndefined();
    }
  });
});

describe('METADATA_SERVICE_EGRESS', () => {
  it('fires on workloads that reached 169.254.169.254 or fd00:ec2::254, not on other link-local addresses or on nodes', () => {
    const fs = run([pod('shop', 'a', '10.0.1.1'), pod('shop', 'b', '10.0.1.2'), pod('shop', 'c', '10.0.1.3')], [
      edge(P('shop', 'a'), X('169.254.169.254'), 'TCP', 80, ['cap.pcap']),
      edge(P('shop', 'b'), X('fd00:ec2:0::254'), 'TCP', 80, ['cap.pcap']),
      edge(P('shop', 'c'), X('169.254.170.2'), 'TCP', 80, ['cap.pcap']),
      edge(N('node-1'), X('169.254.169.254'), 'TCP', 80, ['cap.pcap']),
    ]);
    expect(subjects(fs, 'METADATA_SERVICE_EGRESS')).toEqual(['shop/a', 'shop/b']);
    const a = one(fs, 'METADATA_SERVICE_EGRESS', 'a');
    expect(a.severity).toBe('high');
    expect(a.evidence).toMatchObject({ destinations: [{ peer: '169.254.169.254[External]', protocol: 'TCP', port: 80, flows: 3, sources: ['cap.pcap'] }] });
    // Not internet egress either.
    expect(subjects(fs, 'INTERNET_EGRESS')).toEqual([]);
  });
});

describe('API_SERVER_EGRESS and ADMIN_PORT_EGRESS', () => {
  const kubernetes: K8sObject[] = [
    svc('default', 'kubernetes', '172.20.0.1', undefined, [[443, 443]]),
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } }, endpoints: [{ addresses: ['10.0.16.5'] }] } as unknown as K8sObject,
    node('node-1', '10.0.16.20'),
  ];
  const objects = [...kubernetes, pod('ops', 'op', '10.0.1.1'), pod('ops', 'raw', '10.0.1.2'), pod('ops', 'scraper', '10.0.1.3'), pod('ops', 'git', '10.0.1.4'),
    pod('ops', 'gitea', '10.0.1.5', { ports: [22] }), pod('ops', 'web', '10.0.1.6')];
  const fs = run(objects, [
    edge(P('ops', 'op'), S('default', 'kubernetes'), 'TCP', 443, ['cap.pcap']),
    edge(P('ops', 'raw'), X('10.0.16.5'), 'TCP', 443),
    edge(P('ops', 'raw'), X('10.0.16.5'), 'TCP', 6443), // the API server's own port on its endpoint: API, not "admin"
    edge(P('ops', 'scraper'), N('node-1'), 'TCP', 10250),
    edge(P('ops', 'scraper'), X('10.0.99.9'), 'TCP', 2379),
    edge(P('ops', 'git'), X('140.82.112.3', 'github.com'), 'TCP', 22), // git over SSH to the internet: internet egress
    edge(P('ops', 'web'), P('ops', 'gitea'), 'TCP', 22),
    edge(P('ops', 'web'), S('default', 'other'), 'TCP', 443),
  ]);
  it('names the API server by its Service, its endpoints\' addresses; nothing else', () => {
    expect(subjects(fs, 'API_SERVER_EGRESS')).toEqual(['ops/op', 'ops/raw']);
    expect(one(fs, 'API_SERVER_EGRESS', 'raw').evidence).toMatchObject({ destinations: [{ peer: '10.0.16.5[External]', port: 443 }, { peer: '10.0.16.5[External]', port: 6443 }] });
  });
  it('admin ports: high towards nodes and outside hosts, medium towards an in-cluster app on such a port, never the internet', () => {
    expect(subjects(fs, 'ADMIN_PORT_EGRESS')).toEqual(['ops/scraper', 'ops/web']);
    const s = one(fs, 'ADMIN_PORT_EGRESS', 'scraper');
    expect(s.severity).toBe('high');
    expect(s.evidence).toMatchObject({ destinations: [{ peer: 'node-1[Node]', port: 10250, service: 'kubelet' }, { peer: '10.0.99.9[External]', port: 2379, service: 'etcd client' }] });
    expect(one(fs, 'ADMIN_PORT_EGRESS', 'web').severity).toBe('medium');
    expect(subjects(fs, 'INTERNET_EGRESS')).toEqual(['ops/git']);
  });
});

describe('CROSS_NAMESPACE_DATABASE_EGRESS and SENSITIVE_NAMESPACE_EGRESS', () => {
  const objects = [
    pod('shop', 'api', '10.0.1.1'), pod('shop', 'cache', '10.0.1.2', { ports: [6379], image: 'redis:7' }),
    pod('data', 'pg', '10.0.2.1', { ports: [5432], image: 'postgres:16' }), pod('data', 'docs', '10.0.2.2', { ports: [12345], image: 'mongo:7' }),
    pod('data', 'web', '10.0.2.3', { ports: [8080] }), svc('data', 'docs', '172.20.5.5', { app: 'docs' }, [[27000, 12345]]),
    pod('kube-system', 'coredns', '10.0.3.1'), pod('kube-system', 'metrics-server', '10.0.3.2'), pod('kube-system', 'agent', '10.0.3.3'),
  ];
  const fs = run(objects, [
    edge(P('shop', 'api'), P('data', 'pg'), 'TCP', 5432),
    edge(P('shop', 'api'), P('data', 'docs'), 'TCP', 12345),
    edge(P('shop', 'api'), S('data', 'docs'), 'TCP', 27000, ['cap.pcap']),
    edge(P('shop', 'api'), P('shop', 'cache'), 'TCP', 6379),
    edge(P('shop', 'api'), P('data', 'web'), 'TCP', 8080),
    edge(P('shop', 'api'), P('kube-system', 'coredns'), 'UDP', 53),
    edge(P('shop', 'api'), P('kube-system', 'coredns'), 'TCP', 53),
    edge(P('shop', 'cache'), P('kube-system', 'metrics-server'), 'TCP', 443),
    edge(P('kube-system', 'agent'), P('kube-system', 'metrics-server'), 'TCP', 443),
  ]);
  it('databases in another namespace, by port or by image (also behind their Service); not in the same namespace, not other apps', () => {
    expect(subjects(fs, 'CROSS_NAMESPACE_DATABASE_EGRESS')).toEqual(['shop/api']);
    expect(one(fs, 'CROSS_NAMESPACE_DATABASE_EGRESS', 'api').evidence).toMatchObject({
      databases: [
        { peer: 'data/pg[Pod]', port: 5432, why: 'PostgreSQL port' },
        { peer: 'data/docs[Pod]', port: 12345, why: 'image mongo:7' },
        { peer: 'data/docs[Service]', port: 27000, why: 'image mongo:7' },
      ],
    });
  });
  it('reaching into kube-system beyond DNS, from outside it', () => {
    expect(subjects(fs, 'SENSITIVE_NAMESPACE_EGRESS')).toEqual(['shop/cache']);
    expect(subjects(run(objects, [edge(P('shop', 'api'), P('data', 'web'), 'TCP', 8080)], {}, { sensitiveNamespaces: ['data'] }), 'SENSITIVE_NAMESPACE_EGRESS')).toEqual(['shop/api']);
  });
});

describe('INTERNET_EGRESS and HARDCODED_EXTERNAL_ADDRESS', () => {
  const objects = ['named', 'cap', 'vpc', 'zeekonly', 'zeeknamed', 'hub', 'private'].map((n, i) => pod('shop', n, `10.0.1.${i + 1}`));
  const stripe: DnsEvidence = { ip: '198.51.100.20', name: 'api.stripe.com', first: T, last: T + 300 };
  const edges = [
    edge(P('shop', 'named'), X('198.51.100.20', 'api.stripe.com'), 'TCP', 443, ['cap.pcap', 'vpc.log']),
    edge(P('shop', 'named'), X('198.51.100.20'), 'TCP', 443, ['vpc.log']), // outside the answer's TTL: still that name
    DNS_EDGE(P('shop', 'named'), 'cap.pcap'),
    // A capture that saw its DNS lookups, and an address no answer named: hard-coded.
    edge(P('shop', 'cap'), X('203.0.113.45'), 'TCP', 443, ['cap.pcap', 'vpc.log']),
    DNS_EDGE(P('shop', 'cap'), 'cap.pcap'),
    // Only VPC flow logs saw it: no DNS evidence, no accusation.
    edge(P('shop', 'vpc'), X('192.0.2.80'), 'TCP', 443, ['vpc.log']),
    DNS_EDGE(P('shop', 'vpc'), 'vpc.log'),
    // Zeek conn.log with DNS connections, but nothing in it named any destination of this workload: not judged.
    edge(P('shop', 'zeekonly'), X('192.0.2.81'), 'TCP', 443, ['conn.log']),
    DNS_EDGE(P('shop', 'zeekonly'), 'conn.log'),
    // Zeek that named another destination of the same workload: judged.
    edge(P('shop', 'zeeknamed'), X('198.51.100.20', 'api.stripe.com'), 'TCP', 443, ['conn.log']),
    edge(P('shop', 'zeeknamed'), X('192.0.2.82'), 'TCP', 443, ['conn.log']),
    DNS_EDGE(P('shop', 'zeeknamed'), 'conn.log'),
    // Hubble without DNS names for this workload: not judged.
    edge(P('shop', 'hub'), X('192.0.2.83'), 'TCP', 443, ['hubble.json']),
    DNS_EDGE(P('shop', 'hub'), 'hubble.json'),
    // Private outside addresses (a VPC database, a corporate network) are not the internet.
    edge(P('shop', 'private'), X('10.9.9.9'), 'TCP', 5432, ['cap.pcap']),
    DNS_EDGE(P('shop', 'private'), 'cap.pcap'),
  ];
  const fs = run(objects, edges, { dns: [stripe] });

  it('lists internet destinations per workload, by DNS name where any answer named the address', () => {
    expect(subjects(fs, 'INTERNET_EGRESS')).toEqual(['shop/cap', 'shop/hub', 'shop/named', 'shop/vpc', 'shop/zeeknamed', 'shop/zeekonly']);
    const named = one(fs, 'INTERNET_EGRESS', 'named');
    expect(named.severity).toBe('low');
    expect(named.evidence).toMatchObject({ destinations: [{ address: '198.51.100.20', names: ['api.stripe.com'], naming: 'dns', port: 443, flows: 6, sources: ['cap.pcap', 'vpc.log'] }] });
    expect(named.message).toContain('api.stripe.com (198.51.100.20) TCP 443');
    const vpc = one(fs, 'INTERNET_EGRESS', 'vpc');
    expect(vpc.evidence).toMatchObject({ destinations: [{ address: '192.0.2.80', names: [], naming: 'no-dns-evidence' }] });
    expect(vpc.message).toMatch(/by address only: no input that saw this traffic carries its DNS lookups/);
  });

  it('calls an address hard-coded only where an input saw the workload\'s DNS lookups with their answers', () => {
    expect(subjects(fs, 'HARDCODED_EXTERNAL_ADDRESS')).toEqual(['shop/cap', 'shop/zeeknamed']);
    expect(one(fs, 'HARDCODED_EXTERNAL_ADDRESS', 'cap')).toMatchObject({
      severity: 'medium', evidence: { addresses: [{ address: '203.0.113.45', naming: 'never-named', port: 443 }], dnsVisibleIn: ['cap.pcap'] },
    });
    // Without any DNS answer in the store, nothing can be judged.
    expect(subjects(run(objects, edges, { dns: [] }), 'HARDCODED_EXTERNAL_ADDRESS')).toEqual([]);
    // An answer at any time names the address.
    expect(subjects(run(objects, edges, { dns: [stripe, { ip: '203.0.113.45', name: 'hooks.example.com', first: T - 86400, last: T - 86000 }] }), 'HARDCODED_EXTERNAL_ADDRESS')).toEqual(['shop/zeeknamed']);
  });
});

describe('POD_IP_DIALLED', () => {
  const objects = [
    pod('shop', 'api', '10.0.1.1', { ports: [8080] }), svc('shop', 'api', '172.20.1.1', { app: 'api' }, [[80, 8080]]),
    pod('shop', 'solo', '10.0.1.2', { ports: [9000] }),
    ...['inv', 'web', 'web2', 'web3', 'web4'].map((n, i) => pod('shop', n, `10.0.2.${i + 1}`)),
    svc('kube-system', 'kube-dns', '172.20.0.10', { 'k8s-app': 'kube-dns' }, [[53, 53]]),
  ];
  const fs = run(objects, [
    // A capture at the client: it reached kube-dns by its Service address, and api by a pod address.
    edge(P('shop', 'inv'), P('shop', 'api'), 'TCP', 8080, ['cap.pcap', 'vpc.log']),
    DNS_EDGE(P('shop', 'inv'), 'cap.pcap'),
    edge(P('shop', 'inv'), P('shop', 'solo'), 'TCP', 9000, ['cap.pcap']), // no Service in front of it: nothing else to dial
    // VPC flow logs only ever see pod addresses (after DNAT): never evidence.
    edge(P('shop', 'web'), P('shop', 'api'), 'TCP', 8080, ['vpc.log']),
    DNS_EDGE(P('shop', 'web'), 'vpc.log'),
    // A node-wide capture shows the Service leg and the DNAT'd leg of the same calls: not a pod-IP dial.
    edge(P('shop', 'web2'), S('shop', 'api'), 'TCP', 80, ['cap.pcap']),
    edge(P('shop', 'web2'), P('shop', 'api'), 'TCP', 8080, ['cap.pcap']),
    // A capture that shows this client reaching no Service address at all: it may be post-DNAT; cannot tell.
    edge(P('shop', 'web3'), P('shop', 'api'), 'TCP', 8080, ['cap.pcap']),
    // Hubble's addresses are after its socket load-balancer: not evidence either.
    edge(P('shop', 'web4'), P('shop', 'api'), 'TCP', 8080, ['hubble.json']),
    DNS_EDGE(P('shop', 'web4'), 'hubble.json'),
  ]);
  it('fires only for a pod behind a Service, seen dialled by address in an input that shows the client using Service addresses', () => {
    expect(subjects(fs, 'POD_IP_DIALLED')).toEqual(['shop/inv']);
    expect(one(fs, 'POD_IP_DIALLED', 'inv')).toMatchObject({
      severity: 'medium', evidence: { dials: [{ peer: 'shop/api[Pod]', protocol: 'TCP', port: 8080, services: ['shop/api[Service]'], sources: ['cap.pcap'] }] },
    });
  });
});

describe('EGRESS_UNRESTRICTED and SENSITIVE_EGRESS_ALLOWED', () => {
  const objects = [
    ns('shop'), ns('data'), node('node-1', '10.0.16.20'), svc('default', 'kubernetes', '172.20.0.1', undefined, [[443, 443]]),
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } }, endpoints: [{ addresses: ['10.0.16.5'] }] } as unknown as K8sObject,
    ...['open', 'locked', 'busy', 'allowall', 'idle', 'wide', 'tolerant', 'private'].map((n, i) => pod('shop', n, `10.0.1.${i + 1}`)),
    pod('shop', 'api', '10.0.1.100', { ports: [8080] }),
    pod('data', 'pg', '10.0.2.1', { ports: [5432], image: 'postgres:16' }),
    np('shop', 'locked', { podSelector: { matchLabels: { app: 'locked' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 8080 }] }] }),
    np('shop', 'allowall', { podSelector: { matchLabels: { app: 'allowall' } }, policyTypes: ['Egress'], egress: [{}] }),
    np('shop', 'wide', { podSelector: { matchLabels: { app: 'wide' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }] }] }),
    np('shop', 'tolerant', { podSelector: { matchLabels: { app: 'tolerant' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }] }),
    np('shop', 'private', { podSelector: { matchLabels: { app: 'private' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }),
  ];
  const busy = Array.from({ length: 11 }, (_, i) => edge(P('shop', 'busy'), X(`198.51.100.${i + 1}`), 'TCP', 443));
  const fs = run(objects, [
    edge(P('shop', 'open'), P('shop', 'api'), 'TCP', 8080), edge(P('shop', 'open'), P('shop', 'api'), 'TCP', 8080, ['cap.pcap']),
    edge(P('shop', 'open'), X('198.51.100.20', 'api.stripe.com'), 'TCP', 443),
    edge(P('shop', 'locked'), P('shop', 'api'), 'TCP', 8080),
    ...busy,
    edge(P('shop', 'allowall'), P('shop', 'api'), 'TCP', 8080),
    edge(P('shop', 'wide'), X('198.51.100.20'), 'TCP', 443),
    edge(P('shop', 'tolerant'), P('shop', 'api'), 'TCP', 8080),
    edge(P('shop', 'private'), P('shop', 'api'), 'TCP', 8080),
  ]);

  it('unrestricted egress with a handful of destinations, listed; not with more, nor with none, nor when restricted', () => {
    expect(subjects(fs, 'EGRESS_UNRESTRICTED')).toEqual(['shop/allowall', 'shop/open']);
    expect(one(fs, 'EGRESS_UNRESTRICTED', 'open')).toMatchObject({
      severity: 'medium',
      evidence: { reason: 'no-egress-policy', destinations: [{ peer: '198.51.100.20(api.stripe.com)[External]', port: 443 }, { peer: 'shop/api[Pod]', port: 8080, flows: 6 }] },
    });
    expect(one(fs, 'EGRESS_UNRESTRICTED', 'allowall').evidence).toMatchObject({ reason: 'allow-all', policies: ['shop/allowall'] });
    expect(subjects(run(objects, busy, {}, { handful: 11 }), 'EGRESS_UNRESTRICTED')).toEqual(['shop/busy']);
  });

  it('restricted egress that still allows the metadata service, node admin ports or a database elsewhere, unused', () => {
    expect(subjects(fs, 'SENSITIVE_EGRESS_ALLOWED')).toEqual(['shop/private', 'shop/tolerant', 'shop/wide']);
    expect(one(fs, 'SENSITIVE_EGRESS_ALLOWED', 'wide').evidence).toMatchObject({ allowed: [{ target: 'metadata service', peer: '169.254.169.254', allowed: 'All Connections' }] });
    expect(one(fs, 'SENSITIVE_EGRESS_ALLOWED', 'tolerant').evidence).toMatchObject({ allowed: [{ target: 'database in another namespace', peer: 'data/pg[Pod]', allowed: 'TCP 5432' }] });
    expect(one(fs, 'SENSITIVE_EGRESS_ALLOWED', 'private').evidence).toMatchObject({
      allowed: [
        { target: 'API server', peer: '10.0.16.5', allowed: 'TCP 443,6443' },
        { target: 'node administration ports', peer: 'node-1 (10.0.16.20)', allowed: 'TCP 22,2379-2380,3389,6443,10250' },
      ],
    });
    // ipBlocks never match pods (np-guard's reading), so 10.0.0.0/8 does not open the database's pod.
    expect((one(fs, 'SENSITIVE_EGRESS_ALLOWED', 'private').evidence.allowed as unknown[])).toHaveLength(2);
    // The metadata service is the only sensitive path "the internet minus the private ranges" opens.
    expect((one(fs, 'SENSITIVE_EGRESS_ALLOWED', 'wide').evidence.allowed as unknown[])).toHaveLength(1);
  });

  it('findings come most severe first, then by id and subject', () => {
    const order = ['critical', 'high', 'medium', 'low', 'info'];
    expect(fs.map((f) => order.indexOf(f.severity))).toEqual([...fs.map((f) => order.indexOf(f.severity))].sort((a, b) => a - b));
  });
});
