/**
 * Parse throughput per flow format on generated inputs, one core, records straight into the aggregator (what ingest
 * does per file). Targets: Hubble JSON ≥ 150k records/s, pcap ≥ 300k packets/s. GCP (NDJSON LogEntry) and Azure
 * (VNet v4 blobs, pretty-printed as the storage account keeps them) are measured without a target.
 */
import { FlowAggregator } from '../collector/aggregate.js';
import { azureFlow } from '../collector/azure-flow.js';
import { gcpVpc } from '../collector/gcp-vpc.js';
import { hubble } from '../collector/hubble.js';
import { pcap } from '../collector/pcap.js';
import { newReadContext } from '../collector/source.js';
import { zeek } from '../collector/zeek.js';

function hubbleLines(n: number): string[] {
  const ep = (i: number, app: string) => ({
    ID: 100 + i, identity: 20000 + i, namespace: 'shop',
    labels: [`k8s:app=${app}`, 'k8s:io.cilium.k8s.policy.cluster=default', `k8s:io.cilium.k8s.policy.serviceaccount=${app}`, 'k8s:io.kubernetes.pod.namespace=shop'],
    pod_name: `${app}-7d9f8b6c5d-x${(i % 10)}x4z`,
  });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const reply = i % 2 === 1;
    const a = ep(i % 20, `svc${i % 20}`);
    const b = ep((i + 7) % 20, `svc${(i + 7) % 20}`);
    out.push(JSON.stringify({
      flow: {
        time: new Date(Date.UTC(2025, 0, 1) + i * 3).toISOString(), verdict: 'FORWARDED',
        ethernet: { source: '46:e5:ea:1f:95:ff', destination: 'd6:ec:b0:4a:ff:46' },
        IP: { source: `10.0.${i % 20}.${i % 200}`, destination: `10.0.${(i + 7) % 20}.9`, ipVersion: 'IPv4' },
        l4: { TCP: { source_port: reply ? 8080 : 40000 + (i % 20000), destination_port: reply ? 40000 + (i % 20000) : 8080, flags: { ACK: true, PSH: true } } },
        source: reply ? b : a, destination: reply ? a : b, Type: 'L3_L4', node_name: `node-${i % 4}`, is_reply: reply,
        event_type: { type: 4 }, traffic_direction: 'EGRESS', trace_observation_point: 'TO_STACK', Summary: 'TCP Flags: ACK, PSH',
      },
      node_name: `node-${i % 4}`, time: new Date(Date.UTC(2025, 0, 1) + i * 3).toISOString(),
    }));
  }
  return out;
}

/** A classic pcap of Ethernet/IPv4/TCP frames (74 bytes each), one SYN per connection then data both ways. */
function pcapFile(n: number): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  const rec = 16 + 74;
  const buf = Buffer.alloc(24 + n * rec);
  hdr.copy(buf, 0);
  for (let i = 0; i < n; i++) {
    const o = 24 + i * rec;
    const conn = i >> 4;
    const back = (i & 1) === 1;
    buf.writeUInt32LE(1735689600 + (i >> 12), o);
    buf.writeUInt32LE((i * 37) % 1000000, o + 4);
    buf.writeUInt32LE(74, o + 8);
    buf.writeUInt32LE(74, o + 12);
    const f = o + 16;
    buf.writeUInt16BE(0x0800, f + 12);
    const ip = f + 14;
    buf[ip] = 0x45;
    buf.writeUInt16BE(60, ip + 2);
    buf[ip + 8] = 64;
    buf[ip + 9] = 6;
    const client = [10, 1, (conn >> 8) & 255, conn & 255];
    const server = [10, 2, 0, conn % 50];
    Buffer.from(back ? server : client).copy(buf, ip + 12);
    Buffer.from(back ? client : server).copy(buf, ip + 16);
    const tcp = ip + 20;
    const cport = 32768 + (conn % 20000);
    buf.writeUInt16BE(back ? 443 : cport, tcp);
    buf.writeUInt16BE(back ? cport : 443, tcp + 2);
    buf[tcp + 12] = 0xa0;
    buf[tcp + 13] = (i & 15) === 0 ? 0x02 : (i & 15) === 1 ? 0x12 : 0x18;
  }
  return buf;
}

