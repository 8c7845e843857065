import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpointId, type Graph } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestPaths } from '../ui/ingest.js';
import { analyzeGraph } from '../ui/pipeline.js';

const ROOT = resolve(import.meta.dirname, '..');
const HUBBLE = join(ROOT, '../shared/fixtures/cilium-hubble-otel-flows');
const ZEEK = join(ROOT, '../shared/fixtures/zeek-traces/traces');

let dir: string;
beforeAll(async () => { dir = mkdtempSync(join(tmpdir(), 'segmap-sources-')); });

const edgeText = (g: Graph) => g.edges.map((e) => `${endpointId(e.src)} -> ${endpointId(e.dst)} ${e.protocol}/${e.port} ${e.verdict}`);

describe.skipIf(!existsSync(HUBBLE))('Hubble: real Bookinfo flows give the documented graph (../shared missing)', () => {
  let graph: Graph;
  beforeAll(async () => {
    const store = SqliteStore.open(join(dir, 'hubble.db'));
    const reports = await ingestPaths(store, [HUBBLE]);
    expect(reports.filter((r) => r.format === 'hubble')).toHaveLength(9);
    graph = await analyzeGraph(store);
    await store.close();
  });

  it('bookinfo edges: the documented app graph, the load generator, DNS to coredns — by identity, without cluster dumps', async () => {
    const bookinfo = edgeText(graph).filter((e) => e.startsWith('bookinfo/'));
    expect(bookinfo).toEqual([
      'bookinfo/productpage-v1[Deployment] -> bookinfo/details-v1[Deployment] TCP/9080 allowed',
      'bookinfo/productpage-v1[Deployment] -> bookinfo/reviews-v1[Deployment] TCP/9080 allowed',
      'bookinfo/productpage-v1[Deployment] -> bookinfo/reviews-v2[Deployment] TCP/9080 allowed',
      'bookinfo/productpage-v1[Deployment] -> bookinfo/reviews-v3[Deployment] TCP/9080 allowed',
      'bookinfo/productpage-v1[Deployment] -> kube-system/coredns[Deployment] UDP/53 allowed',
      // The docs' load generator (`kubectl exec <ratings pod> -- curl productpage:9080`).
      'bookinfo/ratings-v1[Deployment] -> bookinfo/productpage-v1[Deployment] TCP/9080 allowed',
      'bookinfo/ratings-v1[Deployment] -> kube-system/coredns[Deployment] UDP/53 allowed',
      // reviews-v3 appears only by labels (no pod name) on these flows: its Cilium identity names it.
      'bookinfo/reviews-v2[Deployment] -> bookinfo/ratings-v1[Deployment] TCP/9080 allowed',
      'bookinfo/reviews-v3[Deployment] -> bookinfo/ratings-v1[Deployment] TCP/9080 allowed',
    ]);
    // reviews-v1 does not call ratings.
    expect(bookinfo.some((e) => e.startsWith('bookinfo/reviews-v1'))).toBe(false);
  });

  it('no reply becomes an edge: no server port is ephemeral, no edge runs back from a server to its client', async () => {
    const text = edgeText(graph);
    for (const e of graph.edges) expect(e.port, `${endpointId(e.src)} -> ${endpointId(e.dst)}`).toBeLessThan(32768);
    expect(text.some((e) => e.startsWith('kube-system/coredns'))).toBe(false);
    expect(text.some((e) => e.startsWith('bookinfo/details-v1'))).toBe(false);
    expect(text).toContain('kube-system/node-local-dns[DaemonSet] -> kube-system/kube-dns[Deployment] TCP/53 allowed');
    expect(text).toContain('kube-system/event-exporter-gke[Deployment] -> 35.246.31.234[External] TCP/443 allowed');
  });
});

