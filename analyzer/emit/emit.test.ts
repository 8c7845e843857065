import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ciliumPolicy } from './cilium.js';
import { cronMaxGap, formatDuration } from './cron.js';
import { networkPolicy } from './networkpolicy.js';
import type { DnsIntent, Evidence, IntentSet, WorkloadIntent } from './types.js';
import { commentSafe, manifestNames } from './yaml.js';

const ev = (flows = 3): Evidence => ({ flows, firstSeen: '2026-11-01T10:00:00.000Z', lastSeen: '2026-11-01T11:00:00.000Z', sources: ['/logs/a.log.gz'] });
const DNS: DnsIntent = {
  servers: [{ id: 'kube-system/coredns[Deployment]', namespace: 'kube-system', selector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }], foundBy: 'service',
};
const SET: Pick<IntentSet, 'dns' | 'window'> = { dns: DNS, window: { since: '2026-11-01T10:00:00.000Z', until: '2026-11-01T12:00:00.000Z' } };

function intent(over: Partial<WorkloadIntent> = {}): WorkloadIntent {
  return {
    id: 'shop/web[Deployment]', namespace: 'shop', name: 'web', kind: 'Deployment', selector: { matchLabels: { app: 'web' } },
    ingress: [], egress: [], evidence: ev(10), ...over,
  };
}

/** Parse back: exactly one document, no errors, and the header made only of comment lines. */
function reparse(yaml: string, headerLines: number) {
  const docs = parseAllDocuments(yaml);
  expect(docs).toHaveLength(1);
  expect(docs[0].errors).toEqual([]);
  const lines = yaml.split('\n');
  expect(lines.slice(0, headerLines).every((l) => l.startsWith('#'))).toBe(true);
  expect(lines[headerLines].startsWith('#')).toBe(false);
  return docs[0].toJS();
}

describe('emitters: hostile names and labels', () => {
  const evil = 'a"b\'c: d # e\nkind: Secret\r\nmetadata: {x: 1}\u2028z';
  const w = intent({
    id: `shop/${evil}[Deployment]`,
    selector: { matchLabels: { 'app.kubernetes.io/name': evil, 'k#: "': '#not-a-comment' } },
    ingress: [{ peer: { kind: 'workload', id: `other/${evil}[Deployment]`, namespace: 'other', selector: { matchLabels: { app: evil } } }, ports: [{ protocol: 'TCP', port: 8080, name: 'http' }], evidence: { ...ev(), sources: [`/x/${evil}.log`] } }],
    egress: [{ peer: { kind: 'external', id: evil, cidrs: ['203.0.113.7/32'], fqdns: [] }, ports: [{ protocol: 'TCP', port: 443 }], evidence: ev() }],
  });

  for (const [name, emit] of [['NetworkPolicy', networkPolicy], ['CiliumNetworkPolicy', ciliumPolicy]] as const) {
    it(`${name}: YAML stays valid, values round-trip, comments cannot break out`, () => {
      const out = emit(w, 'web', SET);
      const header = out.yaml.split('\n').findIndex((l) => !l.startsWith('#'));
      expect(header).toBe(9); // title, window, evidence, sources, ingress + 1 rule, egress + 1 rule + DNS
      expect(reparse(out.yaml, header)).toEqual(out.object);
      expect(out.yaml).not.toMatch(/^kind: Secret/m);
      expect(JSON.stringify(out.object)).toContain(JSON.stringify(evil));
    });
  }

  it('escapes every line break and control character in comment text', () => {
    expect(commentSafe('a\nb\rc\u2028d\u0085e\tf')).toBe('a\\u000ab\\u000dc\\u2028d\\u0085e\\u0009f');
  });
});

describe('emitters: NetworkPolicy', () => {
  it('selects same-namespace peers by pod labels, others with their namespace name label; uses agreed port names', () => {
    const np = networkPolicy(intent({
      ingress: [
        { peer: { kind: 'workload', id: 'shop/api[Deployment]', namespace: 'shop', selector: { matchLabels: { app: 'api' } } }, ports: [{ protocol: 'TCP', port: 8080, name: 'http' }], evidence: ev() },
        { peer: { kind: 'workload', id: 'mon/prom[StatefulSet]', namespace: 'mon', selector: { matchLabels: { app: 'prom' } } }, ports: [{ protocol: 'TCP', port: 9090 }], evidence: ev() },
      ],
    }), 'web', SET).object as any;
    expect(np.spec.ingress[0]).toEqual({ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 'http' }] });
    expect(np.spec.ingress[1].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mon' } }, podSelector: { matchLabels: { app: 'prom' } } }]);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.egress).toHaveLength(1); // DNS only
  });

  it('leaves egress explicitly open for a DNS server, and writes ipBlocks with except', () => {
    const np = networkPolicy(intent({
      egressOpenReason: 'DNS server',
      ingress: [{ peer: { kind: 'external', id: 'internet', cidrs: ['0.0.0.0/0'], except: ['10.0.0.0/8'], fqdns: [] }, ports: [{ protocol: 'TCP', port: 443 }], evidence: ev() }],
    }), 'web', SET).object as any;
    expect(np.spec.egress).toEqual([{}]);
    expect(np.spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }]);
  });

  it('writes shared objects out again instead of YAML aliases', () => {
    const except = ['10.0.0.0/8'];
    const { yaml } = networkPolicy(intent({
      ingress: [{ peer: { kind: 'external', id: 'x', cidrs: ['1.0.0.0/8', '2.0.0.0/8'], except, fqdns: [] }, ports: [{ protocol: 'TCP', port: 443 }], evidence: ev() }],
    }), 'web', SET);
    expect(yaml).not.toMatch(/[&*]a\d/);
    expect(yaml.match(/- 10\.0\.0\.0\/8/g)).toHaveLength(2);
  });

  it('names files and policies by workload, with the kind only where two workloads share a name', () => {
    const names = manifestNames([intent(), intent({ id: 'shop/web[CronJob]', kind: 'CronJob' }), intent({ id: 'shop/api[Deployment]', name: 'api' })]);
    expect([...names.values()]).toEqual(['web-deployment', 'web-cronjob', 'api']);
  });
});