function zeekLines(n: number): string[] {
  const out = ['#separator \\x09', '#path\tconn',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents'];
  for (let i = 0; i < n; i++) {
    out.push([1735689600 + i / 100, `C${i}`, `10.1.${(i >> 8) & 255}.${i & 255}`, 40000 + (i % 20000), `10.2.0.${i % 50}`, 443, 'tcp', 'ssl', '0.5', 500, 4000, 'SF', 'T', 'T', 0, 'ShADadFf', 8, 900, 7, 4400, '-'].join('\t'));
  }
  return out;
}

/** GCP VPC Flow Logs LogEntry NDJSON, both ends of pod traffic reporting, with GKE details. */
function gcpLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const reporter = i % 2 === 0 ? 'SRC' : 'DEST';
    const t = new Date(Date.UTC(2025, 0, 1) + i * 50).toISOString();
    const vm = (k: number) => ({ project_id: 'p', region: 'us-central1', zone: 'us-central1-a', vm_name: `gke-node-${k % 8}` });
    out.push(JSON.stringify({
      insertId: `id${i}`, logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows', timestamp: t, receiveTimestamp: t,
      resource: { type: 'gce_subnetwork', labels: { project_id: 'p', subnetwork_id: '123', subnetwork_name: 'default', location: 'us-central1' } },
      jsonPayload: {
        connection: { src_ip: `10.8.${i % 20}.${(i >> 5) % 250}`, src_port: 40000 + (i % 20000), dest_ip: `10.8.${(i + 7) % 20}.9`, dest_port: 8080, protocol: 6 },
        bytes_sent: String(1000 + (i % 5000)), packets_sent: String(1 + (i % 30)), start_time: t, end_time: t, reporter, rtt_msec: '3',
        src_instance: vm(i), dest_instance: vm(i + 3),
        src_vpc: { project_id: 'p', vpc_name: 'default', subnetwork_name: 'default', subnetwork_region: 'us-central1' },
        dest_vpc: { project_id: 'p', vpc_name: 'default', subnetwork_name: 'default', subnetwork_region: 'us-central1' },
        src_gke_details: { cluster: { cluster_name: 'c1', cluster_location: 'us-central1' }, pod: { pod_name: `svc${i % 20}-7d9f8b6c5d-x2x4z`, pod_namespace: 'shop' } },
        dest_gke_details: { cluster: { cluster_name: 'c1', cluster_location: 'us-central1' }, pod: { pod_name: `svc${(i + 7) % 20}-7d9f8b6c5d-x2x4z`, pod_namespace: 'shop' } },
      },
    }));
  }
  return out;
}

/** Azure VNet flow log v4 blobs (`{records:[…]}`, pretty-printed), 100 tuples per record; returns the lines and the tuple count. */
function azureLines(n: number): { lines: string[]; tuples: number } {
  const records = [];
  let tuples = 0;
  for (let r = 0; tuples < n; r++) {
    const flowTuples: string[] = [];
    for (let k = 0; k < 100; k++, tuples++) {
      const i = tuples;
      const state = i % 10 === 9 ? 'D' : (['B', 'C', 'E'] as const)[i % 3];
      flowTuples.push(`${1735689600000 + i * 20},10.0.${i % 20}.${(i >> 5) % 250},10.1.0.${i % 50},${40000 + (i % 20000)},443,6,O,${state},NX,${state === 'B' || state === 'D' ? '0,0,0,0' : `${3 + (i % 9)},${700 + i % 900},${4 + (i % 7)},${4000 + i % 3000}`}`);
    }
    records.push({
      time: new Date(Date.UTC(2025, 0, 1) + r * 60_000).toISOString(), flowLogVersion: 4, flowLogGUID: 'g', macAddress: `00224871C2${String(r % 100).padStart(2, '0')}`,
      category: 'FlowLogFlowEvent', flowLogResourceID: '/x', targetResourceID: '/vnet', operationName: 'FlowLogFlowEvent',
      flowRecords: { flows: [{ aclID: `acl-${r % 4}`, flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples }] }] },
    });
  }
  return { lines: JSON.stringify({ records }, null, 4).split('\n'), tuples };
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
}

function timeLines(source: typeof hubble, lines: string[]): number {
  const ctx = newReadContext('bench');
  const agg = new FlowAggregator(() => {}, {});
  ctx.dns = (d) => agg.addDns(d);
  const t0 = performance.now();
  const h = source.open(ctx, (r) => agg.add(r));
  for (let i = 0; i < lines.length; i++) h.line(lines[i], i + 1);
  h.end?.();
  agg.drain();
  return performance.now() - t0;
}

export async function benchSources(): Promise<{ label: string; value: string }[]> {
  const out: { label: string; value: string }[] = [];
  const hl = hubbleLines(200_000);
  timeLines(hubble, hl.slice(0, 20_000));
  out.push({ label: 'Hubble JSON parse+aggregate (records)', value: rate(hl.length, timeLines(hubble, hl)) });
  const zl = zeekLines(300_000);
  timeLines(zeek, zl.slice(0, 20_000));
  out.push({ label: 'Zeek conn.log TSV parse+aggregate (connections)', value: rate(zl.length - 3, timeLines(zeek, zl)) });
  const gl = gcpLines(100_000);
  timeLines(gcpVpc, gl.slice(0, 10_000));
  out.push({ label: 'GCP VPC NDJSON parse+aggregate (records)', value: rate(gl.length, timeLines(gcpVpc, gl)) });
  const az = azureLines(300_000);
  timeLines(azureFlow, az.lines.slice(0, 20_000));
  out.push({ label: 'Azure VNet v4 parse+aggregate (tuples)', value: rate(az.tuples, timeLines(azureFlow, az.lines)) });
  const n = 1_000_000;
  const file = pcapFile(n);
  const run = () => {
    const ctx = newReadContext('bench.pcap');
    const agg = new FlowAggregator(() => {}, {});
    const h = pcap.openBinary!(ctx, (r) => agg.add(r));
    const t0 = performance.now();
    for (let o = 0; o < file.length; o += 1 << 20) h.chunk(file.subarray(o, Math.min(file.length, o + (1 << 20))));
    h.end();
    agg.drain();
    return performance.now() - t0;
  };
  run();
  out.push({ label: 'pcap decode+aggregate (packets)', value: rate(n, run()) });
  return out;
}

// Run alone (`node dist/bench/sources.js`): print the rows; `npm run bench` prints them in its own table.
if (import.meta.url === `file://${process.argv[1]}`) for (const r of await benchSources()) process.stdout.write(`${r.label.padEnd(50)} ${r.value}\n`);
