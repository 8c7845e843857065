import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowRecord } from '../model/index.js';
import { gcpVpc } from './gcp-vpc.js';
import { forEachLine, readHead } from './lines.js';
import { detectSource } from './registry.js';
import { newReadContext } from './source.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(repoRoot, '../shared/fixtures/otel-contrib-cloud-flowlogs/gcp-vpcflow');

async function parseFile(path: string) {
  const ctx = newReadContext(path);
  const records: FlowRecord[] = [];
  const h = gcpVpc.open(ctx, (r) => records.push(r));
  await forEachLine(path, (l, n) => h.line(l, n));
  h.end?.();
  return { records, ctx };
}

function parseLines(lines: string[]) {
  const ctx = newReadContext('test.json');
  const records: FlowRecord[] = [];
  const h = gcpVpc.open(ctx, (r) => records.push(r));
  lines.forEach((l, i) => h.line(l, i + 1));
  h.end?.();
  return { records, ctx };
}

const entry = (payload: object, extra: object = {}) => ({ insertId: 'x', jsonPayload: payload, logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows', ...extra });
const conn = { src_ip: '10.8.0.5', src_port: 41000, dest_ip: '10.8.1.7', dest_port: 8080, protocol: 6 };
const base = { connection: conn, bytes_sent: '100', packets_sent: '2', start_time: '2025-01-01T00:00:00.5Z', end_time: '2025-01-01T00:00:05Z', reporter: 'SRC' };

describe.skipIf(!existsSync(dir))('gcp fixtures (../shared missing)', () => {
  it('Compute Engine entry (pretty-printed, reporter DEST): the 5-tuple, packets, zero bytes, the reporting VM observes', async () => {
    const { records, ctx } = await parseFile(join(dir, 'vpc-flow-log-from-computeengine.json'));
    expect(records).toEqual([{
      srcIp: '203.0.113.4', dstIp: '192.0.2.4', srcPort: 55524, dstPort: 443, protocol: 6, packets: 16, bytes: 0,
      start: 1759008879, end: 1759008879, action: 'ACCEPT', direction: 'ingress',
      observer: 'gce:test-project-id/us-central1-a/proxy-crest-new-group-892l',
    }]);
    expect(ctx.counts).toEqual({ read: 1, skipped: {} });
  });

  it('vpc_flows_config entry with dest_vpc and src_location: SSH in, 90 packets, 11590 bytes', async () => {
    const { records } = await parseFile(join(dir, 'vpc-flow-log-w-dest-vpc.json'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      srcIp: '203.0.113.5', dstIp: '192.0.2.5', srcPort: 45004, dstPort: 22, protocol: 6, packets: 90, bytes: 11590,
      start: 1759007595, end: 1759007595, action: 'ACCEPT', observer: 'gce:test-project-id/asia-south1-c/service-integration-dev-idc-ubuntu25-4',
    });
  });

  it('NDJSON with Google services: the request (reporter SRC) and the response from the API (reporter DEST), one VM observing', async () => {
    const { records, ctx } = await parseFile(join(dir, 'vpc-flow-log-google-service.ndjson'));
    const vm = 'gce:elastic-logstash/us-central1-f/andrewvc-flowfixtures-vm-2qhb';
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ srcIp: '10.10.0.3', dstIp: '142.251.183.95', srcPort: 57046, dstPort: 443, protocol: 6, packets: 72, bytes: 38144, start: 1762550267, end: 1762550327, direction: 'egress', observer: vm });
    expect(records[1]).toMatchObject({ srcIp: '64.233.179.95', dstIp: '10.10.0.3', srcPort: 443, dstPort: 52900, packets: 32, bytes: 1968, start: 1762550380, end: 1762550380, direction: 'ingress', observer: vm });
    expect(ctx.counts).toEqual({ read: 2, skipped: {} });
  });

  it('detected by content, and not confused with the other formats', async () => {
    for (const f of ['vpc-flow-log-from-computeengine.json', 'vpc-flow-log-google-service.ndjson', 'vpc-flow-log-w-dest-vpc.json']) {
      const p = join(dir, f);
      expect(detectSource(await readHead(p), p)?.format, f).toBe('gcp-vpc');
    }
  });
});

describe('gcp-vpc reader', () => {
  it('reads a JSON array of entries spread over lines, and an array on one line', () => {
    const a = JSON.stringify([entry(base), entry({ ...base, reporter: 'DEST' })], null, 2).split('\n');
    expect(parseLines(a).records).toHaveLength(2);
    expect(parseLines([JSON.stringify([entry(base), entry(base)])]).records).toHaveLength(2);
  });

  it('GKE details become identities: the pod workload, the owner from the pod name, a Service', () => {
    const { records } = parseLines([JSON.stringify(entry({
      ...base,
      src_gke_details: { cluster: { cluster_name: 'c1', cluster_location: 'us-central1' }, pod: { pod_name: 'frontend-7d9f8b6c5d-x2x4z', pod_namespace: 'shop' } },
      dest_gke_details: { cluster: { cluster_name: 'c1' }, service: [{ service_name: 'cart', service_namespace: 'shop' }] },
    })), JSON.stringify(entry({
      ...base, dest_gke_details: { pod: { pod_name: 'db-0', pod_namespace: 'data', pod_workload: { workload_name: 'db', workload_type: 'STATEFUL_SET' } } },
    }))]);
    expect(records[0]).toMatchObject({ srcIdentity: 'shop/frontend[Deployment]', dstIdentity: 'shop/cart[Service]' });
    expect(records[1].srcIdentity).toBeUndefined();
    expect(records[1].dstIdentity).toBe('data/db[StatefulSet]');
  });

  it('both ends reporting the same flow get different observers (the store keeps one), disposition DROPPED is denied', () => {
    const { records } = parseLines([
      JSON.stringify(entry({ ...base, src_instance: { project_id: 'p', zone: 'z', vm_name: 'a' }, dest_instance: { project_id: 'p', zone: 'z', vm_name: 'b' } })),
      JSON.stringify(entry({ ...base, reporter: 'DEST', src_instance: { project_id: 'p', zone: 'z', vm_name: 'a' }, dest_instance: { project_id: 'p', zone: 'z', vm_name: 'b' } })),
      JSON.stringify(entry({ ...base, disposition: 'DROPPED' })),
    ]);
    expect(records.map((r) => r.observer).slice(0, 2)).toEqual(['gce:p/z/a', 'gce:p/z/b']);
    expect(records.map((r) => r.action)).toEqual(['ACCEPT', 'ACCEPT', 'REJECT']);
  });

  it('bad entries are located, counted issues', () => {
    const { records, ctx } = parseLines([
      JSON.stringify(entry(base)),
      '{"jsonPayload": {"connection": ',
      '{"textPayload": "hello"}',
      JSON.stringify(entry({ ...base, connection: { ...conn, src_ip: '10.0.0.300' } })),
      JSON.stringify(entry({ ...base, bytes_sent: 'many' })),
      JSON.stringify(entry({ ...base, start_time: 'yesterday', end_time: undefined })),
    ]);
    expect(records).toHaveLength(1);
    expect(ctx.issues.map((i) => [i.line, i.reason])).toEqual([[2, 'bad-json'], [3, 'not-a-flow'], [4, 'bad-address'], [5, 'bad-number'], [6, 'bad-time']]);
  });
});