describe('emitters: CiliumNetworkPolicy', () => {
  const c = ciliumPolicy(intent({
    ingress: [{ peer: { kind: 'nodes', id: 'nodes', cidrs: ['10.0.1.1/32'] }, ports: [{ protocol: 'TCP', port: 8080 }], evidence: ev() }],
    egress: [
      { peer: { kind: 'apiserver', id: 'kube-apiserver', cidrs: ['10.0.0.1/32'] }, ports: [{ protocol: 'TCP', port: 443 }], evidence: ev() },
      { peer: { kind: 'external', id: 'api.stripe.com', cidrs: ['198.51.100.4/32'], fqdns: ['*.s3.amazonaws.com', 'api.stripe.com'] }, ports: [{ protocol: 'TCP', port: 443 }], evidence: ev() },
      { peer: { kind: 'external', id: '192.0.2.0/24', cidrs: ['192.0.2.0/24'], fqdns: [] }, ports: [{ protocol: 'UDP', port: 123 }], evidence: ev() },
      { peer: { kind: 'workload', id: 'db/pg[StatefulSet]', namespace: 'db', selector: { matchLabels: { app: 'pg' } } }, ports: [{ protocol: 'TCP', port: 5432 }], evidence: ev() },
    ],
  }), 'web', SET).object as any;

  it('follows DNS names with toFQDNs, the API server and nodes as entities, other addresses as toCIDR', () => {
    expect(c.spec.ingress).toEqual([{ fromEntities: ['host', 'remote-node'], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }]);
    expect(c.spec.egress[0].toEntities).toEqual(['kube-apiserver']);
    expect(c.spec.egress[1].toFQDNs).toEqual([{ matchPattern: '*.s3.amazonaws.com' }, { matchName: 'api.stripe.com' }]);
    expect(c.spec.egress[2].toCIDR).toEqual(['192.0.2.0/24']);
    expect(c.spec.egress[3].toEndpoints).toEqual([{ matchLabels: { app: 'pg', 'k8s:io.kubernetes.pod.namespace': 'db' } }]);
  });

  it('routes DNS through the DNS proxy, which toFQDNs needs', () => {
    const dns = c.spec.egress.at(-1);
    expect(dns.toEndpoints).toEqual([{ matchLabels: { 'k8s-app': 'kube-dns', 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }]);
    expect(dns.toPorts).toEqual([{ ports: [{ port: '53', protocol: 'TCP' }, { port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }]);
  });

  it('denies all ingress with an empty rule when none was observed', () => {
    expect((ciliumPolicy(intent(), 'web', SET).object as any).spec.ingress).toEqual([{}]);
  });
});

describe('cron: longest gap between runs', () => {
  const gap = (s: string) => {
    const g = cronMaxGap(s);
    return 'error' in g ? g.error : formatDuration(g.maxGapSeconds);
  };
  it('reads steps, ranges, lists, names and macros', () => {
    expect(gap('5 * * * *')).toBe('1h');
    expect(gap('*/15 * * * *')).toBe('15m');
    expect(gap('0 9,17 * * *')).toBe('16h');
    expect(gap('@daily')).toBe('1d');
    expect(gap('0 3 * * SUN')).toBe('7d');
    expect(gap('0 9 * * 1-5')).toBe('3d'); // Friday to Monday
    expect(gap('0 0 1 * *')).toBe('31d');
    expect(gap('0 0 1 JAN,JUL *')).toBe('184d');
    expect(gap('CRON_TZ=Europe/Paris 30 2 * * *')).toBe('1d');
    expect(gap('0 0 15 * 1')).toBe('7d'); // day of month OR day of week (AND would be months)
  });
  it('says when a schedule cannot be read or almost never runs', () => {
    expect(gap('61 * * * *')).toMatch(/bad minute/);
    expect(gap('* * *')).toMatch(/5 fields/);
    expect(gap('0 0 30 2 *')).toBe('never runs');
    expect(cronMaxGap('0 0 29 2 *')).toEqual({ maxGapSeconds: expect.any(Number) });
    expect((cronMaxGap('0 0 29 2 *') as { maxGapSeconds: number }).maxGapSeconds).toBeGreaterThan(3 * 365 * 86400);
  });
});