describe('Hubble: identities, reserved peers, replies, drops, DNS names', () => {
  it('a Hubble-only store attributes by identity, names External peers from destination_names, keeps drops as denied', async () => {
    const flow = (f: Record<string, unknown>) => JSON.stringify({ flow: { time: '2025-01-01T00:00:00.5Z', node_name: 'n1', ...f } });
    const web = { namespace: 'shop', labels: ['k8s:app=web'], pod_name: 'web-7d9f8b6c5d-x2x4z', identity: 100 };
    const api = { namespace: 'shop', labels: ['k8s:app=api'], workloads: [{ name: 'api', kind: 'StatefulSet' }], identity: 200 };
    const lines = [
      flow({ verdict: 'FORWARDED', IP: { source: '10.0.0.5', destination: '10.0.0.9' }, l4: { TCP: { source_port: 41000, destination_port: 8080, flags: { SYN: true } } }, source: web, destination: api, is_reply: false }),
      flow({ verdict: 'FORWARDED', IP: { source: '10.0.0.9', destination: '10.0.0.5' }, l4: { TCP: { source_port: 8080, destination_port: 41000, flags: { SYN: true, ACK: true } } }, source: api, destination: web, is_reply: true }),
      flow({ verdict: 'FORWARDED', IP: { source: '10.0.0.5', destination: '93.184.216.34' }, l4: { TCP: { source_port: 41001, destination_port: 443 } }, source: web, destination: { identity: 2, labels: ['reserved:world'] }, destination_names: ['example.com'], is_reply: false }),
      flow({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', IP: { source: '10.0.0.7', destination: '10.0.0.9' }, l4: { TCP: { source_port: 41002, destination_port: 8080 } }, source: { identity: 6, labels: ['reserved:remote-node'] }, destination: api }),
      // Without the envelope (`hubble observe -o jsonpb` / older exporters).
      JSON.stringify({ time: '2025-01-01T00:00:01Z', verdict: 'FORWARDED', IP: { source: '10.0.0.9', destination: '10.96.0.1' }, l4: { TCP: { source_port: 41003, destination_port: 443 } }, source: api, destination: { identity: 7, labels: ['reserved:kube-apiserver'] }, is_reply: false }),
      '{"node_status":{"state_change":"NODE_CONNECTED"}}',
    ];
    const path = join(dir, 'hubble.jsonl');
    writeFileSync(path, lines.join('\n') + '\n');
    const store = SqliteStore.open(join(dir, 'hubble-unit.db'));
    const [r] = await ingestPaths(store, [path]);
    expect(r.format).toBe('hubble');
    expect(r.counts).toEqual({ read: 5, skipped: { 'not-a-flow': 1 }, notes: { 'dropped:POLICY_DENIED': 1 } });
    expect(edgeText(await analyzeGraph(store))).toEqual([
      '10.0.0.7[Node] -> shop/api[StatefulSet] TCP/8080 denied',
      'shop/api[StatefulSet] -> default/kubernetes[Service] TCP/443 allowed',
      'shop/web[Deployment] -> 93.184.216.34(example.com)[External] TCP/443 allowed',
      'shop/web[Deployment] -> shop/api[StatefulSet] TCP/8080 allowed',
    ]);
    await store.close();
  });
});

describe.skipIf(!existsSync(ZEEK))('ingest: captures detected by content, --format overrides (../shared missing)', () => {
  it('pcap and pcapng are detected by their magic; a DNS answer names the External peer', async () => {
    const store = SqliteStore.open(join(dir, 'pcap.db'));
    const reports = await ingestPaths(store, [join(ZEEK, 'pcapng-multi-interface.pcapng'), join(ZEEK, 'tunnels/vxlan.pcap')]);
    expect(reports.map((r) => [r.format, r.status])).toEqual([['pcapng', 'ingested'], ['pcap', 'ingested']]);
    const edges = edgeText(await analyzeGraph(store));
    expect(edges).toContain('10.0.0.1[External] -> 10.0.0.2[External] ICMP/0 allowed');
    expect((await store.dnsNames()).some((d) => d.name === 'google.com')).toBe(true);
    await store.close();
  });

  it('--format forces a reader', async () => {
    const store = SqliteStore.open(join(dir, 'forced.db'));
    const [r] = await ingestPaths(store, [join(ZEEK, 'dns53.pcap')], { format: 'pcap' });
    expect(r.format).toBe('pcap');
    await expect(ingestPaths(store, [join(ZEEK, 'dns53.pcap')], { format: 'nope' })).rejects.toThrow(/unknown format nope/);
    await store.close();
  });
});
